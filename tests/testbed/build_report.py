#!/usr/bin/env python3
"""Builds the testbed's report (report.json, schema in tests/testbed/report.py)
from what tests/testbed/testbed-run.sh left in RUN_DIR/testbed/: the daemons'
events, the correspondent's per-datagram trace, the observer's captures,
the IKE counters and the kernel state counts; the checks come from the
scenario's log.

build_report.py RUN_DIR SETTINGS.json WHERE REPORT.json

Times: every event carries CLOCK_MONOTONIC ms, and so does the trace; the
report's seconds count from the stream's first datagram at the
correspondent.
"""
import json
import os
import re
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kernel-vm", "ikebridged"))
sys.path.insert(0, HERE)
import capture_check  # noqa: E402
import timeline  # noqa: E402

STREAM_MAGIC = b"NKST"   # nk_stream's datagrams start with it
NODE = {"mr": "mobile router", "ha": "home agent", "ikemr": "mobile router", "ikeha": "home agent"}


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def events_of(t):
    out = []
    for line in read(os.path.join(t, "events.jsonl")).splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def trace_of(t):
    points = []
    for line in read(os.path.join(t, "trace.txt")).splitlines():
        parts = line.split()
        if len(parts) == 2:
            points.append((float(parts[0]), int(parts[1])))
    return points


def disruption(points, start_ms, end_ms):
    """Longest gap between consecutive arrivals that ends in [start_ms,
    end_ms), the arrival that ended it, and the sequence numbers skipped
    by the gaps ending there (a gap belongs to the handover it ends in)."""
    longest, after, lost = None, None, 0
    for (a, sa), (b, sb) in zip(points, points[1:]):
        if b < start_ms or b >= end_ms:
            continue
        gap = b - a
        if longest is None or gap > longest:
            longest, after = gap, b
        if sb > sa + 1:
            lost += sb - sa - 1
    return (round(longest, 1) if longest is not None else None), after, lost


def observer(t):
    frames = esp = clear_mh = plain = 0
    for name in ("access1.pcap", "access2.pcap"):
        path = os.path.join(t, name)
        if not os.path.exists(path):
            continue
        for ip in capture_check.packets(path):
            frames += 1
            if capture_check.ESP in capture_check.chain_of(ip):
                esp += 1
            if capture_check.clear_mobility_header(ip):
                clear_mh += 1
            plain += capture_check.clear_udp_payload(ip, STREAM_MAGIC)
    return {"frames": frames, "esp_frames": esp, "plaintext_bytes": plain, "clear_mobility_headers": clear_mh}


def ike(t, settings):
    if settings["keying"] != "dynamic":
        return None
    nodes = {}
    for key, name in (("mobile_router", "ike-mr.json"), ("home_agent", "ike-ha.json")):
        try:
            counters = json.loads(read(os.path.join(t, name)) or "{}").get("arguments") or {}
        except ValueError:
            counters = {}
        # Requests this node sent: each exchange is counted once, by its initiator.
        nodes[key] = {x: counters.get(f"exchange.{x}.sent", 0)
                      for x in ("ike-sa-init", "ike-auth", "create-child-sa", "informational")}
    total = nodes["mobile_router"]["ike-sa-init"] + nodes["home_agent"]["ike-sa-init"]
    return dict(nodes, ike_sa_init_total=total)


def kernel(t):
    counts = {}
    for line in read(os.path.join(t, "kernel-counts.txt")).splitlines():
        node, when, sas, policies = line.split()
        key = "home_agent" if node == "ha" else "mobile_router"
        counts.setdefault(key, {})[when] = {"sas": int(sas), "policies": int(policies)}
    same = all(read(os.path.join(t, f"{n}-before.txt"), None) == read(os.path.join(t, f"{n}-after.txt"), 0)
               for n in ("ha", "mr"))
    equal = same and all(v.get("before") == v.get("after") for v in counts.values()) and len(counts) == 2
    return dict(counts, equal=equal)


