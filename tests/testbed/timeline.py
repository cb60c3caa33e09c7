#!/usr/bin/env python3
"""The testbed's live timeline: subscribes to the event streams of the
daemons (mobilityd's control socket, ikebridged's channel; both answer
`events-subscribe` and then send one JSON event per line, stamped with
CLOCK_MONOTONIC in "monotonic-ms"), prints one line per event as it
happens and appends every event, tagged with its source, to a JSONL file.

timeline.py EVENTS.jsonl NAME=SOCKET...

A socket that does not exist yet is tried again until it does (the daemons
start after this process); one that closes is tried again too (a daemon
restarted). SIGTERM ends it.
"""
import json
import os
import select
import signal
import socket
import sys
import time

NODES = {"mr": "mobile router", "ha": "home agent", "ikemr": "mobile router", "ikeha": "home agent"}
origin_ms = time.monotonic() * 1000.0


def say(at_ms, node, event, detail=""):
    print(f"  {(at_ms - origin_ms) / 1000.0:+9.3f} s  {node:<13}  {event:<34} {detail}".rstrip(), flush=True)


def lines_of(source, e):
    """(monotonic ms, event, detail) for the printed timeline."""
    at = float(e.get("monotonic-ms", time.monotonic() * 1000.0))
    kind = e.get("kind") or e.get("event") or "?"
    if kind == "movement":
        return [(at, "movement detected", f"{e.get('reason', '')}: to {e.get('care-of-address') or '-'} "
                                          f"on {e.get('interface') or '-'} ({e.get('decision', '')})")]
    if kind == "handover":
        t0 = float(e.get("detected-monotonic-ms", at))
        out = []
        for key, what in (("migrate-done-ms", "MIGRATE done (SAs, policies moved)"),
                          ("bu-sent-ms", "BU sent"), ("ba-received-ms", "BA received"),
                          ("first-packet-ms", "first packet on the new path")):
            v = e.get(key, -1)
            if isinstance(v, (int, float)) and v >= 0:
                out.append((t0 + v, what, f"{e.get('from') or '-'} -> {e.get('to')}"))
        return out
    if kind == "registered":
        return [(at, "binding registered" if source == "mr" else "BU accepted, BA sent", e.get("home-address", ""))]
    if kind == "deregistered":
        return [(at, "deregistered", e.get("home-address", ""))]
    if kind == "waiting-for-sas":
        return [(at, "BU waits for the IPsec SAs", e.get("home-address", ""))]
    if kind == "ike-endpoints-moved":
        return [(at, "IKE SA endpoints moved", f"{e.get('local')} <-> {e.get('remote')}")]
    if kind in ("sas-ready", "sas-down"):
        return [(at, "IPsec SAs ready" if kind == "sas-ready" else "IPsec SAs down",
                 f"{e.get('home-address', '')} {e.get('peer-id', '')}".strip())]
    if kind == "authorization-refused":
        return [(at, "IKE authorisation refused", e.get("reason", ""))]
    return [(at, kind, "")]


def main():
    out = open(sys.argv[1], "a")
    wanted = dict(a.split("=", 1) for a in sys.argv[2:])
    conns = {}      # name -> socket
    buffers = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        for name, path in wanted.items():
            if name in conns or not os.path.exists(path):
                continue
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.sendall(b'{"command": "events-subscribe"}\n')
            except OSError:
                s.close()
                continue
            conns[name], buffers[name] = s, b""
        try:
            ready, _, _ = select.select(list(conns.values()), [], [], 0.1)
        except InterruptedError:
            continue
        for name, s in list(conns.items()):
            if s not in ready:
                continue
            data = s.recv(65536)
            if not data:
                s.close()
                del conns[name]
                continue
            buffers[name] += data
            while b"\n" in buffers[name]:
                line, buffers[name] = buffers[name].split(b"\n", 1)
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if "result" in e and "kind" not in e and "event" not in e:
                    continue   # the answer to events-subscribe
                out.write(json.dumps({"source": name, "event": e}) + "\n")
                out.flush()
                for at, what, detail in lines_of(name, e):
                    say(at, NODES.get(name, name), what, detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
