#!/usr/bin/python3
# The testbed's assertions on a real report.json, written by the runner.
#   check_report.py REPORT.json
# One line per check, "ok NAME" or "FAIL NAME: detail"; exit 1 when any
# failed, 2 with one sentence on stderr when the file is not a report.
# An unknown (null or missing) value fails the check that needs it: a report
# that cannot show the property does not prove it.
import os, sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import BadReport, NODES, get, items, load_report, num  # noqa: E402


def checks(r):
    """(name, ok, detail) for each assertion, in the order they are printed."""
    out = []

    def check(name, ok, detail=""):
        out.append((name, bool(ok), detail))

    res = get(r, "result")
    check("result is pass", res == "pass", f"result is {res!r}")

    s = get(r, "settings")
    ob = get(r, "observer")
    if get(s, "payload_protection") is True:
        pt = num(get(ob, "plaintext_bytes"))
        check("no plaintext payload on the wire", pt == 0,
              "plaintext_bytes unknown" if pt is None else f"{pt} plaintext bytes seen by the observer")
    elif get(s, "payload_protection") is None:
        check("no plaintext payload on the wire", False, "settings.payload_protection unknown")
    else:
        out.append(("no plaintext payload on the wire (not asked: payload protection off)", True, ""))
    mh = num(get(ob, "clear_mobility_headers"))
    check("no Mobility Header in clear", mh == 0,
          "clear_mobility_headers unknown" if mh is None else f"{mh} clear Mobility Headers seen")

    eq = get(r, "kernel", "equal")
    check("kernel state equal before and after (runner)", eq is True, f"kernel.equal is {eq!r}")
    for node, name in NODES:
        b, a = get(r, "kernel", node, "before"), get(r, "kernel", node, "after")
        diffs = []
        for k in ("sas", "policies"):
            vb, va = num(get(b, k)), num(get(a, k))
            if vb is None or va is None:
                diffs.append(f"{k} unknown (before {vb}, after {va})")
            elif vb != va:
                diffs.append(f"{va - vb:+} {k} (before {vb}, after {va})")
        check(f"{name}: no SA or policy leaked", not diffs, ", ".join(diffs))

    hs = items(r, "handovers")
    check("at least one handover", hs, "no handover in the report")
    if hs:
        bad = [f"H{h.get('index')}" for h in hs if h.get("completed") is not True]
        check("every handover completed", not bad, "not completed: " + " ".join(bad))

    if get(s, "keying") == "dynamic" and get(s, "k_flag") is True:
        n = num(get(r, "ike", "ike_sa_init_total"))
        check("one IKE_SA_INIT in all (K flag set)", n == 1,
              "ike.ike_sa_init_total unknown" if n is None else f"{n} IKE_SA_INIT exchanges")

    rx = num(get(r, "stream", "received"))
    check("stream packets received", rx is not None and rx > 0, f"stream.received is {rx}")
    tr = get(r, "stream", "trace")
    check("stream trace non-empty", isinstance(tr, list) and tr, "stream.trace is empty or missing")
    return out


def main(argv):
    if len(argv) != 1:
        print("usage: check_report.py REPORT.json", file=sys.stderr)
        return 2
    try:
        r = load_report(argv[0])
    except BadReport as e:
        print(e, file=sys.stderr)
        return 2
    failed = 0
    for name, ok, detail in checks(r):
        if ok:
            print(f"ok {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
