#!/usr/bin/env python3
"""Helper of bench/failover (Python 3 standard library only; it shells out to psql and ./warden).

Subcommands (bench/failover calls them; each prints or writes JSON):
  ports-free PORT...                     exit 1 (naming the port) when something listens on 127.0.0.1:PORT
  anchor-wait DIR TIMEOUT_S              wait until the Patroni anchor has a running leader, 2 replicas, and
                                         HAProxy 25432 takes a write
  kill-test warden|anchor DIR OUT.json   create the probe table, probe writes, kill the primary's host,
                                         keep probing, count the outage and the acknowledged writes lost
  hog-watch OUT.json MINUTES HOGS PIDFILE [--warden DIR] [--anchor DIR]
                                         start HOGS busy loops for MINUTES, poll both systems' leader and
                                         history, report leader changes (false failovers)
  report RESULTS_DIR OUT.txt             the summary table from the JSON files in RESULTS_DIR
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
WARDEN = os.path.join(os.path.dirname(HERE), "warden")
ANCHOR_DSN = "host=127.0.0.1 port=25432 user=postgres password=su-pass dbname=postgres connect_timeout=1"
ANCHOR_APIS = ["http://127.0.0.1:%d" % p for p in (18008, 18009, 18010)]
PSQL_ENV = {"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "1", "LC_ALL": "C"}


def log(msg):
    print("  [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def psql(dsn, sql, timeout=5.0):
    """(ok, stdout, error) of one statement in a fresh psql connection."""
    try:
        r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                           env=PSQL_ENV, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "", "timeout after %.0f s" % timeout
    # libpq's message may span lines (one per host tried, plus hints): keep it on one line
    err = " ".join(line.strip() for line in r.stderr.replace("psql: error: ", "").splitlines() if line.strip())
    return r.returncode == 0, r.stdout, err


# The Warden deployment's CA once known: its agents serve their API over HTTPS with certificates it issued.
WARDEN_CA = None


def tls_context(url):
    if not url.startswith("https:"):
        return None
    return ssl.create_default_context(cafile=WARDEN_CA)


def http_json(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=tls_context(url)) as resp:
            return json.loads(resp.read().decode())
    except Exception as e:  # HTTP errors carry a body too, but we only poll 200-endpoints
        if hasattr(e, "read"):
            try:
                return json.loads(e.read().decode())
            except Exception:
                pass
        return None


# ---------------------------------------------------------------- the two systems, behind one interface


class Warden:
    name = "Warden"

    def __init__(self, d):
        self.dir = d
        global WARDEN_CA
        WARDEN_CA = os.path.join(self.dir, "ca.crt")
        self.nodes = self.list()
        uri = self.run_warden("uri").strip()
        # the probe's connection rule: connect_timeout=1 per host, whatever ./warden uri chose
        parts = urllib.parse.urlsplit(uri)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "connect_timeout"]
        query.append(("connect_timeout", "1"))
        self.dsn = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        # A node whose agent is not publishing has no api_url in the list yet.
        self.apis = [n["api_url"] for n in self.nodes if n["api_url"]]

    def run_warden(self, *args):
        r = subprocess.run([WARDEN, *args, "--dir", self.dir], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("./warden %s failed: %s" % (" ".join(args), r.stderr.strip()[-500:]))
        return r.stdout

    def list(self):
        return json.loads(self.run_warden("list", "--json"))

    def primary_host(self):
        """(node name, {what: pid}) of the primary's 'host': agent, watchdog, postmaster."""
        rows = self.list()
        prim = [n for n in rows if n["leader"] and n["role"] == "primary"]
        if len(prim) != 1:
            raise RuntimeError("no single primary to kill: %s" % rows)
        n = prim[0]
        pids = {"agent": n["agent_pid"], "watchdog": n["watchdog_pid"], "postmaster": n["postgres_pid"]}
        # On its volume when the node has one (as root), else in the node's directory.
        pm = os.path.join(self.dir, "nodes", n["name"], "volume", "pgdata", "data", "postmaster.pid")
        if not os.path.exists(pm):
            pm = os.path.join(self.dir, "nodes", n["name"], "data", "postmaster.pid")
        try:
            file_pid = int(open(pm).readline())
            if file_pid != pids["postmaster"]:
                log("note: list says postgres_pid %s, %s says %s; killing both"
                    % (pids["postmaster"], pm, file_pid))
                pids["postmaster(file)"] = file_pid
        except (OSError, ValueError):
            pass
        return n["name"], pids

    def view(self, apis=None):
        """(leader name or None, leader's timeline, history length) as the first answering agent sees it."""
        for api in apis or self.apis:
            c = http_json(api + "/cluster")
            if c is None:
                continue
            leader = c.get("leader")
            tl = next((m.get("timeline") for m in c.get("members", []) if m.get("name") == leader), None)
            h = http_json(api + "/history")
            return leader, tl, (len(h) if isinstance(h, list) else None)
        return None, None, None


