#!/usr/bin/env python3
"""Helper of bench/switchover (Python 3 standard library only; it shells out to psql, ./warden and patronictl).

The systems (Warden, Anchor), the fresh-connection write probe and psql come from failover_helper.py; the
PostgreSQL wire login (SCRAM) from router_helper.py. This file adds the persistent-connection probe, the
switchover loop, the outage breakdown from Warden's logs, and the report.

Subcommands (bench/switchover calls them):
  ports-free HOST:PORT...                    exit 1 (naming them) when something listens on one of them
  anchor-wait DIR TIMEOUT_S                  wait until the Patroni anchor is healthy and HAProxy takes a write
  switchovers warden|anchor DIR OUT.json     probe writes, N planned switchovers (BENCH_RUNS, BENCH_GAP), then
                                             count the outages and the acknowledged writes lost
  report RESULTS_DIR OUT.txt                 the tables, from the switchover-*.json files in RESULTS_DIR
"""
import calendar
import glob
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import failover_helper as fh
import router_helper as rh

PERSISTENT_FIRST_ID = 1_000_000_000  # the persistent probe's ids, apart from the fresh probe's 1, 2, ...
HEALTHY_TIMEOUT_S = 90  # after a switchover command, for the cluster to be whole again
FLOWING_S = 1.0  # writes "flow" when one was acknowledged within this long
MAX_FAILED_COMMANDS = 3  # switchover commands that changed nothing, retried before giving up


def log(msg):
    fh.log(msg)


# ---------------------------------------------------------------- the persistent-connection probe


class PersistentProbe(threading.Thread):
    """One INSERT about every 50 ms on one connection kept open, reconnecting (at the next write) after any
    error, like an application with a connection pool. Tries the addresses in order, 1 s connect timeout each,
    as libpq does with several hosts. Records look like failover_helper.Probe's."""

    def __init__(self, addrs, user, password):
        super().__init__(daemon=True)
        self.addrs, self.user, self.password = addrs, user, password
        self.records, self.stop_at, self.next_id = [], None, PERSISTENT_FIRST_ID
        self.reconnects = 0
        self.lock = threading.Lock()
        self.sock = None

    def connect(self):
        errors = []
        for host, port in self.addrs:
            try:
                s = rh.pg_session(host, port, self.user, self.password, timeout=1)
                s.settimeout(5)
                self.reconnects += 1
                return s
            except (OSError, rh.PgError) as e:
                errors.append("%s:%s: %s" % (host, port, e))
        raise rh.PgError("; ".join(errors))

    def insert(self, n):
        if self.sock is None:
            self.sock = self.connect()
        rh._send(self.sock, b"Q", ("insert into probe(id) values (%d)" % n).encode() + b"\0")
        error = ""
        while True:
            typ, body = rh._read_msg(self.sock)
            if typ == b"E":
                error = rh._error_text(body)
            elif typ == b"Z":
                return error

    def drop(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def run(self):
        while self.stop_at is None or time.time() < self.stop_at:
            self.next_id += 1
            t0 = time.time()
            try:
                err = self.insert(self.next_id)
            except (OSError, rh.PgError) as e:
                err = str(e) or type(e).__name__
            if err:
                self.drop()
            with self.lock:
                self.records.append({"id": self.next_id, "start": t0, "end": time.time(), "ok": not err,
                                     "error": err[:300]})
            time.sleep(0.05)
        self.drop()

    def acks(self):
        with self.lock:
            return [r for r in self.records if r["ok"]]


def persistent_target(s):
    """(addresses, user, password) of the system's read-write entry point."""
    if isinstance(s, fh.Warden):
        # postgresql://user:password@h1:p1,h2:p2/db?...: urlsplit cannot take several hosts, so split by hand
        netloc = urllib.parse.urlsplit(s.dsn).netloc
        cred, hosts = netloc.rsplit("@", 1)
        user, password = (urllib.parse.unquote(x) for x in cred.split(":", 1))
        addrs = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1])) for h in hosts.split(",")]
        return addrs, user, password
    return [("127.0.0.1", 25432)], "postgres", "su-pass"


