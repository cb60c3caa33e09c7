#!/usr/bin/python3
# Proves the testbed's HTML report renders in a browser, not just that it
# exists: headless Chromium loads REPORT_DIR/report.html twice, once for the
# live DOM (--dump-dom) and once for a screenshot (kept as
# REPORT_DIR/screenshot.png), then
#   - the DOM has img#plot holding a decodable data: PNG, table#handovers with
#     one body row per handover of report.json, table#timeline likewise;
#   - the screenshot shows, in pixels, the plot area, the stream trace and the
#     handover lines inside it, and the handover table's header above it.
# The colours looked for are ones report.py uses for that one thing only.
#   check_html.py [--report REPORT.json] REPORT_DIR
# REPORT.json defaults to REPORT_DIR/report.json. Prints "ok ..." / "FAIL ..."
# lines, exit 1 on any failure, 2 with one sentence when Chromium or an input
# is missing. About 2-5 s here; Chromium's dbus errors on stderr are expected
# in a container without a session bus and are dropped.
import base64, io, os, shutil, signal, subprocess, sys, tempfile
from html.parser import HTMLParser

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report as rp  # noqa: E402

from PIL import Image, ImageChops  # noqa: E402

TIMEOUT_S = 120
TOLERANCE = 12          # per channel, for antialiased edges and rounding
WIDTH = 1280


class Fail(Exception):
    pass


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary, args, url):
    """Runs one headless Chromium with a private profile; returns stdout."""
    with tempfile.TemporaryDirectory(prefix="nk-chromium-") as profile:
        cmd = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", "--mute-audio", "--disable-dev-shm-usage",
               "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args, url]
        # Own session so a hung browser and all its helper processes can be
        # killed together on timeout.
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise Fail(f"chromium did not finish within {TIMEOUT_S} s")
        if p.returncode != 0:
            lines = [l for l in err.decode(errors="replace").splitlines()
                     if "dbus" not in l and l.strip()]
            raise Fail(f"chromium exited {p.returncode}: " + " | ".join(lines[-3:]))
        return out.decode(errors="replace")


