#!/usr/bin/env python3
"""Helper of bench/router (Python 3 standard library only; it shells out to pgbench and psql).

Subcommands (bench/router calls them):
  ports-free HOST:PORT...                  exit 1 (naming them) when something listens on one of them
  haproxy-cfg DIR OUT.cfg RW RO SOCKET     write the anchor's Patroni-style HAProxy config, its servers being the
                                           Warden nodes of DIR (checks on their agents' REST API)
  haproxy-wait DIR SOCKET RW RO TIMEOUT_S  wait until HAProxy's rw listener has exactly the primary UP and the ro
                                           listener exactly the replicas, and both take a session
  matrix DIR WORK OUT.json HAPROXY_PID     pgbench -i, then the interleaved matrix (BENCH_* settings from the env)
  rss DIR OUT.json HAPROXY_PID             router-1's and HAProxy's RSS, idle and with N idle authenticated sessions
  report DETAIL_DIR OUT.txt                the tables, from matrix.json and rss.json
"""
import base64
import concurrent.futures
import glob
import hashlib
import hmac
import json
import math
import os
import re
import resource
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

TARGETS = ("direct", "haproxy", "warden")
TARGET_LABEL = {"direct": "direct to the primary", "haproxy": "HAProxy (Patroni-style)", "warden": "Warden router-1"}
SCRIPTS = (("select-only", ["-S"]), ("tpcb-like", []))


def log(msg):
    print("  [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Terminated(Exception):
    pass


def on_term(*_):
    raise Terminated()


# ---------------------------------------------------------------- the deployment


def deployment(d):
    with open(os.path.join(d, "deployment.json")) as f:
        return json.load(f)


def http_status(url, timeout=2.0, cafile=None):
    try:
        context = ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def members(d):
    """The nodes of deployment.json with their role as their agents' Patroni-compatible checks tell it (the same
    checks HAProxy uses): GET /primary is 200 only on the writable primary, GET /replica on a streaming replica."""
    rows = []
    for i, n in enumerate(deployment(d)["nodes"]):
        # Agents serve their API over HTTPS with a certificate from the deployment's CA.
        api = "https://%s:%d" % (n["host"], n["api_port"])
        role = "primary" if http_status(api + "/primary", cafile=ca_file(d)) == 200 else (
            "replica" if http_status(api + "/replica", cafile=ca_file(d)) == 200 else "other")
        rows.append({"name": n.get("name") or "node-%d" % (i + 1), "host": n["host"], "port": n["port"],
                     "api_url": api, "role": role, "leader": role == "primary"})
    return rows


def primary(d):
    rows = members(d)
    p = [m for m in rows if m["role"] == "primary"]
    if len(p) != 1:
        raise RuntimeError("no single primary: %s" % [(m["name"], m["role"]) for m in rows])
    return p[0]


def ca_file(d):
    """The deployment CA's certificate, which every node's certificate chains to (it names 127.0.0.1, both
    routers and the node's own address, so verify-full holds for all three targets)."""
    return os.path.join(d, "ca.crt")


def superuser_password(d):
    """The superuser's password, from the owner-only file ./warden up keeps it in (never deployment.json)."""
    with open(os.path.join(d, "superuser-password")) as f:
        return f.read().strip()


def superuser_tls(d):
    """The superuser's client certificate and key: postgres takes the superuser from the loopback by it alone."""
    tls = os.path.join(d, "tls", "node-1")
    return os.path.join(tls, "superuser.crt"), os.path.join(tls, "superuser.key")


def pg_env(d, sslmode):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PG"):
            del env[k]
    cert, key = superuser_tls(d)
    env.update({"PGUSER": "postgres", "PGDATABASE": "postgres", "PGPASSWORD": superuser_password(d),
                "PGSSLMODE": sslmode, "PGSSLROOTCERT": ca_file(d), "PGSSLCERT": cert, "PGSSLKEY": key,
                "PGCONNECT_TIMEOUT": "5", "LC_ALL": "C"})
    return env


def psql(env, host, port, sql, timeout=30):
    r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(port), "-c", sql],
                       env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("psql %s:%s %r: %s" % (host, port, sql, r.stderr.strip()[-300:]))
    return r.stdout.strip()


def router_of(d, index=0):
    return deployment(d)["routers"][index]