# ---------------------------------------------------------------- health, per system


def health(s):
    """(leader or None, [streaming replicas], problem) from the agents' REST /cluster: healthy when one member
    runs as primary holding the leader key and every other streams on the leader's timeline."""
    for api in s.apis:
        c = fh.http_json(api + "/cluster", timeout=1.0)
        if c is None:
            continue
        members = c.get("members", [])
        if isinstance(s, fh.Warden):
            leader = c.get("leader")
            lead = [m for m in members if m.get("name") == leader and m.get("role") == "primary" and m.get("state") == "running"]
        else:
            lead = [m for m in members if m.get("role") in ("leader", "master", "primary") and m.get("state") == "running"]
        if len(lead) != 1:
            return None, [], "no running primary holding the leader key"
        tl = lead[0].get("timeline")
        replicas = [m["name"] for m in members
                    if m is not lead[0] and m.get("role") in ("replica", "sync_standby")
                    and m.get("state") in ("streaming", "running")
                    and (tl is None or m.get("timeline") in (None, tl))]
        if len(replicas) != len(members) - 1:
            return lead[0]["name"], replicas, "not every replica streams on timeline %s: %s" % (
                tl, ", ".join("%s %s/%s tl %s" % (m["name"], m.get("role"), m.get("state"), m.get("timeline"))
                              for m in members if m is not lead[0]))
        return lead[0]["name"], replicas, ""
    return None, [], "no agent answers /cluster"


def streaming_from_primary(s):
    """How many replicas stream from the node behind the read-write entry point (None when it is no primary)."""
    ok, out, _ = fh.psql(s.dsn, "select count(*) from pg_stat_replication where state = 'streaming' "
                                "having not pg_is_in_recovery()", timeout=3)
    return int(out.strip()) if ok and out.strip() else None


def await_healthy(s, members, expect_leader, probe, gap, timeout):
    """Waits until the cluster is whole (expect_leader leads, if given; all others stream from it, seen both by
    the agents and in the primary's pg_stat_replication), then until writes have flowed for `gap` s.
    Returns (leader, time it was whole, time the wait ended) or raises RuntimeError naming what was missing."""
    end = time.time() + timeout
    problem, whole_at = "", None
    while time.time() < end:
        leader, replicas, problem = health(s)
        if not problem and expect_leader and leader != expect_leader:
            problem = "the leader is %s, not %s" % (leader, expect_leader)
        if not problem:
            n = streaming_from_primary(s)
            if n != members - 1:
                problem = "the primary behind the read-write port has %s streaming replicas, not %d" % (n, members - 1)
        if not problem:
            whole_at = time.time()
            break
        time.sleep(0.25)
    if whole_at is None:
        raise RuntimeError("%s did not become healthy within %d s: %s" % (s.name, timeout, problem))
    while time.time() < end + 30:
        acks = probe.acks()
        now = time.time()
        if now >= whole_at + gap and acks and now - acks[-1]["end"] <= FLOWING_S:
            return leader, whole_at, now
        time.sleep(0.1)
    raise RuntimeError("%s is healthy but the probe's writes do not flow (last acknowledged %.1f s ago)"
                       % (s.name, time.time() - (probe.acks() or [{"end": 0}])[-1]["end"]))


# ---------------------------------------------------------------- the switchover loop


def next_candidate(leader, replicas):
    """The streaming replica after the leader in name order: leadership goes round all nodes. The replicas come
    from the agents' /cluster (what ./warden list --json shows, without starting two JVMs per switchover, which
    on a loaded 2-core machine take 10-30 s and time out on their first etcd read)."""
    names = sorted(replicas + [leader])
    i = names.index(leader)
    for step in range(1, len(names)):
        name = names[(i + step) % len(names)]
        if name in replicas:
            return name
    raise RuntimeError("no streaming replica to switch over to")


def switchover_command(s, leader, candidate):
    if isinstance(s, fh.Warden):
        return [fh.WARDEN, "switchover", "--dir", s.dir, "--candidate", candidate]
    return ["patronictl", "-c", os.path.join(s.dir, "n1.yml"), "switchover", "--leader", leader,
            "--candidate", candidate, "--force"]