class Anchor:
    name = "Patroni+HAProxy"

    def __init__(self, d):
        self.dir = d
        self.dsn = ANCHOR_DSN
        self.apis = list(ANCHOR_APIS)

    def primary_host(self):
        leader, _, _ = self.view()
        if not leader:
            raise RuntimeError("the anchor has no leader")
        i = leader.lstrip("n")
        pids = {"patroni": int(open(os.path.join(self.dir, "n%s.pid" % i)).read().split()[0]),
                "postmaster": int(open(os.path.join(self.dir, "pg%s" % i, "postmaster.pid")).readline())}
        return leader, pids

    def view(self, apis=None):
        for api in apis or self.apis:
            c = http_json(api + "/cluster")
            if c is None:
                continue
            lead = [m for m in c.get("members", []) if m.get("role") in ("leader", "master", "primary")]
            h = http_json(api + "/history")
            return ((lead[0]["name"] if lead else None), (lead[0].get("timeline") if lead else None),
                    (len(h) if isinstance(h, list) else None))
        return None, None, None

    def healthy(self):
        c = http_json(self.apis[0] + "/cluster")
        if not c:
            return False
        m = c.get("members", [])
        leaders = [x for x in m if x.get("role") in ("leader", "master", "primary") and x.get("state") == "running"]
        replicas = [x for x in m if x.get("role") in ("replica", "sync_standby")
                    and x.get("state") in ("running", "streaming")]
        return len(leaders) == 1 and len(replicas) == 2


def system(kind, d):
    return Warden(d) if kind == "warden" else Anchor(d)


# ---------------------------------------------------------------- the kill test


class Probe(threading.Thread):
    """One INSERT about every 50 ms, each in a fresh psql connection (connect_timeout=1)."""

    def __init__(self, dsn):
        super().__init__(daemon=True)
        self.dsn, self.records, self.stop_at, self.next_id = dsn, [], None, 0
        self.lock = threading.Lock()

    def run(self):
        while self.stop_at is None or time.time() < self.stop_at:
            self.next_id += 1
            t0 = time.time()
            ok, _, err = psql(self.dsn, "insert into probe(id) values (%d)" % self.next_id)
            with self.lock:
                self.records.append({"id": self.next_id, "start": t0, "end": time.time(), "ok": ok,
                                     "error": "" if ok else err[:300]})
            time.sleep(0.05)

    def acks(self):
        with self.lock:
            return [r for r in self.records if r["ok"]]


class LeaderWatch(threading.Thread):
    """Polls the surviving nodes' REST APIs to time the new leader."""

    def __init__(self, sysobj, apis, old_leader):
        super().__init__(daemon=True)
        self.sys, self.apis, self.old = sysobj, apis, old_leader
        self.new_leader, self.at, self.stop = None, None, False

    def run(self):
        while not self.stop and self.at is None:
            leader, _, _ = self.sys.view(self.apis)
            if leader and leader != self.old:
                self.new_leader, self.at = leader, time.time()
            time.sleep(0.25)


