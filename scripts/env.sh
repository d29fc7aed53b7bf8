# Shared by ./warden and ./test: find a JDK >= 21 and install what is missing.
# Sourced, not run.

warden_find_java() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64)
  for d in /usr/lib/jvm/*; do candidates+=("$d"); done
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/javac" ] || continue
    local v
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${v%%.*}" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$home"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "error: no JDK 21 or newer found (looked in \$JAVA_HOME and /usr/lib/jvm)." >&2
  echo "  -> install one, e.g. apt-get install openjdk-21-jdk, or set JAVA_HOME" >&2
  return 1
}

# Whether a command is on PATH or in one of the system directories a normal user's PATH leaves out.
warden_have() {
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

# Debian packages Warden needs at run time (and mvn to build).
warden_install_packages() {
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  [ -d /usr/share/postgresql/15/extension ] && ls /usr/share/postgresql/15/extension/pg_stat_statements.control >/dev/null 2>&1 || missing+=(postgresql-contrib-15)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  # mvn only builds the jar: a copy that ships the built jar without its sources needs none.
  [ -d "${root:-.}/src/main" ] && { command -v mvn >/dev/null || missing+=(maven); }
  # Only root runs postgres as its own user (runuser) and gives nodes network namespaces (ip). Both live in
  # /usr/sbin or /sbin, which a normal user's PATH may lack, so they are looked for there too.
  if [ "$(id -u)" = 0 ]; then
    warden_have ip || missing+=(iproute2)
    warden_have runuser || missing+=(util-linux)
    # Node volumes: ext4 images on loop devices (mkfs.ext4, e2fsck, resize2fs; mount and losetup from util-linux),
    # encrypted through a small C helper that Warden builds with cc against the kernel's fscrypt header.
    warden_have mkfs.ext4 || missing+=(e2fsprogs)
    command -v cc >/dev/null || missing+=(gcc)
    [ -f /usr/include/linux/fscrypt.h ] || missing+=(linux-libc-dev)
    [ -f /usr/include/stdio.h ] || missing+=(libc6-dev)
  fi
  [ ${#missing[@]} -eq 0 ] && { warden_install_extension_packages; return 0; }
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || {
      echo "error: apt-get install ${missing[*]} failed" >&2; return 1; }
    # Debian starts a default cluster on 5432 when postgresql is installed; Warden runs its own.
    if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
      pg_ctlcluster 15 main stop || true
    fi
    warden_install_extension_packages
  else
    echo "error: missing packages: ${missing[*]}" >&2
    echo "  -> install them (sudo apt-get install ${missing[*]}) or run this command as root" >&2
    return 1
  fi
}

# The extension catalogue's packages (docs/extensions.md), and the untrusted languages so that their refusal is
# postgres's answer to admin and not "not installed". Optional: a node without them still runs; admin then installs
# only what is there. As root they are installed; otherwise a warning names them. WARDEN_WITH_POSTGIS=1 adds PostGIS
# (large, so not by default).
warden_install_extension_packages() {
  local wanted=(postgresql-15-pgextwlist postgresql-15-cron postgresql-15-partman postgresql-15-repack
    postgresql-15-hypopg postgresql-15-pgaudit postgresql-plpython3-15 postgresql-plperl-15)
  [ "${WARDEN_WITH_POSTGIS:-0}" = 1 ] && wanted+=(postgresql-15-postgis-3)
  local missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "installing extension packages: ${missing[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || \
      echo "warning: apt-get install ${missing[*]} failed: admin can install only the extensions that are there" >&2
  else
    echo "warning: extension packages not installed: ${missing[*]}" >&2
    echo "  -> admin can install only the extensions that are there (sudo apt-get install ${missing[*]})" >&2
  fi
  return 0
}

# Builds target/warden.jar when it is missing or older than any source file.
warden_build() {
  local root="$1"
  local jar="$root/target/warden.jar"
  # A copy with the built jar and no sources (a release, or the unprivileged-user test's) runs the jar as it is.
  [ -f "$jar" ] && [ ! -d "$root/src/main" ] && return 0
  if [ ! -f "$jar" ] || [ -n "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit)" ]; then
    echo "building warden..." >&2
    (cd "$root" && mvn -B -q -DskipTests package) >&2 || { echo "error: build failed (see above)" >&2; return 1; }
  fi
}