def outage(records, t0, t_end):
    """The longest gap between consecutive acknowledged writes from the last one before t0 to t_end."""
    acks = [r for r in records if r["ok"]]
    window = [a for a in acks if a["end"] <= t0][-1:] + [a for a in acks if t0 < a["end"] <= t_end]
    best = {"outage_s": None, "gap_from": None, "gap_to": None}
    for a, b in zip(window, window[1:]):
        if best["outage_s"] is None or b["end"] - a["end"] > best["outage_s"]:
            best = {"outage_s": round(b["end"] - a["end"], 3), "gap_from": a["end"], "gap_to": b["end"]}
    errors = {}
    for r in records:
        if not r["ok"] and t0 < r["end"] <= t_end:
            key = re.sub(r"\d+", "N", r["error"])[:160]
            errors[key] = errors.get(key, 0) + 1
    best["failed_writes"] = sum(errors.values())
    best["errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])
    best["acknowledged"] = sum(1 for a in acks if t0 < a["end"] <= t_end)
    return best


def switchovers(kind, d, out, runs, gap, probes):
    for attempt in range(3):  # Warden's reads ./warden list and uri, whose etcd reads can time out under load
        try:
            s = fh.system(kind, d)
            break
        except RuntimeError as e:
            if attempt == 2:
                raise
            log("note: %s; trying again" % _printed(str(e)))
    ok, _, err = fh.psql(s.dsn, "create table if not exists probe(id bigint primary key, at timestamptz default clock_timestamp())",
                         timeout=30)
    if not ok:
        raise RuntimeError("cannot create the probe table through %s: %s" % (s.dsn.split("@")[-1], err))
    running = {}
    if "fresh" in probes:
        running["fresh"] = fh.Probe(s.dsn)
    if "persistent" in probes:
        running["persistent"] = PersistentProbe(*persistent_target(s))
    for p in running.values():
        p.start()
    main_probe = running.get("fresh") or running["persistent"]
    result = {"system": s.name, "kind": kind, "probes": sorted(running), "gap_s": gap, "runs": [], "failed_commands": [],
              "load_before": _load()}
    try:
        status = _switchover_loop(s, kind, d, runs, gap, running, main_probe, result)
    except RuntimeError as e:
        # keep what was measured: the report shows it along with the problem
        result["problem"] = str(e)
        log("%s: %s" % (s.name, e))
        status = 1
    finally:
        for p in running.values():
            p.stop_at = time.time()
        for p in running.values():
            p.join(10)
    result["load_after"] = _load()
    return _count_lost(s, running, result, out, runs, status)


def _switchover_loop(s, kind, d, runs, gap, running, main_probe, result):
    """The switchovers, each once the cluster is whole and writes flowed for `gap` s; appends to result["runs"]."""
    members, status = 3, 0
    leader, _, t_end = await_healthy(s, members, None, main_probe, gap, HEALTHY_TIMEOUT_S)
    done = failed = 0
    while done < runs:
        i = done + 1
        _, replicas, _ = health(s)
        candidate = next_candidate(leader, replicas)
        cmd = switchover_command(s, leader, candidate)
        t0 = time.time()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            rc, cmd_out = r.returncode, (r.stdout + r.stderr).strip()
        except subprocess.TimeoutExpired:
            rc, cmd_out = None, "timed out after 120 s"
        t1 = time.time()
        run = {"run": i, "from": leader, "to": candidate, "command_s": round(t1 - t0, 2), "command_rc": rc,
               "command_output": _printed(cmd_out), "t_command": t0, "t_command_end": t1}
        if rc != 0:
            log("%s switchover %d/%d %s -> %s: the command failed (rc %s): %s"
                % (s.name, i, runs, leader, candidate, rc, run["command_output"]))
            run["command_output_tail"] = cmd_out[-3000:]
        try:
            leader, whole_at, t_end = await_healthy(s, members, candidate if rc == 0 else None, main_probe, gap,
                                                    HEALTHY_TIMEOUT_S)
        except RuntimeError as e:
            run["problem"] = str(e)
            result["runs"].append(run)
            log("%s switchover %d/%d: %s; no further switchovers" % (s.name, i, runs, e))
            status = 1
            break
        run.update({"healthy_after_s": round(whole_at - t0, 2), "t_window_end": t_end, "leader_after": leader})
        if leader == run["from"]:
            # the command failed before anything changed: not a switchover, so no outage to count; try again
            run["problem"] = "no switchover happened (the command failed)"
            result["failed_commands"].append(run)
            failed += 1
            if failed > MAX_FAILED_COMMANDS:
                log("%s: %d switchover commands failed; no further switchovers" % (s.name, failed))
                break
            continue
        done += 1
        result["runs"].append(run)
        for name, p in running.items():
            run[name] = outage(list(p.records), t0, t_end)
        if kind == "warden":
            run["breakdown"] = warden_breakdown(d, run)
        log("%s switchover %d/%d %s -> %s: outage %s; command %.1f s; whole again after %.1f s"
            % (s.name, i, runs, run["from"], leader,
               ", ".join("%s %.2f s" % (n, run[n]["outage_s"]) for n in sorted(running) if run[n]["outage_s"] is not None),
               run["command_s"], run["healthy_after_s"]))
    return status


def _count_lost(s, running, result, out, runs, status):
    """Acknowledged writes lost: acknowledged ids missing on the final primary. Writes the JSON."""
    present, where = None, None
    for _ in range(30):
        ok, outp, err = fh.psql(s.dsn, "select id from probe order by id", timeout=10)
        if ok:
            present = {int(x) for x in outp.split()}
            okh, h, _ = fh.psql(s.dsn, "select inet_server_addr() || ':' || inet_server_port()")
            where = h.strip() if okh else None
            break
        time.sleep(1)
    result["checked_on"] = where
    for name, p in running.items():
        records = list(p.records)
        acked = {r["id"] for r in records if r["ok"]}
        failed = {r["id"] for r in records if not r["ok"]}
        lost = sorted(acked - present) if present is not None else None
        result[name] = {"attempts": len(records), "acknowledged": len(acked),
                        "lost": len(lost) if lost is not None else None, "lost_ids": (lost or [])[:50],
                        "failed_but_committed": len(failed & present) if present is not None else None}
        if name == "persistent":
            result[name]["connections"] = p.reconnects
    json.dump(result, open(out, "w"), indent=1)
    if present is None:
        log("%s: cannot read the probe table back: %s" % (s.name, err))
        return 2
    return status if len(result["runs"]) == runs and "problem" not in result["runs"][-1] else 1


def _printed(text):
    """The command's own summary line, e.g. 'switched over from node-1 to node-2 in 1.4 s'."""
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.startswith("WARNING")]
    said = [l for l in lines if "switched over" in l or l.lower().startswith("error") or "Exception" in l]
    return (said or lines or [""])[0 if said else -1][:300]