def main():
    run, settings_file, where, out = sys.argv[1:5]
    t = os.path.join(run, "testbed")
    settings = json.load(open(settings_file))
    log = read(os.path.join(run, "scenario.log"))
    checks = [{"name": m.group(2), "ok": m.group(1) == "ok", "detail": ""}
              for m in re.finditer(r"(?m)^(ok|FAIL)\s+(.*)$", log)]
    exit_code = read(os.path.join(run, "exit-code")).strip()
    events = events_of(t)
    points = trace_of(t)
    origin = points[0][0] if points else None
    rel = lambda ms: round((ms - origin) / 1000.0, 3) if origin is not None and ms is not None else None

    moves = [line.split() for line in read(os.path.join(t, "moves.txt")).splitlines() if line.strip()]
    reported = [e["event"] for e in events
                if e["source"] == "mr" and e["event"].get("kind") == "handover"
                and e["event"].get("reason") != "first-care-of-address"]
    deregistered = [e["event"] for e in events if e["source"] == "mr" and e["event"].get("kind") == "deregistered"]
    went_home = [e["event"] for e in events if e["source"] == "mr" and e["event"].get("kind") == "movement"
                 and e["event"].get("decision") == "returned-home"]
    rate = settings.get("rate_pps") or 100

    def detection(i):
        """When move i was detected (monotonic ms): its timing line, or for
        the way home without one, the movement event."""
        h = reported[i] if i < len(reported) else None
        if h and h.get("detected-monotonic-ms") is not None:
            return h["detected-monotonic-ms"]
        if i < len(moves) and moves[i][0] == "return-home" and went_home:
            return went_home[-1].get("monotonic-ms")
        return None

    handovers = []
    stream_firsts = []   # (monotonic ms, where): first datagram after each handover
    for i, move in enumerate(moves):
        kind = "return-home" if move[0] == "return-home" else "handover"
        h = reported[i] if i < len(reported) else None
        link = lambda s: {"access-1": "access link 1", "access-2": "access link 2", "home": "home link"}.get(s, s)
        entry = {"index": i + 1, "kind": kind,
                 "from_link": link(moves[i - 1][3]) if kind == "return-home" and i > 0 else link(move[2]),
                 "to_link": link(move[3] if kind == "handover" else "home"),
                 "from": h.get("from") if h else None, "to": h.get("to") if h else None,
                 "reason": h.get("reason") if h else None}
        ms = lambda key: (h.get(key) if h and isinstance(h.get(key), (int, float)) and h.get(key) >= 0 else None)
        for key in ("decided", "migrate-done", "bu-sent", "ba-received", "first-packet"):
            entry[key.replace("-", "_") + "_ms"] = ms(key + "-ms")
        detected = detection(i)
        if kind == "return-home" and entry["reason"] is None and went_home:
            entry["reason"] = went_home[-1].get("reason")
        entry["detected_s"] = rel(detected)
        if detected is not None and points:
            nxt = detection(i + 1)
            # Up to where the next handover's window starts (gaps belong to one).
            end = min(nxt - 200, detected + 8000) if nxt else detected + 8000
            entry["disruption_ms"], after, entry["lost_packets"] = disruption(points, detected - 200, end)
            # The sensor's stream goes upstream, where mobilityd's watch for
            # the first tunnelled packet sees nothing: the correspondent's
            # first datagram after the gap is the first on the new path.
            if entry["first_packet_ms"] is None and after is not None and after >= detected:
                entry["first_packet_ms"] = round(after - detected, 1)
                stream_firsts.append((after, entry["to"] or entry["to_link"]))
        else:
            entry["disruption_ms"], entry["lost_packets"] = None, None
        entry["completed"] = bool(h and entry["ba_received_ms"] is not None) if kind == "handover" \
            else bool(deregistered)
        handovers.append(entry)

    received = len(points)
    sent = (max(s for _, s in points) + 1) if points else 0
    ike_report = ike(t, settings)
    if ike_report is not None and handovers:
        moves_n = sum(1 for h in handovers if h["kind"] == "handover")
        ike_report["ike_sa_init_per_handover"] = round((ike_report["ike_sa_init_total"] - 1) / max(moves_n, 1), 2)
    lines = []
    for e in events:
        for at, what, detail in timeline.lines_of(e["source"], e["event"]):
            lines.append({"t_s": rel(at) if origin is not None else None, "node": NODE.get(e["source"], e["source"]),
                          "event": what, "detail": detail, "_at": at})
    for at, to in stream_firsts:
        lines.append({"t_s": rel(at), "node": "correspondent", "event": "first packet on the new path",
                      "detail": f"the sensor's stream, via {to}", "_at": at})
    lines.sort(key=lambda x: x["_at"])
    for x in lines:
        del x["_at"]
    report = {
        "nemokey_testbed_report": 1,
        "started": settings.get("started") or datetime.fromtimestamp(os.path.getmtime(settings_file), timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": settings.get("duration_s"),
        "environment": {"kernel": read(os.path.join(t, "kernel.txt")).strip() or None, "where": where},
        "settings": {k: settings[k] for k in ("keying", "k_flag", "payload_protection", "nemo", "handovers",
                                               "delay_ms", "loss_percent", "rate_pps")},
        "checks": checks,
        "handovers": handovers,
        "ike": ike_report,
        "kernel": kernel(t),
        "observer": observer(t),
        "stream": {"from": "sensor", "to": "correspondent", "rate_pps": rate, "sent": sent, "received": received,
                   "lost": sent - received,
                   "trace": [[round((a - origin) / 1000.0, 4), s] for a, s in points]},
        "timeline": lines,
    }
    ok = (exit_code == "0" and checks and all(c["ok"] for c in checks) and handovers
          and all(h["completed"] for h in handovers) and report["kernel"]["equal"]
          and report["observer"]["clear_mobility_headers"] == 0
          and (not settings["payload_protection"] or report["observer"]["plaintext_bytes"] == 0)
          # RFC 4877 sec. 4.4: with K the IKE SA follows; a second IKE_SA_INIT is a failure.
          and (not (settings["keying"] == "dynamic" and settings["k_flag"]) or
               (ike_report or {}).get("ike_sa_init_total") == 1))
    report["result"] = "pass" if ok else "fail"
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