class Dom(HTMLParser):
    """The few facts of the live DOM the checks need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.plot_src = None
        self.rows = {}          # table id -> body rows (a "none" placeholder excluded)
        self.heads = {}         # table id -> header cells
        self._table = None
        self._section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("id") == "plot":
            self.plot_src = a.get("src") or ""
        elif tag == "table":
            self._table = a.get("id")
            if self._table:
                self.rows.setdefault(self._table, 0)
                self.heads.setdefault(self._table, 0)
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._table and self._section == "tbody":
            self.rows[self._table] += 1
        elif tag == "th" and self._table and self._section == "thead":
            self.heads[self._table] += 1
        elif tag == "td" and self._table and self._section == "tbody" and "none" in (a.get("class") or ""):
            self.rows[self._table] -= 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("thead", "tbody"):
            self._section = None


def colour_mask(img, hex_colour, tolerance=TOLERANCE):
    """A mask (255/0) of the pixels within tolerance of hex_colour, and its count."""
    target = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    bands = [band.point(lambda v, c=c: 255 if abs(v - c) <= tolerance else 0)
             for band, c in zip(img.split(), target)]
    mask = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])
    return mask, mask.histogram()[255]


def solid_box(mask, min_per_line):
    """Bounding box of the rows and columns holding at least min_per_line mask
    pixels, so a few stray antialiased pixels elsewhere do not stretch it."""
    w, h = mask.size
    rows = list(mask.resize((1, h), Image.BOX).getdata())   # mean per row, 0..255
    cols = list(mask.resize((w, 1), Image.BOX).getdata())
    ys = [y for y, v in enumerate(rows) if v * w / 255 >= min_per_line]
    xs = [x for x, v in enumerate(cols) if v * h / 255 >= min_per_line]
    return (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1) if xs and ys else None


def inside(box, outer, slack=4):
    return (box[0] >= outer[0] - slack and box[1] >= outer[1] - slack
            and box[2] <= outer[2] + slack and box[3] <= outer[3] + slack)


def main(argv):
    report_path = None
    if len(argv) >= 2 and argv[0] == "--report":
        report_path, argv = argv[1], argv[2:]
    if len(argv) != 1:
        print("usage: check_html.py [--report REPORT.json] REPORT_DIR", file=sys.stderr)
        return 2
    outdir = os.path.abspath(argv[0])
    page = os.path.join(outdir, "report.html")
    if not os.path.isfile(page):
        print(f"{page}: no such file, render it first with report.py.", file=sys.stderr)
        return 2
    try:
        r = rp.load_report(report_path or os.path.join(outdir, "report.json"))
    except rp.BadReport as e:
        print(f"{e} (check_html.py needs the report the page was rendered from; --report PATH)",
              file=sys.stderr)
        return 2
    binary = chromium_binary()
    if not binary:
        print("chromium is not installed (apt-get install chromium), the page cannot be checked.",
              file=sys.stderr)
        return 2

    handovers = rp.items(r, "handovers")
    timeline = rp.items(r, "timeline")
    failures = 0

    def result(ok, text):
        nonlocal failures
        print(("ok " if ok else "FAIL ") + text)
        failures += 0 if ok else 1
        return ok

    url = "file://" + page
    # --- the live DOM
    try:
        dom_text = run_chromium(binary, ["--dump-dom"], url)
    except Fail as e:
        result(False, f"DOM: {e}")
        dom_text = ""
    dom = Dom()
    dom.feed(dom_text)
    src = dom.plot_src
    prefix = "data:image/png;base64,"
    if result(src is not None and src.startswith(prefix), "DOM: img#plot has a data:image/png URI"):
        try:
            with Image.open(io.BytesIO(base64.b64decode(src[len(prefix):], validate=True))) as im:
                im.load()
                result(True, f"DOM: the plot's PNG decodes ({im.width}x{im.height})")
        except Exception as e:  # any decoder error means a broken image
            result(False, f"DOM: the plot's PNG does not decode ({type(e).__name__})")
    n = dom.rows.get("handovers")
    result(n == len(handovers), f"DOM: table#handovers has {n} body rows, report.json {len(handovers)} handovers")
    result(dom.heads.get("handovers") == 10, f"DOM: table#handovers has {dom.heads.get('handovers')} "
                                             "header cells (10 expected)")
    n = dom.rows.get("timeline")
    result(n == len(timeline), f"DOM: table#timeline has {n} body rows, report.json {len(timeline)} events")

    # --- the screenshot
    # Tall enough for the summary, every handover row and the plot (the
    # content checked); the timeline below may be cut off.
    height = min(16000, 1800 + 45 * len(handovers) + int(rp.PLOT_SIZE_IN[1] * rp.PLOT_DPI))
    shot = os.path.join(outdir, "screenshot.png")
    if os.path.exists(shot):
        os.unlink(shot)
    try:
        run_chromium(binary, [f"--window-size={WIDTH},{height}", f"--screenshot={shot}"], url)
        img = Image.open(shot).convert("RGB")
    except (Fail, OSError) as e:
        result(False, f"screenshot: {e}")
        return 1
    print(f"screenshot {shot} ({img.width}x{img.height})")

    # The plot's face is a flat light colour: exact match, as antialiased
    # greys of text come within a loose tolerance of it.
    face, n_face = colour_mask(img, rp.PLOT_FACE_COLOUR, tolerance=2)
    face_box = solid_box(face, 100)
    # The overview axes alone are about 1000x330 px.
    plot_ok = result(n_face > 100000 and face_box and face_box[2] - face_box[0] > 800,
                     f"screenshot: plot area drawn ({n_face} px of {rp.PLOT_FACE_COLOUR}, box {face_box})")
    if rp.trace_points(r):
        m, n_tr = colour_mask(img, rp.TRACE_COLOUR)
        box = m.getbbox()
        result(n_tr > 500 and box and box[2] - box[0] > 300 and box[3] - box[1] > 100
               and plot_ok and inside(box, face_box),
               f"screenshot: stream trace drawn inside the plot area ({n_tr} px of {rp.TRACE_COLOUR}, box {box})")
    if any(rp.num(h.get("detected_s")) is not None for h in handovers):
        m, n_ho = colour_mask(img, rp.HANDOVER_COLOUR)
        box = m.getbbox()
        result(n_ho > 150 and box and plot_ok and inside(box, face_box),
               f"screenshot: handover lines drawn inside the plot area ({n_ho} px of {rp.HANDOVER_COLOUR}, "
               f"box {box})")
    m, n_hd = colour_mask(img, rp.HANDOVER_HEADER_COLOUR)
    box = m.getbbox()
    result(n_hd > 5000 and box and box[2] - box[0] > 500 and (not plot_ok or box[3] < face_box[1]),
           f"screenshot: handover table header drawn above the plot ({n_hd} px of "
           f"{rp.HANDOVER_HEADER_COLOUR}, box {box})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