def _load():
    return open("/proc/loadavg").read().split()[:3]


# ---------------------------------------------------------------- where Warden's outage goes


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})")


def _log_events(path, patterns, since, until):
    """{name: first time at or after `since` (and before `until`) that the line matching patterns[name] was
    logged}. Agent and router logs are in local time, postgres's in UTC (log_line_prefix %m ... UTC)."""
    found = {}
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return found
    for line in lines:
        m = LOG_TIME.match(line)
        if not m:
            continue
        stamp = time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S")
        secs = (calendar.timegm(stamp) if " UTC " in line[:40] else time.mktime(stamp)) + int(m.group(1)[20:]) / 1000
        if secs < since - 0.001 or secs > until:
            continue
        for name, pattern in patterns.items():
            if name not in found and pattern in line:
                found[name] = secs
    return found


def warden_breakdown(d, run):
    """The switchover's steps from the agents', postgres's and routers' logs, in seconds after the outage began
    (the last write acknowledged before the gap)."""
    old, new = run["from"], run["to"]
    since, until = run["t_command"], run["t_window_end"]
    ev = {}
    ev.update(_log_events(os.path.join(d, "nodes", old, "agent.log"), {
        "hand_over_decided": "HAND_OVER: switchover requested",
        "key_released": "handed over to " + new,
        "aborted": "has not received the shutdown checkpoint"}, since, until))
    ev.update(_log_events(os.path.join(d, "nodes", old, "postgres.log"), {
        "old_shutdown_requested": "received fast shutdown request",
        "old_shut_down": "database system is shut down"}, since, until))
    ev.update(_log_events(os.path.join(d, "nodes", new, "postgres.log"), {
        "checkpoint_received": "End of WAL reached on timeline",
        "promote_requested": "received promote request",
        "new_accepts_writes": "database system is ready to accept connections"}, since, until))
    ev.update(_log_events(os.path.join(d, "nodes", new, "agent.log"), {
        "leader_key_taken": "TAKE_LEADERSHIP",
        "barrier_waited": "waiting for routers to stop routing",
        "promoted_logged": "promoted to primary"}, since, until))
    for r in sorted(glob.glob(os.path.join(d, "routers", "*", "router.log"))):
        name = os.path.basename(os.path.dirname(r))
        e = _log_events(r, {"dropped": "primary is now (none)", "routes": "primary is now " + new + "@"}, since, until)
        for k, v in e.items():
            ev["%s_%s" % (name, k)] = v
    routes = [v for k, v in ev.items() if k.endswith("_routes")]
    if routes:
        ev["all_routers_route_to_new"] = max(routes)
    probe = run.get("fresh") or run.get("persistent")
    if probe and probe.get("gap_to"):
        ev["first_write"] = probe["gap_to"]
        t_out = probe["gap_from"]
    else:
        t_out = since
    rel = {k: round(v - t_out, 3) for k, v in sorted(ev.items(), key=lambda kv: kv[1])}
    rel["command_started"] = round(since - t_out, 3)
    return rel