def router_metrics(r):
    url = "http://%s:%s/metrics" % (r["host"], r["api_port"])
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def routed_rw(metrics):
    # The Prometheus client writes labels sorted by name ({node="n1",port="read_write"}): match the label, not a prefix.
    return sum(v for k, v in metrics.items() if k.startswith("warden_router_routed_total{") and 'port="read_write"' in k)


def java_pid(pid):
    """The router's JVM: the pid itself, or (if setsid forked) its child."""
    pid = int(pid)
    try:
        if open("/proc/%d/comm" % pid).read().strip() == "java":
            return pid
        for task in os.listdir("/proc/%d/task" % pid):
            for c in open("/proc/%d/task/%s/children" % (pid, task)).read().split():
                if open("/proc/%s/comm" % c).read().strip() == "java":
                    return int(c)
    except OSError:
        pass
    return pid


def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % int(pid)):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    try:
        f = open("/proc/%d/stat" % int(pid)).read()
        fields = f[f.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- ports, HAProxy


def ports_free(addrs):
    busy = []
    for a in addrs:
        host, _, port = a.rpartition(":")
        s = socket.socket()
        s.settimeout(0.5)
        try:
            if s.connect_ex((host, int(port))) == 0:
                busy.append(a)
        finally:
            s.close()
    if busy:
        print("in use: %s" % " ".join(busy), file=sys.stderr)
        return 1
    return 0


def haproxy_cfg(d, out, rw, ro, sock):
    nodes = deployment(d)["nodes"]
    servers = []
    for n in nodes:
        name = n.get("name") or "node-%d" % (len(servers) + 1)
        servers.append("  server %s %s:%d check port %d check-ssl verify required ca-file %s"
                       % (name, n["host"], n["port"], n["api_port"], ca_file(d)))
    servers = "\n".join(servers)
    # The anchor's haproxy.cfg (/work/shared/anchors/patroni-up.sh), setting for setting; only the servers differ
    # (Warden's nodes, checked on their agents' Patroni-compatible REST API), plus a read-only stats socket so the
    # bench can see the servers' states (it carries no traffic).
    text = """global
  maxconn 2000
  stats socket {sock} mode 600 level user
defaults
  mode tcp
  timeout connect 4s
  timeout client 30m
  timeout server 30m
  timeout check 2s
listen rw
  bind 127.0.0.1:{rw}
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
listen ro
  bind 127.0.0.1:{ro}
  balance leastconn
  option httpchk GET /replica
  http-check expect status 200
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
""".format(sock=sock, rw=rw, ro=ro, servers=servers)
    with open(out, "w") as f:
        f.write(text)
    return 0


def haproxy_stat(sock):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(sock)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(head, line.split(","))) for line in lines[1:] if line and not line.startswith("#")]
    up = {"rw": set(), "ro": set()}
    for r in rows:
        if r.get("pxname") in up and r.get("svname") not in ("FRONTEND", "BACKEND") and r.get("status", "").startswith("UP"):
            up[r["pxname"]].add(r["svname"])
    return up


def haproxy_wait(d, sock, rw, ro, timeout):
    env = pg_env(d, "disable")
    deadline = time.time() + float(timeout)
    last = None
    while time.time() < deadline:
        try:
            rows = members(d)
            want_rw = {m["name"] for m in rows if m["role"] == "primary" and m["leader"]}
            want_ro = {m["name"] for m in rows if m["role"] == "replica"}
            up = haproxy_stat(sock)
            last = "rw UP %s (want %s), ro UP %s (want %s)" % (sorted(up["rw"]), sorted(want_rw), sorted(up["ro"]), sorted(want_ro))
            if up["rw"] == want_rw and up["ro"] == want_ro and len(want_rw) == 1 and want_ro:
                a = psql(env, "127.0.0.1", rw, "select pg_is_in_recovery()")
                b = psql(env, "127.0.0.1", ro, "select pg_is_in_recovery()")
                if a == "f" and b == "t":
                    log("HAProxy: rw -> %s, ro -> %s" % (sorted(up["rw"]), sorted(up["ro"])))
                    return 0
                last += "; pg_is_in_recovery rw %s ro %s" % (a, b)
        except Exception as e:
            last = str(e)
        time.sleep(0.5)
    print("HAProxy did not settle in %s s: %s" % (timeout, last), file=sys.stderr)
    return 1