def kill_test(kind, d, out, before, after, max_after):
    s = system(kind, d)
    ok, _, err = psql(s.dsn, "create table if not exists probe(id bigint primary key, at timestamptz default clock_timestamp())",
                      timeout=30)
    if not ok:
        raise RuntimeError("cannot create the probe table through %s: %s" % (s.dsn.split("@")[-1], err))
    leader0, tl0, hist0 = s.view()
    probe = Probe(s.dsn)
    probe.start()
    t_start = time.time()
    log("%s: probing writes for %.0f s before the kill (leader %s, timeline %s)" % (s.name, before, leader0, tl0))
    time.sleep(before)
    victim, pids = s.primary_host()
    survivors = [a for a in s.apis if not _api_of(s, a, victim)]
    t_kill = time.time()
    for what, pid in pids.items():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            log("note: %s pid %s was already gone" % (what, pid))
    log("%s: kill -9 %s (%s)" % (s.name, victim, ", ".join("%s %s" % kv for kv in pids.items())))
    watch = LeaderWatch(s, survivors, victim)
    watch.start()
    # keep probing `after` s, and longer while writes have not come back (the anchor needs ~30 s),
    # then until writes have been acknowledged for 3 s, at most `max_after` s after the kill
    while True:
        now = time.time()
        acks_after = [r for r in probe.acks() if r["end"] > t_kill]
        recovered = bool(acks_after) and now - acks_after[0]["end"] >= 3
        if now - t_kill >= max_after or (now - t_kill >= after and recovered):
            break
        time.sleep(0.2)
    probe.stop_at = time.time()
    probe.join(10)
    watch.stop = True
    watch.join(5)

    records = list(probe.records)
    acks = [r for r in records if r["ok"]]
    acks_after = [r for r in acks if r["end"] > t_kill]
    before_kill = [r for r in acks if r["end"] <= t_kill]
    # write outage: the longest gap between consecutive acknowledged writes, from the last one before the kill
    outage, gap_from, still_down = 0.0, None, False
    window = ([before_kill[-1]] if before_kill else []) + acks_after
    for a, b in zip(window, window[1:]):
        if b["end"] - a["end"] > outage:
            outage, gap_from = b["end"] - a["end"], a["end"]
    if not acks_after:
        still_down = True
        outage = records[-1]["end"] - (before_kill[-1]["end"] if before_kill else t_kill)
    # acknowledged writes lost: acknowledged ids missing on the new primary
    present, where = None, None
    for _ in range(30):
        ok, outp, err = psql(s.dsn, "select id from probe order by id", timeout=10)
        if ok:
            present = {int(x) for x in outp.split()}
            okh, h, _ = psql(s.dsn, "select inet_server_addr() || ':' || inet_server_port()")
            where = h.strip() if okh else None
            break
        time.sleep(1)
    acked_ids = {r["id"] for r in acks}
    lost = sorted(acked_ids - present) if present is not None else None
    failed_ids = {r["id"] for r in records if not r["ok"]}
    leader1, tl1, hist1 = s.view(survivors)
    errors = {}
    for r in records:
        if not r["ok"] and r["end"] > t_kill:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    result = {
        "system": s.name, "kind": kind,
        "killed": victim, "killed_pids": pids,
        "leader_before": leader0, "timeline_before": tl0, "history_before": hist0,
        "leader_after": leader1, "timeline_after": tl1, "history_after": hist1,
        "attempts": len(records), "acknowledged": len(acks),
        "outage_s": round(outage, 2), "still_down": still_down,
        "outage_starts_s_after_kill": round(gap_from - t_kill, 2) if gap_from else None,
        "first_ack_after_kill_s": round(acks_after[0]["end"] - t_kill, 2) if acks_after else None,
        "new_leader_seen_after_kill_s": round(watch.at - t_kill, 2) if watch.at else None,
        "probe_seconds": round(records[-1]["end"] - t_start, 1),
        "lost": (len(lost) if lost is not None else None), "lost_ids": (lost or [])[:50],
        "failed_but_committed": (len(failed_ids & present) if present is not None else None),
        "checked_on": where,
        "errors_after_kill": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:8]),
    }
    json.dump(result, open(out, "w"), indent=1)
    log("%s: outage %.2f s%s, %d acknowledged writes, %s lost; new leader %s (seen +%s s), timeline %s -> %s"
        % (s.name, outage, " (never recovered)" if still_down else "", len(acks), result["lost"],
           leader1, result["new_leader_seen_after_kill_s"], tl0, tl1))
    return 0 if present is not None else 2


