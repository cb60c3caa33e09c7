#!/usr/bin/python3
# Self-test of the testbed report renderer and checker (no VM, no browser):
#   python3 tests/testbed/test_report.py
# Renders small synthetic reports in a temporary directory and checks the
# HTML escapes hostile strings, "ike": null and null numbers render, a file
# that is not a report is refused with exit 2 and one sentence, and
# check_report.py fails on plaintext on the wire and on a leaked policy.
# The scripts run as programs through their #!/usr/bin/python3 line, so the
# Debian interpreter with python3-matplotlib draws the plot even when the
# python3 running this test is another one (pyenv, venv).
import copy, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT, CHECK = os.path.join(HERE, "report.py"), os.path.join(HERE, "check_report.py")
HOSTILE = "<script>alert(1)</script>"
DASH = "\u2014"

failures = []


def expect(ok, what):
    print(("ok " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def synthetic():
    """Two handovers at 100 packets/s, a few packets lost around each."""
    lost = set(range(305, 311)) | set(range(702, 707))
    trace = [[round(i / 100.0, 3), i] for i in range(1000) if i not in lost]
    handover = {"index": 1, "kind": "handover", "from_link": "access link 1", "to_link": "access link 2",
                "from": "2001:db8:a1::100", "to": "2001:db8:a2::100", "reason": "carrier-lost",
                "detected_s": 3.04, "decided_ms": 0, "migrate_done_ms": 3, "bu_sent_ms": 4,
                "ba_received_ms": 40, "first_packet_ms": 61, "disruption_ms": 60.5, "lost_packets": 6,
                "completed": True}
    home = dict(handover, index=2, kind="return-home", from_link="access link 2", to_link="home link",
                detected_s=7.01, ba_received_ms=None, disruption_ms=None)
    zero = {"sas": 0, "policies": 0}
    node = {"before": zero, "registered": {"sas": 6, "policies": 12}, "after": dict(zero)}
    return {
        "nemokey_testbed_report": 1, "started": "2026-12-07T15:30:00Z", "duration_s": 12.5,
        "environment": {"kernel": "6.1.0-57-amd64", "where": "kernel VM (qemu, TCG)"},
        "settings": {"keying": "dynamic", "k_flag": True, "payload_protection": True, "nemo": "explicit",
                     "handovers": 2, "delay_ms": 0, "loss_percent": 0.0, "rate_pps": 100},
        "result": "pass",
        "checks": [{"name": "registered from access link 1", "ok": True, "detail": ""}],
        "handovers": [handover, home],
        "ike": {"mobile_router": {"ike-sa-init": 1, "ike-auth": 1, "create-child-sa": 2, "informational": 1},
                "home_agent": {"ike-sa-init": 1, "ike-auth": 1, "create-child-sa": 2, "informational": 1},
                "ike_sa_init_total": 1, "ike_sa_init_per_handover": 0.0},
        "kernel": {"home_agent": copy.deepcopy(node), "mobile_router": copy.deepcopy(node), "equal": True},
        "observer": {"frames": 2000, "esp_frames": 1990, "plaintext_bytes": 0, "clear_mobility_headers": 0},
        "stream": {"from": "sensor", "to": "correspondent", "rate_pps": 100, "sent": 1000,
                   "received": len(trace), "lost": 1000 - len(trace), "trace": trace},
        "timeline": [{"t_s": 3.04, "node": "mobile router", "event": "movement detected",
                      "detail": "carrier lost"},
                     {"t_s": 9.0, "node": "testbed", "event": "note", "detail": HOSTILE}],
    }


def write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f) if not isinstance(obj, str) else f.write(obj)
    return path


def read(path, mode="r"):
    """A file's content, empty when it was not written (the check then fails)."""
    try:
        with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def main():
    with tempfile.TemporaryDirectory(prefix="nk-report-test-") as tmp:
        good = write(os.path.join(tmp, "good.json"), synthetic())

        # A full report renders, and its plot is a PNG embedded in the page.
        out = os.path.join(tmp, "good")
        rc, _, err = run(REPORT, good, out)
        expect(rc == 0, f"report.py renders a good report (exit {rc} {err.strip()})")
        page = read(os.path.join(out, "report.html"))
        expect(read(os.path.join(out, "plot.png"), "rb")[:8] == b"\x89PNG\r\n\x1a\n", "plot.png is a PNG")
        expect('id="plot"' in page and 'src="data:image/png;base64,' in page, "the plot is a data: URI")
        expect("<script" not in page, "no <script> element in the page")
        expect("&lt;script&gt;alert(1)&lt;/script&gt;" in page, "a hostile timeline detail is escaped")
        order = [page.find(s) for s in ('id="result"', 'id="handovers"', 'id="plot"', 'id="ike"',
                                        'id="kernel"', 'id="observer"', 'id="checks"', 'id="timeline"')]
        expect(-1 not in order and order == sorted(order), f"sections in order ({order})")
        expect(page.count("<tr>", page.find('id="handovers"'), page.find('id="plot"')) == 3,
               "handover table: a header row and one row per handover")
        expect(DASH in page.split('id="handovers"')[1].split("</table>")[0],
               "a null in a handover renders as \u2014")

        # The text report carries the same facts.
        rc, text, _ = run(REPORT, "--text", good)
        expect(rc == 0 and "result: PASS" in text and "disruption 60.5 ms, lost 6 packets" in text
               and f"disruption {DASH} ms" in text and "IKE_SA_INIT total 1" in text
               and "plaintext bytes 0" in text and "after 0 SAs / 0 policies" in text,
               "--text report has result, handovers, IKE, kernel state, observer")

        # Static keying ("ike": null) and a sparse report with nulls render.
        sparse = synthetic()
        sparse.update(ike=None, duration_s=None, result=None, observer=None, kernel=None, timeline=None)
        sparse["settings"]["keying"] = "static"
        sparse["stream"]["trace"] = []
        sparse_path = write(os.path.join(tmp, "sparse.json"), sparse)
        rc, _, err = run(REPORT, sparse_path, os.path.join(tmp, "sparse"))
        page = read(os.path.join(tmp, "sparse", "report.html"))
        expect(rc == 0, f"a report with ike null and null sections renders (exit {rc} {err.strip()})")
        expect("static keying: no IKE" in page, '"ike": null renders as static keying')
        expect(f"<td>{DASH} s</td>" in page, "a null duration renders as \u2014")
        rc, text, err = run(REPORT, "--text", sparse_path)
        expect(rc == 0 and "static keying: no IKE" in text, f"--text renders ike null (exit {rc} {err.strip()})")
        minimal = write(os.path.join(tmp, "minimal.json"), {"nemokey_testbed_report": 1})
        rc, _, err = run(REPORT, minimal, os.path.join(tmp, "minimal"))
        expect(rc == 0, f"a report with nothing but the marker renders (exit {rc} {err.strip()})")

        # Files that are not reports: exit 2, one sentence, no traceback.
        for name, content in [("array", "[1, 2]"), ("broken", "{\"nemokey"), ("other", '{"a": 1}'),
                              ("version", '{"nemokey_testbed_report": 7}')]:
            path = write(os.path.join(tmp, name + ".json"), content)
            for args in ([REPORT, path, os.path.join(tmp, "x")], [REPORT, "--text", path], [CHECK, path]):
                rc, _, err = run(*args)
                lines = err.strip().splitlines()
                how = " ".join([os.path.basename(args[0])] + (["--text"] if "--text" in args else []))
                expect(rc == 2 and len(lines) == 1 and "Traceback" not in err,
                       f"{how} on {name}.json: exit 2, one line ({rc}: {err.strip()})")
        rc, _, err = run(REPORT, "--text", os.path.join(tmp, "missing.json"))
        expect(rc == 2 and "no such file" in err, f"a missing file: exit 2 ({rc}: {err.strip()})")

        # check_report.py: passes the good report, fails a leak of each kind.
        rc, out_text, _ = run(CHECK, good)
        expect(rc == 0 and "FAIL" not in out_text, f"check_report.py passes the good report (exit {rc})")
        leaky = synthetic()
        leaky["observer"]["plaintext_bytes"] = 42
        rc, out_text, _ = run(CHECK, write(os.path.join(tmp, "plaintext.json"), leaky))
        expect(rc == 1 and "FAIL no plaintext payload on the wire: 42" in out_text,
               "check_report.py fails on plaintext bytes on the wire")
        leaky = synthetic()
        leaky["kernel"]["home_agent"]["after"]["policies"] = 1
        rc, out_text, _ = run(CHECK, write(os.path.join(tmp, "leak.json"), leaky))
        expect(rc == 1 and "FAIL home agent: no SA or policy leaked: +1 policies" in out_text,
               "check_report.py fails on a leaked policy")
        leaky = synthetic()
        leaky["handovers"][1]["completed"] = False
        leaky["ike"]["ike_sa_init_total"] = 3
        rc, out_text, _ = run(CHECK, write(os.path.join(tmp, "incomplete.json"), leaky))
        expect(rc == 1 and "FAIL every handover completed: not completed: H2" in out_text
               and "FAIL one IKE_SA_INIT in all (K flag set): 3" in out_text,
               "check_report.py fails on an incomplete handover and on IKE re-establishment")

    print(f"FAILED: {len(failures)} checks" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