# ---------------------------------------------------------------- pgbench


def latencies(prefix):
    """Per-transaction latencies (us) from pgbench -l files PREFIX.<pid>[.<thread>]; failed/skipped counted aside."""
    lat, bad = [], 0
    for path in glob.glob(prefix + ".*"):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                try:
                    lat.append(int(parts[2]))
                except ValueError:
                    bad += 1  # "failed" or "skipped"
        os.unlink(path)
    return lat, bad


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = max(0, math.ceil(q * len(sorted_values)) - 1)
    return sorted_values[k]


def parse_pgbench(out):
    def num(pattern):
        m = re.search(pattern, out)
        return float(m.group(1)) if m else None
    return {"tps": num(r"tps = ([0-9.]+) \(without initial connection time\)"),
            "transactions": num(r"number of transactions actually processed: (\d+)"),
            "failed": num(r"number of failed transactions: (\d+)") or 0,
            "pgbench_latency_avg_ms": num(r"latency average = ([0-9.]+) ms"),
            "initial_connection_ms": num(r"initial connection time = ([0-9.]+) ms")}


current = {"proc": None}


def pgbench(env, args, out_path, timeout):
    with open(out_path, "w") as out:
        p = subprocess.Popen(["pgbench", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        current["proc"] = p
        try:
            text, _ = p.communicate(timeout=timeout)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            current["proc"] = None
        out.write(text)
    return p.returncode, text


def matrix(d, work, out, haproxy_pid):
    duration = int(os.environ.get("BENCH_DURATION", "20"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    clients = [int(c) for c in os.environ.get("BENCH_CLIENTS", "8 64").split()]
    mode = os.environ.get("BENCH_MODE", "simple")
    sslmode = os.environ.get("BENCH_SSLMODE", "verify-full")
    scale = os.environ.get("BENCH_SCALE", "10")
    threads = os.environ.get("BENCH_THREADS", "2")
    hp_rw = int(os.environ["BENCH_HAPROXY_RW"])
    raw = os.environ.get("BENCH_RAW_DIR", work)
    env = pg_env(d, sslmode)
    prim = primary(d)
    r1 = router_of(d, 0)
    rpid = java_pid(r1["pid"])
    targets = {"direct": (prim["host"], prim["port"]),
               "haproxy": ("127.0.0.1", hp_rw),
               "warden": (r1["host"], r1["read_write_port"])}
    proxy_pid = {"direct": None, "haproxy": int(haproxy_pid), "warden": rpid}
    result = {"duration_s": duration, "rounds": rounds, "clients": clients, "query_mode": mode, "sslmode": sslmode,
              "scale": int(scale), "threads": int(threads), "primary_before": prim["name"],
              "targets": {t: "%s:%s" % hp for t, hp in targets.items()}, "runs": [], "problems": []}

    # Every target must reach the same, writable node.
    for t, (h, p) in targets.items():
        got = psql(env, h, p, "select pg_is_in_recovery(), inet_server_addr(), inet_server_port()")
        log("%-8s %s:%s -> %s" % (t, h, p, got.replace("|", " ")))
        if not got.startswith("f|"):
            raise RuntimeError("%s (%s:%s) does not reach the primary: %s" % (t, h, p, got))
        result["targets"][t] += " (server %s)" % got.split("|", 1)[1].replace("|", ":")

    log("pgbench -i -s %s via the primary %s:%s" % (scale, *targets["direct"]))
    rc, text = pgbench(env, ["-i", "-q", "-s", scale, "-h", targets["direct"][0], "-p", str(targets["direct"][1])],
                       os.path.join(raw, "pgbench-init.txt"), 600)
    if rc != 0:
        raise RuntimeError("pgbench -i failed: %s" % text[-500:])
    psql(env, *targets["direct"], "vacuum analyze")
    warm_up(env, targets, clients, mode, threads, raw, result)

    cells = [(s, c) for s, _ in SCRIPTS for c in clients]
    total = rounds * len(cells) * len(TARGETS)
    n = 0
    for rnd in range(1, rounds + 1):
        for script, c in cells:
            sargs = dict(SCRIPTS)[script]
            # Odd rounds run HAProxy before Warden, even rounds Warden first: neither proxy always runs in the
            # other's wake (autovacuum, bloat and dirty pages left by the run before).
            order = TARGETS if rnd % 2 else ("direct", "warden", "haproxy")
            for t in order:
                n += 1
                h, p = targets[t]
                # The same starting point for every run: no checkpoint landing in one target's run only.
                psql(env, *targets["direct"], "checkpoint", timeout=120)
                prefix = os.path.join(work, "lat-r%d-%s-c%d-%s" % (rnd, script, c, t))
                args = [*sargs, "-M", mode, "-c", str(c), "-j", str(min(int(threads), c)), "-T", str(duration), "-h", h, "-p", str(p),
                        "-l", "--log-prefix", prefix]
                m0 = router_metrics(r1) if t == "warden" else None
                cpu0 = cpu_seconds(proxy_pid[t]) if proxy_pid[t] else None
                t0 = time.time()
                rc, text = pgbench(env, args, os.path.join(raw, "pgbench-r%d-%s-c%d-%s.txt" % (rnd, script, c, t)),
                                   duration + 120)
                wall = time.time() - t0
                cpu1 = cpu_seconds(proxy_pid[t]) if proxy_pid[t] else None
                run = {"round": rnd, "script": script, "clients": c, "target": t, "rc": rc, "wall_s": round(wall, 1)}
                run.update(parse_pgbench(text))
                lat, bad = latencies(prefix)
                lat.sort()
                run["logged"] = len(lat)
                run["logged_failed"] = bad
                run["avg_ms"] = (sum(lat) / len(lat) / 1000.0) if lat else None
                run["p99_ms"] = (percentile(lat, 0.99) / 1000.0) if lat else None
                run["p50_ms"] = (percentile(lat, 0.50) / 1000.0) if lat else None
                if cpu0 is not None and cpu1 is not None:
                    run["proxy_cpu_s"] = round(cpu1 - cpu0, 2)
                if m0 is not None:
                    run["router_sessions_routed"] = routed_rw(router_metrics(r1)) - routed_rw(m0)
                if rc != 0 or run["tps"] is None:
                    tail = " | ".join(text.strip().splitlines()[-4:])
                    run["error"] = tail
                    result["problems"].append("%s %s c=%d round %d: pgbench exit %s: %s" % (t, script, c, rnd, rc, tail))
                if run.get("failed"):
                    result["problems"].append("%s %s c=%d round %d: %d failed transactions" % (t, script, c, rnd, run["failed"]))
                result["runs"].append(run)
                log("%2d/%d round %d %-11s c=%-3d %-8s tps %s  avg %s ms  p99 %s ms%s" % (
                    n, total, rnd, script, c, t, _f(run["tps"], 0), _f(run["avg_ms"], 3), _f(run["p99_ms"], 3),
                    ("  proxy cpu %.1f s" % run["proxy_cpu_s"]) if "proxy_cpu_s" in run else ""))
                with open(out, "w") as f:
                    json.dump(result, f, indent=1)
    try:
        result["primary_after"] = primary(d)["name"]
    except Exception as e:
        result["primary_after"] = "?"
        result["problems"].append("after the matrix: %s" % e)
    if result["primary_after"] != result["primary_before"]:
        result["problems"].append("the primary changed during the matrix (%s -> %s): the figures are not comparable"
                                  % (result["primary_before"], result["primary_after"]))
    result["router_metrics_after"] = router_metrics(r1)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    return 1 if result["problems"] else 0


def warm_up(env, targets, clients, mode, threads, raw, result):
    """Traffic through each proxy before the matrix (BENCH_WARMUP seconds per proxy), kept out of the table.

    The router is a JVM: under load on this machine its JIT keeps compiling for minutes (the C2 thread competes
    with postgres for the CPUs), and a cold router's first runs cost more CPU per transaction. A proxy runs for
    days, so the table is about the warm state; the warm-up's own TPS is reported beside it. HAProxy gets the
    same traffic, so the database ages alike for both.
    """
    total = int(os.environ.get("BENCH_WARMUP", "120"))
    result["warmup"] = []
    if total <= 0:
        return
    each = max(1, total // len(SCRIPTS))
    c = max(clients)
    for script, sargs in SCRIPTS:
        for t in ("warden", "haproxy"):
            h, p = targets[t]
            args = [*sargs, "-M", mode, "-c", str(c), "-j", str(min(int(threads), c)), "-T", str(each), "-h", h, "-p", str(p)]
            rc, text = pgbench(env, args, os.path.join(raw, "pgbench-warmup-%s-%s.txt" % (script, t)), each + 120)
            tps = parse_pgbench(text)["tps"]
            result["warmup"].append({"script": script, "clients": c, "target": t, "seconds": each, "tps": tps})
            log("warm-up %-11s c=%-3d %-8s %d s  tps %s" % (script, c, t, each, _f(tps, 0)))
            if rc != 0 or tps is None:
                result["problems"].append("warm-up %s through %s: pgbench exit %s" % (script, t, rc))


def _f(x, digits):
    return "-" if x is None else ("{:,.%df}" % digits).format(x)


# ---------------------------------------------------------------- idle authenticated sessions (SCRAM-SHA-256)


class PgError(Exception):
    pass


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise PgError("server closed the connection")
        buf += chunk
    return buf


def _read_msg(s):
    head = _recv_exact(s, 5)
    typ, length = head[:1], struct.unpack("!I", head[1:])[0]
    return typ, _recv_exact(s, length - 4)


def _send(s, typ, body):
    s.sendall(typ + struct.pack("!I", len(body) + 4) + body)


def _error_text(body):
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1].decode()] = part[1:].decode(errors="replace")
    return "%s %s" % (fields.get("C", ""), fields.get("M", ""))


_salted_cache = {}


def pg_session(host, port, user, password, database="postgres", timeout=30, cafile=None):
    """An authenticated session left idle after ReadyForQuery; returns the socket. TLS when the server offers it
    (Warden's nodes take nothing else), verifying the server against cafile and its address when given, as libpq's
    verify-full does; plain TCP when it does not (an anchor without TLS)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(struct.pack("!II", 8, 80877103))  # SSLRequest
        answer = _recv_exact(s, 1)
        if answer == b"S":
            context = ssl.create_default_context(cafile=cafile) if cafile else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if not cafile:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            s = context.wrap_socket(s, server_hostname=host)
        elif answer != b"N":
            raise PgError("unexpected answer %r to SSLRequest" % answer)
        body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0" \
            + b"application_name\0bench-router-idle\0\0"
        s.sendall(struct.pack("!I", len(body) + 4) + body)
        nonce = client_first_bare = server_first = salted = None
        while True:
            typ, body = _read_msg(s)
            if typ == b"E":
                raise PgError(_error_text(body))
            if typ == b"Z":
                s.settimeout(None)
                return s
            if typ != b"R":
                continue  # ParameterStatus, BackendKeyData, NoticeResponse
            code = struct.unpack("!I", body[:4])[0]
            if code == 0:
                continue
            if code == 3:  # cleartext
                _send(s, b"p", password.encode() + b"\0")
            elif code == 5:  # md5
                inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
                _send(s, b"p", b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode() + b"\0")
            elif code == 10:  # SASL: mechanisms
                if b"SCRAM-SHA-256\0" not in body[4:]:
                    raise PgError("no SCRAM-SHA-256 offered: %r" % body[4:])
                nonce = base64.b64encode(os.urandom(18)).decode()
                client_first_bare = "n=,r=" + nonce
                first = ("n,," + client_first_bare).encode()
                _send(s, b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
            elif code == 11:  # SASLContinue: server-first-message
                server_first = body[4:].decode()
                attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                if not attrs["r"].startswith(nonce):
                    raise PgError("SCRAM: server nonce does not extend ours")
                key = (password, attrs["s"], int(attrs["i"]))
                salted = _salted_cache.get(key)
                if salted is None:
                    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
                    _salted_cache[key] = salted
                client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                stored_key = hashlib.sha256(client_key).digest()
                without_proof = "c=biws,r=" + attrs["r"]
                auth_message = ",".join((client_first_bare, server_first, without_proof)).encode()
                signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
                proof = bytes(a ^ b for a, b in zip(client_key, signature))
                _send(s, b"p", (without_proof + ",p=" + base64.b64encode(proof).decode()).encode())
            elif code == 12:  # SASLFinal: check the server's signature
                server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
                without_proof = "c=biws,r=" + dict(kv.split("=", 1) for kv in server_first.split(","))["r"]
                auth_message = ",".join((client_first_bare, server_first, without_proof)).encode()
                expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
                if body[4:].decode() != "v=" + expected:
                    raise PgError("SCRAM: wrong server signature")
            else:
                raise PgError("unsupported authentication request %d" % code)
    except BaseException:
        s.close()
        raise


def close_sessions(socks):
    for s in socks:
        try:
            _send(s, b"X", b"")
        except OSError:
            pass
        s.close()


def rss_settled(pids, seconds=3):
    """Largest VmRSS (KiB) per pid over a few samples a second apart."""
    best = {p: None for p in pids}
    for _ in range(seconds):
        time.sleep(1)
        for p in pids:
            v = rss_kib(p)
            if v is not None and (best[p] is None or v > best[p]):
                best[p] = v
    return best


def rss_by_name(pids, seconds):
    by_pid = rss_settled(list(pids.values()), seconds)
    return {name: by_pid[pid] for name, pid in pids.items()}


def rss(d, out, haproxy_pid):
    want = int(os.environ.get("BENCH_IDLE_SESSIONS", "1000"))
    hp_rw = int(os.environ["BENCH_HAPROXY_RW"])
    stage = os.environ.get("BENCH_RSS_STAGE", "")
    # The idle sessions are a user's, as admin (the superuser logs in from the loopback by certificate only).
    with open(os.path.join(d, "admin-password")) as f:
        admin = f.read().strip()
    env = pg_env(d, "disable")
    prim = primary(d)
    r1 = router_of(d, 0)
    pids = {"warden": java_pid(r1["pid"]), "haproxy": int(haproxy_pid)}
    result = json.load(open(out)) if os.path.exists(out) else {}
    if stage == "fresh":
        # before any load: both proxies as they started
        result["fresh"] = rss_by_name(pids, 2)
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want + 200, soft)), hard))
    q = psql(env, prim["host"], prim["port"],
             "select current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,"
             " (select count(*) from pg_stat_activity where backend_type = 'client backend')")
    maxc, reserved, used = (int(x) for x in q.split("|"))
    room = maxc - used - 10  # superusers may use the reserved slots too; leave a few for the bench's own checks
    n = min(want, room, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 100)
    result.update({"wanted": want, "sessions": n, "primary": prim["name"], "primary_max_connections": maxc,
                   "superuser_reserved_connections": reserved, "client_backends_before": used,
                   "pids": pids, "problems": result.get("problems", [])})
    if n < want:
        result["problems"].append("only %d idle sessions (the primary's max_connections is %d, %d in use)" % (n, maxc, used))
    log("RSS: %d idle authenticated sessions per proxy (primary max_connections %d, %d client backends in use)" % (n, maxc, used))
    result["after_matrix"] = rss_by_name(pids, 2)
    targets = {"warden": (r1["host"], r1["read_write_port"]), "haproxy": ("127.0.0.1", hp_rw)}
    for t in ("warden", "haproxy"):
        h, p = targets[t]
        socks, errors = [], []
        t0 = time.time()
        try:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                futs = [pool.submit(pg_session, h, p, "admin", admin, deployment(d)["cluster"], 30, ca_file(d))
                        for _ in range(n)]
                for fut in futs:
                    try:
                        socks.append(fut.result())
                    except Exception as e:
                        errors.append(str(e))
            opened = time.time() - t0
            backends = int(psql(env, prim["host"], prim["port"],
                                "select count(*) from pg_stat_activity where application_name = 'bench-router-idle'"))
            status = None
            if t == "warden":
                try:
                    with urllib.request.urlopen("http://%s:%s/status" % (r1["host"], r1["api_port"]), timeout=3) as resp:
                        status = json.loads(resp.read().decode())
                except (OSError, ValueError):
                    pass
            during = rss_settled([pids[t]], 3)[pids[t]]
            log("RSS: %-7s %d sessions open in %.1f s (%d on the primary, %d errors): VmRSS %.1f MiB"
                % (t, len(socks), opened, backends, len(errors), during / 1024.0))
        finally:
            close_sessions(socks)
        time.sleep(2)
        after = rss_settled([pids[t]], 3)[pids[t]]
        result[t] = {"opened": len(socks), "errors": len(errors), "first_errors": sorted(set(errors))[:5],
                     "open_seconds": round(opened, 2), "on_primary": backends, "rss_kib": during,
                     "rss_after_close_kib": after, "router_status": status}
        if errors:
            result["problems"].append("%s: %d of %d sessions failed: %s" % (t, len(errors), n, sorted(set(errors))[:3]))
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    return 1 if result["problems"] else 0


# ---------------------------------------------------------------- report


def report(detail, out_txt):
    m = json.load(open(os.path.join(detail, "matrix.json")))
    rss_path = os.path.join(detail, "rss.json")
    r = json.load(open(rss_path)) if os.path.exists(rss_path) else {}
    lines = []
    lines.append("targets: " + "; ".join("%s %s" % (TARGET_LABEL[t], m["targets"][t]) for t in TARGETS))
    lines.append("pgbench scale %d, -j %d -T %d -M %s, sslmode=%s, %d round(s)%s; avg and p99 from every"
                 " transaction's latency (pgbench -l)"
                 % (m["scale"], m["threads"], m["duration_s"], m["query_mode"], m["sslmode"], m["rounds"],
                    "" if m["rounds"] == 1 else " (each cell: the median over the rounds)"))
    lines.append("")
    head = ["target", "script", "clients", "TPS", "avg ms", "p99 ms", "TPS vs direct", "proxy CPU"]
    rows = []
    per_round = []
    for script, _ in SCRIPTS:
        for c in m["clients"]:
            cell = {}
            for t in TARGETS:
                runs = [x for x in m["runs"] if x["script"] == script and x["clients"] == c and x["target"] == t]
                def med(key):
                    v = [x[key] for x in runs if x.get(key) is not None]
                    return statistics.median(v) if v else None
                cell[t] = {k: med(k) for k in ("tps", "avg_ms", "p99_ms", "proxy_cpu_s")}
                cell[t]["all_tps"] = [x.get("tps") for x in runs]
            for t in TARGETS:
                x = cell[t]
                d = cell["direct"]["tps"]
                ratio = "-" if not x["tps"] or not d else "%.2fx" % (x["tps"] / d)
                cpu = "-" if x["proxy_cpu_s"] is None else "%.0f%% of a core" % (100.0 * x["proxy_cpu_s"] / m["duration_s"])
                rows.append([t, script, str(c), _f(x["tps"], 0), _f(x["avg_ms"], 3), _f(x["p99_ms"], 3), ratio, cpu])
                if m["rounds"] > 1:
                    per_round.append("%-8s %-11s c=%-3d TPS per round: %s" % (t, script, c, ", ".join(_f(v, 0) for v in x["all_tps"])))
    lines += _table(head, rows)
    if per_round:
        lines.append("")
        lines += per_round
        lines.append("")
        lines += paired(m)
    if m.get("warmup"):
        lines.append("")
        lines.append("warm-up before the matrix, not in the table: " + "; ".join(
            "%s c=%d %s %d s %s TPS" % (w["script"], w["clients"], w["target"], w["seconds"], _f(w["tps"], 0))
            for w in m["warmup"]))
    lines.append("")
    lines.append("primary before / after the matrix: %s / %s" % (m.get("primary_before"), m.get("primary_after")))
    if r:
        lines.append("")
        lines.append("Proxy memory (VmRSS of the process; %d idle authenticated sessions = SCRAM login, then nothing;"
                     " primary max_connections %s):" % (r.get("sessions", 0), r.get("primary_max_connections")))
        lines.append("")
        head = ["process", "fresh, 0 sessions", "after the matrix, 0 sessions", "%d idle sessions" % r.get("sessions", 0),
                "after closing them", "per idle session"]
        rows = []
        for t, name in (("warden", "Warden router-1 (JVM, -Xmx64m)"), ("haproxy", "HAProxy 2.6 (Patroni-style config)")):
            x = r.get(t, {})
            base = r.get("after_matrix", {}).get(t)
            per = "-"
            if x.get("rss_kib") and base and x.get("opened"):
                per = "%.1f KiB" % ((x["rss_kib"] - base) / float(x["opened"]))
            rows.append([name, _mib(r.get("fresh", {}).get(t)), _mib(base),
                         _mib(x.get("rss_kib")) + ("" if x.get("opened") == r.get("sessions") else " (%s opened)" % x.get("opened")),
                         _mib(x.get("rss_after_close_kib")), per])
        lines += _table(head, rows)
        for t in ("warden", "haproxy"):
            x = r.get(t, {})
            if x:
                lines.append("%s: %d sessions opened in %.1f s, %d seen on the primary, %d errors"
                             % (t, x.get("opened", 0), x.get("open_seconds", 0), x.get("on_primary", 0), x.get("errors", 0)))
    problems = m.get("problems", []) + r.get("problems", [])
    if problems:
        lines.append("")
        lines.append("problems:")
        lines += ["  - " + p for p in problems]
    text = "\n".join(lines) + "\n"
    with open(out_txt, "a") as f:
        f.write(text)
    print(text, end="")
    return 0


# Two-sided 95% quantiles of Student's t by degrees of freedom (1-30); beyond 30, 2.0 is close enough.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def ratio_interval(ratios):
    """Geometric mean of per-round ratios and its 95% confidence interval (t on the logs); None below 2 rounds.

    Ratios are averaged on a log scale so that 1.1 and 1/1.1 cancel out; the interval says how far this run's
    round-to-round noise lets the mean move, which a median alone hides."""
    if len(ratios) < 2:
        return None
    logs = [math.log(r) for r in ratios]
    mean = statistics.mean(logs)
    half = T975[min(len(logs) - 1, len(T975)) - 1] * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def paired(m):
    """Warden against HAProxy round by round: the two ran back to back, so drift between rounds cancels out."""
    lines = ["Warden / HAProxy, paired by round (the same round's two runs ran back to back):"]
    verdicts = []
    for script, _ in SCRIPTS:
        for c in m["clients"]:
            tps, p99, ahead = [], [], 0
            for rnd in sorted({x["round"] for x in m["runs"]}):
                pair = {x["target"]: x for x in m["runs"]
                        if x["script"] == script and x["clients"] == c and x["round"] == rnd}
                w, h = pair.get("warden", {}), pair.get("haproxy", {})
                if w.get("tps") and h.get("tps"):
                    tps.append(w["tps"] / h["tps"])
                    ahead += w["tps"] > h["tps"]
                if w.get("p99_ms") and h.get("p99_ms"):
                    p99.append(w["p99_ms"] / h["p99_ms"])
            if not tps:
                continue
            lines.append("  %-11s c=%-3d TPS ratio median %.3f (Warden ahead in %d of %d rounds), p99 ratio median %s"
                         % (script, c, statistics.median(tps), ahead, len(tps),
                            "%.3f" % statistics.median(p99) if p99 else "-"))
            t, q = ratio_interval(tps), ratio_interval(p99)
            if t and q:
                verdicts.append("  %-11s c=%-3d TPS %.3f (%.3f-%.3f) %s, p99 %.3f (%.3f-%.3f) %s" % (
                    script, c, *t, _goal(t, lambda x: x >= 1.0), *q, _goal(q, lambda x: x <= 1.0)))
    if verdicts:
        lines.append("")
        lines.append("Goal (Warden's TPS >= HAProxy's, p99 <= HAProxy's), on the geometric mean of the paired ratios,"
                     " with its 95% interval:")
        lines += verdicts
    return lines


def _goal(interval, met):
    mean, low, high = interval
    if met(mean):
        return "met, clearly" if met(low) and met(high) else "met, within this run's noise"
    return "NOT met, clearly" if not met(low) and not met(high) else "not met, within this run's noise"


def _mib(kib):
    return "-" if kib is None else "%.1f MiB" % (kib / 1024.0)


def _table(head, rows):
    w = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
           "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    for r in rows:
        out.append("| " + " | ".join(v.ljust(w[i]) for i, v in enumerate(r)) + " |")
    return out


def main(argv):
    signal.signal(signal.SIGTERM, on_term)
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "ports-free":
            return ports_free(args)
        if cmd == "haproxy-cfg":
            return haproxy_cfg(*args)
        if cmd == "haproxy-wait":
            return haproxy_wait(*args)
        if cmd == "matrix":
            return matrix(*args)
        if cmd == "rss":
            return rss(*args)
        if cmd == "report":
            return report(*args)
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        print("error: %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    finally:
        p = current["proc"]
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
    print("unknown subcommand %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