def _api_of(s, api, name):
    if isinstance(s, Warden):
        return any(n["name"] == name and n["api_url"] == api for n in s.nodes)
    return api.endswith(":%d" % (18007 + int(name.lstrip("n"))))


# ---------------------------------------------------------------- CPU hog


def hog_watch(out, minutes, hogs, pidfile, dirs):
    systems = [system(k, d) for k, d in dirs]
    before = {s.name: s.view() for s in systems}
    for s in systems:
        log("%s before the hog: leader %s, timeline %s, history %s" % ((s.name,) + before[s.name]))
    procs = []
    seen = {s.name: {"leaders": [before[s.name][0]], "no_leader_polls": 0, "unreachable_polls": 0} for s in systems}

    def stop_hogs():
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()

    def on_term(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    polls = 0
    try:
        with open(pidfile, "a") as f:
            for _ in range(hogs):
                p = subprocess.Popen(["sh", "-c", "while :; do :; done"])
                procs.append(p)
                f.write("%d\n" % p.pid)
        log("%d CPU hogs running (pids %s) for %s min" % (hogs, " ".join(str(p.pid) for p in procs), minutes))
        end = time.time() + minutes * 60
        while time.time() < end:
            polls += 1
            for s in systems:
                leader, _, _ = s.view()
                st = seen[s.name]
                if leader is None:
                    # the agents answered nothing, or answered "no leader"
                    st["no_leader_polls"] += 1
                elif leader != st["leaders"][-1]:
                    st["leaders"].append(leader)
                    log("%s: leader is now %s" % (s.name, leader))
            time.sleep(3)
    finally:
        stop_hogs()
    time.sleep(5)
    result = {"minutes": minutes, "hogs": hogs, "polls": polls, "systems": {}}
    for s in systems:
        after = s.view()
        b, st = before[s.name], seen[s.name]
        leader_changes = len(st["leaders"]) - 1
        hist_growth = (after[2] - b[2]) if (after[2] is not None and b[2] is not None) else None
        if after[0] and after[0] != st["leaders"][-1]:
            leader_changes += 1
        false_failovers = max(leader_changes, hist_growth or 0, 1 if (after[1] or 0) != (b[1] or 0) else 0)
        result["systems"][s.name] = {
            "leader_before": b[0], "timeline_before": b[1], "history_before": b[2],
            "leader_after": after[0], "timeline_after": after[1], "history_after": after[2],
            "leaders_seen": st["leaders"], "polls_without_leader": st["no_leader_polls"],
            "false_failovers": false_failovers,
        }
        log("%s after the hog: leader %s, timeline %s, history %s -> false failovers: %d"
            % ((s.name,) + after + (false_failovers,)))
    json.dump(result, open(out, "w"), indent=1)
    return 0


# ---------------------------------------------------------------- misc


def ports_free(ports):
    busy = []
    for p in ports:
        with socket.socket() as sk:
            sk.settimeout(0.5)
            if sk.connect_ex(("127.0.0.1", int(p))) == 0:
                busy.append(p)
    if busy:
        print("ports in use on 127.0.0.1: %s" % " ".join(map(str, busy)), file=sys.stderr)
        return 1
    return 0


def anchor_wait(d, timeout):
    a = Anchor(d)
    end = time.time() + timeout
    while time.time() < end:
        if a.healthy():
            ok, _, err = psql(a.dsn, "select 1 where not pg_is_in_recovery()")
            if ok:
                return 0
        time.sleep(1)
    print("the anchor did not become healthy in %s s (see %s/n*.log)" % (timeout, d), file=sys.stderr)
    return 1


def report(results_dir, out):
    runs = {}
    for f in sorted(os.listdir(results_dir)):
        if f.startswith("kill-") and f.endswith(".json"):
            r = json.load(open(os.path.join(results_dir, f)))
            runs.setdefault(r["system"], []).append(r)
    hog = None
    if os.path.exists(os.path.join(results_dir, "hog.json")):
        hog = json.load(open(os.path.join(results_dir, "hog.json")))
    names = [n for n in ("Warden", "Patroni+HAProxy") if n in runs or (hog and n in hog["systems"])]

    def fmt_outage(r):
        return (">%.1f (no recovery)" if r["still_down"] else "%.1f") % r["outage_s"]

    lines = []
    head = ["system", "write outage (s)", "acknowledged writes", "lost", "false failovers under CPU hog"]
    rows = []
    for n in names:
        rs = runs.get(n, [])
        if rs:
            outs = [fmt_outage(r) for r in rs]
            worst = max(rs, key=lambda r: (r["still_down"], r["outage_s"]))
            outage = outs[0] if len(rs) == 1 else "%s (max %s)" % (", ".join(outs), fmt_outage(worst))
            acked = " + ".join(str(r["acknowledged"]) for r in rs)
            lost = " + ".join("?" if r["lost"] is None else str(r["lost"]) for r in rs)
        else:
            outage = acked = lost = "not run"
        if hog and n in hog["systems"]:
            h = hog["systems"][n]
            ff = "%d in %s min" % (h["false_failovers"], _num(hog["minutes"]))
            if h["false_failovers"]:
                ff += " (leaders %s)" % " -> ".join(str(x) for x in h["leaders_seen"])
        else:
            ff = "not run"
        rows.append([n, outage, acked, lost, ff])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    lines.append(fmt(head))
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.extend(fmt(r) for r in rows)
    lines.append("")
    lines.append("per run:")
    for n in names:
        for i, r in enumerate(runs.get(n, []), 1):
            lines.append("  %s run %d: killed %s (%s); outage %s s (from %s s after the kill); first write after the kill "
                         "at +%s s; new leader %s seen at +%s s; timeline %s -> %s; %d writes attempted, %d acknowledged, "
                         "%s acknowledged lost, %s failed-but-committed%s"
                         % (n, i, r["killed"], ", ".join("%s %s" % kv for kv in r["killed_pids"].items()),
                            fmt_outage(r), _signed(r["outage_starts_s_after_kill"]), r["first_ack_after_kill_s"],
                            r["leader_after"], r["new_leader_seen_after_kill_s"], r["timeline_before"],
                            r["timeline_after"], r["attempts"], r["acknowledged"], r["lost"],
                            r["failed_but_committed"],
                            ("; lost ids " + ",".join(map(str, r["lost_ids"]))) if r["lost"] else ""))
            if r["errors_after_kill"]:
                lines.append("    client errors after the kill: " + "; ".join(
                    "%dx %s" % (c, e or "(no message)") for e, c in r["errors_after_kill"].items()))
    if hog:
        for n, h in hog["systems"].items():
            lines.append("  %s under the CPU hog (%d busy loops, %s min, %d polls): leader %s -> %s, timeline %s -> %s, "
                         "history entries %s -> %s, polls without a leader %d"
                         % (n, hog["hogs"], _num(hog["minutes"]), hog["polls"], h["leader_before"], h["leader_after"],
                            h["timeline_before"], h["timeline_after"], h["history_before"], h["history_after"],
                            h["polls_without_leader"]))
    text = "\n".join(lines) + "\n"
    with open(out, "a") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


def _signed(x):
    return "?" if x is None else "%+.2f" % x


def _num(x):
    return ("%g" % x)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "ports-free":
        return ports_free(args)
    if cmd == "anchor-wait":
        return anchor_wait(args[0], float(args[1]))
    if cmd == "kill-test":
        before = float(os.environ.get("BENCH_BEFORE", "10"))
        after = float(os.environ.get("BENCH_AFTER", "20"))
        max_after = float(os.environ.get("BENCH_MAX_AFTER", "120"))
        return kill_test(args[0], args[1], args[2], before, after, max_after)
    if cmd == "hog-watch":
        out, minutes, hogs, pidfile = args[0], float(args[1]), int(args[2]), args[3]
        dirs, rest = [], args[4:]
        while rest:
            dirs.append((rest[0].lstrip("-"), rest[1]))
            rest = rest[2:]
        return hog_watch(out, minutes, hogs, pidfile, dirs)
    if cmd == "report":
        return report(args[0], args[1])
    print(__doc__, file=sys.stderr)
    return 2


def run_main(main):
    """Exits with main(sys.argv)'s code: 130 on Ctrl-C, 1 with the message on a RuntimeError."""
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    run_main(main)