# ---------------------------------------------------------------- report


STEPS = [  # (from event, to event, label) for the breakdown table
    ("outage_start", "old_shutdown_requested", "last write -> old primary told to stop"),
    ("old_shutdown_requested", "checkpoint_received", "-> candidate received the shutdown checkpoint"),
    ("checkpoint_received", "old_shut_down", "-> old primary's postgres is down"),
    ("old_shut_down", "key_released", "-> old agent released the leader key"),
    ("key_released", "leader_key_taken", "-> candidate took the leader key"),
    ("leader_key_taken", "promote_requested", "-> router barrier passed, promote requested"),
    ("promote_requested", "new_accepts_writes", "-> new primary accepts writes"),
    ("new_accepts_writes", "all_routers_route_to_new", "-> both routers route to it"),
    ("all_routers_route_to_new", "first_write", "-> first write acknowledged"),
]


def _median(xs):
    return statistics.median(xs) if xs else None


def _f(x, digits=2):
    return "-" if x is None else ("%." + str(digits) + "f") % x


def _table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in rows]


def report(results_dir, out):
    results = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(results_dir, "switchover-*.json")))]
    results.sort(key=lambda r: r["kind"] != "warden")
    lines = []
    rows = []
    for res in results:
        for probe in res["probes"]:
            outs = [r[probe]["outage_s"] for r in res["runs"] if r.get(probe) and r[probe]["outage_s"] is not None]
            cmds = [r["command_s"] for r in res["runs"]]
            p = res.get(probe, {})
            rows.append([res["system"], probe, len(outs), _f(_median(outs)), _f(max(outs) if outs else None),
                         " ".join(_f(o) for o in outs) or "-",
                         "%s / %s" % (_f(_median(cmds), 1), _f(max(cmds) if cmds else None, 1)),
                         "%s of %s" % ("?" if p.get("lost") is None else p["lost"], p.get("acknowledged", "?"))])
    lines += _table(["system", "probe", "switchovers", "median outage (s)", "max outage (s)",
                     "outage per switchover (s)", "command s, median / max", "acknowledged writes lost"], rows)
    lines.append("")
    for res in results:
        lines.append("%s, load average %s before, %s after; one row per switchover:" % (
            res["system"], "/".join(res["load_before"]), "/".join(res.get("load_after", ["?"]))))
        head = ["#", "from -> to"] + ["outage %s (s)" % p for p in res["probes"]] + \
               ["failed writes (%s)" % res["probes"][0], "command (s)", "command says", "whole again after (s)"]
        rows = []
        for r in res["runs"]:
            first = r.get(res["probes"][0]) or {}
            rows.append([r["run"], "%s -> %s" % (r["from"], r["to"])]
                        + [_f((r.get(p) or {}).get("outage_s")) for p in res["probes"]]
                        + [first.get("failed_writes", "-"), _f(r["command_s"]),
                           r.get("problem") or r["command_output"] or "(rc %s)" % r["command_rc"],
                           _f(r.get("healthy_after_s"))])
        lines += ["  " + l for l in _table(head, rows)]
        for p in res["probes"]:
            x = res.get(p, {})
            lines.append("  %s probe: %s writes attempted, %s acknowledged, %s acknowledged lost%s, %s failed-but-committed%s"
                         % (p, x.get("attempts"), x.get("acknowledged"), x.get("lost"),
                            (" (ids %s)" % ",".join(map(str, x["lost_ids"]))) if x.get("lost") else "",
                            x.get("failed_but_committed"),
                            ", %d connections opened" % x["connections"] if "connections" in x else ""))
        if res.get("problem"):
            lines.append("  stopped early: %s" % res["problem"])
        for r in res.get("failed_commands", []):
            lines.append("  a switchover command that changed nothing (retried): %s -> %s after %.1f s, rc %s: %s"
                         % (r["from"], r["to"], r["command_s"], r["command_rc"], r["command_output"]))
        errors = {}
        for r in res["runs"]:
            for e, c in (r.get(res["probes"][0]) or {}).get("errors", {}).items():
                errors[e] = errors.get(e, 0) + c
        if errors:
            lines.append("  %s probe's errors during the switchovers: %s" % (res["probes"][0], "; ".join(
                "%dx %s" % (c, e or "(no message)") for e, c in sorted(errors.items(), key=lambda kv: -kv[1])[:5])))
        lines.append("")
    for res in results:
        bds = [r["breakdown"] for r in res["runs"] if r.get("breakdown")]
        if not bds:
            continue
        lines.append("Where Warden's outage goes (from the agents', postgres's and routers' logs and the %s probe; "
                     "seconds per step, each switchover, then the median):" % res["probes"][0])
        rows = []
        for a, b, label in STEPS:
            vals = []
            for bd in bds:
                bd = dict(bd, outage_start=0.0)
                vals.append(bd[b] - bd[a] if a in bd and b in bd else None)
            got = [v for v in vals if v is not None]
            rows.append([label, " ".join(_f(v) for v in vals), _f(_median(got))])
        totals = [bd.get("first_write") for bd in bds]
        rows.append(["= outage", " ".join(_f(v) for v in totals), _f(_median([t for t in totals if t is not None]))])
        lines += ["  " + l for l in _table(["step", "per switchover", "median"], rows)]
        barrier = sum(1 for bd in bds if "barrier_waited" in bd)
        lines.append("  the candidate logged waiting for the router barrier in %d of %d switchovers" % (barrier, len(bds)))
        lines.append("")
    text = "\n".join(lines)
    with open(out, "a") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "ports-free":
        return rh.ports_free(args)
    if cmd == "anchor-wait":
        return fh.anchor_wait(args[0], float(args[1]))
    if cmd == "switchovers":
        runs = int(os.environ.get("BENCH_RUNS", "10"))
        gap = float(os.environ.get("BENCH_GAP", "5"))
        probes = os.environ.get("BENCH_PROBES", "fresh persistent").split()
        return switchovers(args[0], args[1], args[2], runs, gap, probes)
    if cmd == "report":
        return report(args[0], args[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    fh.run_main(main)
