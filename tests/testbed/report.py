#!/usr/bin/python3
# Renders the testbed's report.json (written by the runner) for people.
#   report.py REPORT.json OUTDIR   writes OUTDIR/plot.png and OUTDIR/report.html
#   report.py --text REPORT.json   prints the plain-text report to stdout
# Exit 0 on success, 2 with one sentence on stderr when REPORT.json is missing
# or is not a nemokey testbed report.
# The HTML page is self-contained (the plot is a data: URI, CSS inline, no
# script), so it can be mailed or attached to a CI run on its own.
# Every field but the schema marker is optional and may be null: a missing
# value renders as "—" rather than failing, since a report of a run that broke
# halfway is exactly the one people need to read.
import base64, html, json, math, os, sys

SCHEMA_KEY, SCHEMA_VERSION = "nemokey_testbed_report", 1
DASH = "\u2014"

# Colours check_html.py looks for in the screenshot: each is used once, for one
# thing only (trace, handover lines, plot area, handover table header), so
# finding enough pixels of it proves that thing was drawn.
TRACE_COLOUR = "#1b9e77"
HANDOVER_COLOUR = "#d95f02"
PLOT_FACE_COLOUR = "#f3eefb"
HANDOVER_HEADER_COLOUR = "#5b2a86"
# Fixed pixel size, shown unscaled in the page (max-width of the body is
# larger), so colours in the screenshot are not resampled.
PLOT_SIZE_IN, PLOT_DPI = (11.0, 7.0), 100
ZOOM_PANELS = 6          # close-ups under the overview, at most

IKE_EXCHANGES = ["ike-sa-init", "ike-auth", "create-child-sa", "informational"]
NODES = [("home_agent", "home agent"), ("mobile_router", "mobile router")]
KERNEL_STAGES = ["before", "registered", "after"]


class BadReport(Exception):
    """The file is not a readable nemokey testbed report (message: one sentence)."""


def load_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BadReport(f"{path}: no such file.")
    except (OSError, UnicodeDecodeError) as e:
        raise BadReport(f"{path}: cannot be read ({e}).")
    except json.JSONDecodeError as e:
        raise BadReport(f"{path}: is not JSON ({e.msg}: line {e.lineno} column {e.colno}).")
    if not isinstance(data, dict) or SCHEMA_KEY not in data:
        raise BadReport(f"{path}: is not a nemokey testbed report (no \"{SCHEMA_KEY}\" key).")
    if data[SCHEMA_KEY] != SCHEMA_VERSION:
        raise BadReport(f"{path}: is a nemokey testbed report of version {data[SCHEMA_KEY]!r}, "
                        f"this renderer reads version {SCHEMA_VERSION}.")
    return data


def get(d, *keys):
    """d[k1][k2]..., or None when any level is missing or not an object."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def items(d, *keys):
    """A list field's entries that are objects; anything else reads as empty."""
    v = get(d, *keys)
    return [e for e in v if isinstance(e, dict)] if isinstance(v, list) else []


def num(v):
    """A number or None (bools and strings are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def fmt(v, digits=1):
    """A value as text: "—" for null/missing, trimmed floats, yes/no for bools."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return DASH
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"
    return str(v)


def onoff(v):
    return DASH if v is None else ("on" if v else "off") if isinstance(v, bool) else str(v)


def handover_label(h, plot=False):
    """H<index>; on the plot a return home is labelled "home" instead."""
    if plot and h.get("kind") == "return-home":
        return "home"
    return f"H{fmt(h.get('index'))}"


def home_note(h):
    return " (return home)" if h.get("kind") == "return-home" else ""


def settings_text(r):
    s = get(r, "settings") or {}
    return (f"keying {fmt(get(s, 'keying'))}, K flag {onoff(get(s, 'k_flag'))}, "
            f"payload protection {onoff(get(s, 'payload_protection'))}, NEMO {fmt(get(s, 'nemo'))}, "
            f"{fmt(get(s, 'handovers'))} handovers, delay {fmt(get(s, 'delay_ms'))} ms, "
            f"loss {fmt(get(s, 'loss_percent'), 2)} %, rate {fmt(get(s, 'rate_pps'))} pps")


def sas_pols(r, node, stage):
    st = get(r, "kernel", node, stage)
    return f"{fmt(get(st, 'sas'))} SAs / {fmt(get(st, 'policies'))} policies"


def result_word(r):
    res = get(r, "result")
    return res.upper() if isinstance(res, str) else DASH


# ---------------------------------------------------------------- plain text

def text_report(r):
    out = []
    env = get(r, "environment")
    out.append(f"nemokey testbed report: started {fmt(get(r, 'started'))}, "
               f"{fmt(num(get(r, 'duration_s')))} s, {fmt(get(env, 'where'))}, "
               f"kernel {fmt(get(env, 'kernel'))}")
    out.append("settings: " + settings_text(r))
    st = get(r, "stream")
    out.append(f"stream {fmt(get(st, 'from'))} -> {fmt(get(st, 'to'))}: "
               f"sent {fmt(num(get(st, 'sent')))}, received {fmt(num(get(st, 'received')))}, "
               f"lost {fmt(num(get(st, 'lost')))}")
    hs = items(r, "handovers")
    out.append(f"handovers: {len(hs)}")
    for h in hs:
        done = get(h, "completed")
        out.append(f"  {handover_label(h)} {fmt(h.get('from_link'))} -> {fmt(h.get('to_link'))}"
                   f"{home_note(h)} ({fmt(h.get('reason'))}) at {fmt(num(h.get('detected_s')), 3)} s: "
                   f"disruption {fmt(num(h.get('disruption_ms')))} ms, "
                   f"lost {fmt(num(h.get('lost_packets')))} packets, "
                   f"{'completed' if done is True else 'NOT completed' if done is False else 'completion unknown'}")
    ike = get(r, "ike")
    if not isinstance(ike, dict):
        out.append("IKE: static keying: no IKE")
    else:
        for node, name in NODES:
            ex = get(ike, node)
            parts = [f"{k} {fmt(num(get(ex, k)))}" for k in ike_keys(ike)]
            out.append(f"IKE exchanges, {name}: " + ", ".join(parts))
        out.append(f"IKE_SA_INIT total {fmt(num(get(ike, 'ike_sa_init_total')))}, "
                   f"per handover {fmt(num(get(ike, 'ike_sa_init_per_handover')), 2)}")
    for node, name in NODES:
        out.append(f"kernel, {name}: before {sas_pols(r, node, 'before')}, "
                   f"registered {sas_pols(r, node, 'registered')}, after {sas_pols(r, node, 'after')}")
    out.append(f"kernel state after == before: {fmt(get(r, 'kernel', 'equal'))}")
    ob = get(r, "observer")
    out.append(f"observer: {fmt(num(get(ob, 'frames')))} frames, {fmt(num(get(ob, 'esp_frames')))} ESP, "
               f"plaintext bytes {fmt(num(get(ob, 'plaintext_bytes')))}, "
               f"clear Mobility Headers {fmt(num(get(ob, 'clear_mobility_headers')))}")
    checks = items(r, "checks")
    failed = [c for c in checks if c.get("ok") is not True]
    out.append(f"checks: {len(checks) - len(failed)}/{len(checks)} ok")
    for c in failed:
        detail = c.get("detail")
        out.append(f"  FAIL {fmt(c.get('name'))}" + (f": {detail}" if detail else ""))
    out.append(f"result: {result_word(r)}")
    return "\n".join(out) + "\n"


def ike_keys(ike):
    """The four exchanges in protocol order, then any other the runner counted."""
    extra = set()
    for node, _ in NODES:
        ex = get(ike, node)
        if isinstance(ex, dict):
            extra |= {k for k in ex if k not in IKE_EXCHANGES}
    return IKE_EXCHANGES + sorted(extra)


# ---------------------------------------------------------------- plot

def trace_points(r):
    """The stream trace as sorted (t, seq) pairs, malformed entries dropped."""
    pts = []
    for p in get(r, "stream", "trace") or []:
        if isinstance(p, (list, tuple)) and len(p) >= 2:
            t, s = num(p[0]), num(p[1])
            if t is not None and s is not None:
                pts.append((t, s))
    pts.sort()
    return pts


def broken_line(pts, rate):
    """x, y lists with NaN breaks where a sequence number is missing or the
    arrivals pause, so lost packets and outages show as gaps instead of being
    bridged by a straight segment."""
    max_gap = 3.0 / rate if rate else None
    xs, ys, prev = [], [], None
    for t, s in pts:
        if prev is not None and (s != prev[1] + 1 or (max_gap and t - prev[0] > max_gap)):
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(t)
        ys.append(s)
        prev = (t, s)
    return xs, ys


def zoomed(hs, limit=ZOOM_PANELS):
    """The handovers that get a close-up: all when few, else the worst ones
    (longest disruption), shown in time order."""
    hs = [h for h in hs if num(h.get("detected_s")) is not None]
    if len(hs) > limit:
        hs = sorted(hs, key=lambda h: -(num(h.get("disruption_ms")) or 0))[:limit]
    return sorted(hs, key=lambda h: h["detected_s"])


def write_plot(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = trace_points(r)
    hs = items(r, "handovers")
    rate = num(get(r, "stream", "rate_pps")) or num(get(r, "settings", "rate_pps"))
    zs = zoomed(hs) if pts else []
    # The overview shows where handovers fall; at a minute's scale a 50 ms
    # outage is under a pixel, so each handover also gets a close-up below
    # where the missing packets are visible one by one.
    fig = plt.figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    grid = fig.add_gridspec(2 if zs else 1, max(len(zs), 1), height_ratios=[1.5, 1] if zs else None)
    ax = fig.add_subplot(grid[0, :])
    line = dict(color=TRACE_COLOUR, linewidth=1.2, marker="o", markeredgewidth=0, zorder=3)
    ax.set_facecolor(PLOT_FACE_COLOUR)
    if pts:
        ax.plot(*broken_line(pts, rate), markersize=2.5, **line)
    else:
        ax.text(0.5, 0.5, "no packets in the stream trace", transform=ax.transAxes,
                ha="center", va="center", fontsize=12)
    ymax = max((s for _, s in pts), default=1)
    times = [t for t in (num(h.get("detected_s")) for h in hs) if t is not None]
    span = max([t for t, _ in pts[-1:]] + times, default=1) - min([t for t, _ in pts[:1]] + times, default=0)
    last_label = None
    for h in hs:
        t = num(h.get("detected_s"))
        if t is None:
            continue
        ax.axvline(t, color=HANDOVER_COLOUR, linewidth=1.5, zorder=2)
        # Labels closer than about 30 px would print over each other.
        if last_label is not None and t - last_label < span / 35:
            continue
        last_label = t
        ax.annotate(handover_label(h, plot=True), xy=(t, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                    fontsize=9, color="#222222", fontweight="bold")
    st = get(r, "stream")
    ax.set_title(f"Stream {fmt(get(st, 'from'))} \u2192 {fmt(get(st, 'to'))}: sequence number "
                 f"over time, {len(hs)} handovers ({result_word(r)})", fontsize=11)
    ax.set_xlabel("arrival time since the stream started (s)")
    ax.set_ylabel("sequence number")
    ax.set_ylim(bottom=0, top=ymax * 1.05 + 1)
    ax.grid(True, color="#d0d0d0", linewidth=0.5, zorder=0)

    for i, h in enumerate(zs):
        zx = fig.add_subplot(grid[1, i])
        zx.set_facecolor(PLOT_FACE_COLOUR)
        t0 = h["detected_s"]
        d = num(h.get("disruption_ms"))
        before, after = 0.25, max(0.5, 1.5 * (d or 0) / 1000.0 + 0.25)
        window = [(1000.0 * (t - t0), s) for t, s in pts if t0 - before <= t <= t0 + after]
        if window:
            # Sequence numbers stay absolute; times become ms after detection,
            # the unit of the handover table.
            xs, ys = broken_line([(t / 1000.0, s) for t, s in window], rate)
            zx.plot([x * 1000.0 for x in xs], ys, markersize=3.5, **line)
        zx.axvline(0, color=HANDOVER_COLOUR, linewidth=1.5, zorder=2)
        if d:
            # The measured outage, lighter than the line so the line stays exact.
            zx.axvspan(0, d, color=HANDOVER_COLOUR, alpha=0.15, linewidth=0, zorder=1)
        zx.set_xlim(-1000.0 * before, 1000.0 * after)
        zx.set_title(f"{handover_label(h, plot=True)}: {fmt(d)} ms, {fmt(num(h.get('lost_packets')))} lost",
                     fontsize=9)
        zx.tick_params(labelsize=7)
        zx.yaxis.get_major_formatter().set_useOffset(False)
        zx.locator_params(axis="both", nbins=4)
        zx.grid(True, color="#d0d0d0", linewidth=0.5, zorder=0)
        if i == 0:
            zx.set_ylabel("sequence number", fontsize=8)
        zx.set_xlabel("ms after detection", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=PLOT_DPI)
    plt.close(fig)


# ---------------------------------------------------------------- HTML

def e(v, digits=1):
    """Escaped text of any JSON value (strings from the JSON are untrusted)."""
    return html.escape(fmt(v, digits), quote=True)


def row(cells, tag="td"):
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def table(headers, rows, attrs=""):
    body = "\n".join(rows) if rows else \
        f'<tr><td colspan="{len(headers)}" class="none">none</td></tr>'
    return (f"<table{attrs}>\n<thead>{row([html.escape(h) for h in headers], 'th')}</thead>\n"
            f"<tbody>\n{body}\n</tbody>\n</table>")


def kv_table(pairs, attrs=""):
    """Two columns, the name as a row header; values are already escaped."""
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"{attrs}>\n<tbody>\n{rows}\n</tbody>\n</table>'


def num_row(first, values):
    """A row of a text cell then right-aligned numbers (values already escaped)."""
    return f"<tr><td>{first}</td>" + "".join(f'<td class="n">{v}</td>' for v in values) + "</tr>"


CSS = f"""
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 14px; color: #1a1a1a;
       background: #ffffff; margin: 16px; max-width: 1220px; }}
h1 {{ font-size: 22px; margin: 0 0 8px 0; }}
h2 {{ font-size: 17px; margin: 22px 0 6px 0; border-bottom: 1px solid #cccccc; }}
.badge {{ display: inline-block; padding: 2px 10px; border-radius: 4px; color: #ffffff; }}
.pass {{ background: #2e7d32; }} .fail {{ background: #c62828; }} .unknown {{ background: #777777; }}
table {{ border-collapse: collapse; margin: 4px 0; }}
th, td {{ border: 1px solid #c8c8c8; padding: 3px 8px; text-align: left; vertical-align: top; }}
th {{ background: #e8e8e8; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
table#handovers thead th {{ background: {HANDOVER_HEADER_COLOUR}; color: #ffffff; }}
table.kv th {{ width: 190px; }}
.addr {{ color: #666666; font-size: 12px; font-family: "DejaVu Sans Mono", monospace; }}
.bad {{ color: #c62828; font-weight: bold; }} .ok {{ color: #2e7d32; }}
.none {{ color: #777777; font-style: italic; }}
ul.checks {{ list-style: none; padding-left: 0; }}
ul.checks li {{ margin: 2px 0; }}
img#plot {{ display: block; border: 1px solid #c8c8c8; }}
"""


def html_report(r, plot_png):
    res = get(r, "result")
    cls = {"pass": "pass", "fail": "fail"}.get(res, "unknown")
    env, s = get(r, "environment"), get(r, "settings")
    parts = []
    add = parts.append

    # Summary header.
    add(f'<h1>nemokey testbed: <span class="badge {cls}" id="result">{e(result_word(r))}</span></h1>')
    summary = [
        ("started", e(get(r, "started"))),
        ("duration", f"{e(num(get(r, 'duration_s')))} s"),
        ("where", e(get(env, "where"))),
        ("kernel", e(get(env, "kernel"))),
        ("keying", e(get(s, "keying"))),
        ("K flag", e(onoff(get(s, "k_flag")))),
        ("payload protection", e(onoff(get(s, "payload_protection")))),
        ("NEMO", e(get(s, "nemo"))),
        ("handovers asked", e(num(get(s, "handovers")))),
        ("delay", f"{e(num(get(s, 'delay_ms')))} ms"),
        ("loss", f"{e(num(get(s, 'loss_percent')), 2)} %"),
        ("stream rate", f"{e(num(get(s, 'rate_pps')))} packets/s"),
    ]
    st = get(r, "stream")
    summary.append(("stream", f"{e(get(st, 'from'))} \u2192 {e(get(st, 'to'))}: sent {e(num(get(st, 'sent')))}, "
                              f"received {e(num(get(st, 'received')))}, lost {e(num(get(st, 'lost')))}"))
    add(kv_table(summary, ' id="summary"'))

    # Handovers.
    add("<h2>Handovers</h2>")
    hrows = []
    for h in items(r, "handovers"):
        link = (f"{e(h.get('from_link'))} \u2192 {e(h.get('to_link'))}"
                + home_note(h)
                + f'<br><span class="addr">{e(h.get("from"))} \u2192 {e(h.get("to"))}</span>')
        done = h.get("completed")
        done_cls = ' class="bad"' if done is False else ""
        hrows.append("<tr>" + "".join([
            f'<td class="n">{e(handover_label(h))}</td>', f"<td>{link}</td>", f"<td>{e(h.get('reason'))}</td>",
            *[f'<td class="n">{e(num(h.get(k)))}</td>' for k in
              ("migrate_done_ms", "bu_sent_ms", "ba_received_ms", "first_packet_ms", "disruption_ms",
               "lost_packets")],
            f"<td{done_cls}>{e(done)}</td>"]) + "</tr>")
    add('<p>Times are milliseconds after the movement was detected.</p>')
    add(table(["#", "from \u2192 to link", "reason", "MIGRATE done", "BU sent", "BA received",
               "first packet", "disruption ms", "lost", "completed"], hrows, ' id="handovers"'))

    # Plot.
    add("<h2>Stream</h2>")
    w, h = int(PLOT_SIZE_IN[0] * PLOT_DPI), int(PLOT_SIZE_IN[1] * PLOT_DPI)
    uri = "data:image/png;base64," + base64.b64encode(plot_png).decode("ascii")
    add(f'<img id="plot" width="{w}" height="{h}" alt="sequence number over time, handovers marked" '
        f'src="{uri}">')
    add(f"<p>Each dot is a packet received, a gap in the line lost packets. Vertical lines mark "
        f"when a handover was detected (H1, H2, \u2026; \u201chome\u201d for a return home). Below the "
        f"overview a close-up of each handover (the {ZOOM_PANELS} longest disruptions when there are "
        f"more), time in ms after detection, the measured disruption shaded.</p>")

    # IKE.
    add("<h2>IKE exchanges</h2>")
    ike = get(r, "ike")
    if not isinstance(ike, dict):
        add('<p id="ike">static keying: no IKE</p>')
    else:
        irows = [num_row(e(k), [e(num(get(ike, node, k))) for node, _ in NODES]) for k in ike_keys(ike)]
        add(table(["exchange"] + [n for _, n in NODES], irows, ' id="ike"'))
        add(f"<p>IKE_SA_INIT in all: {e(num(get(ike, 'ike_sa_init_total')))}, per handover: "
            f"{e(num(get(ike, 'ike_sa_init_per_handover')), 2)}</p>")

    # Kernel state.
    add("<h2>Kernel state (SAs / policies)</h2>")
    krows = []
    for node, name in NODES:
        cells = [name]
        for stage in KERNEL_STAGES:
            cells.append(f"{e(num(get(r, 'kernel', node, stage, 'sas')))} / "
                         f"{e(num(get(r, 'kernel', node, stage, 'policies')))}")
        b, a = get(r, "kernel", node, "before"), get(r, "kernel", node, "after")
        same = None if not (isinstance(b, dict) and isinstance(a, dict)) else (
            b.get("sas") == a.get("sas") and b.get("policies") == a.get("policies"))
        cells.append(e(same) if same is not False else f'<span class="bad">{e(same)}</span>')
        krows.append(row(cells))
    add(table(["node", "before", "registered", "after", "after == before"], krows, ' id="kernel"'))
    eq = get(r, "kernel", "equal")
    eq_text = '<span class="bad">no</span>' if eq is False else e(eq)
    add(f"<p>Kernel state equal before and after (runner): {eq_text}</p>")

    # Observer.
    add("<h2>Observer (on the access links)</h2>")
    ob = get(r, "observer")
    orows = [num_row(k, [e(num(get(ob, key)))]) for k, key in
             [("frames", "frames"), ("ESP frames", "esp_frames"), ("plaintext bytes", "plaintext_bytes"),
              ("clear Mobility Headers", "clear_mobility_headers")]]
    add(table(["", "count"], orows, ' id="observer"'))

    # Checks.
    add("<h2>Checks</h2>")
    checks = items(r, "checks")
    if checks:
        lis = []
        for c in checks:
            ok = c.get("ok") is True
            detail = c.get("detail")
            lis.append(f'<li><span class="{"ok" if ok else "bad"}">{"ok" if ok else "FAIL"}</span> '
                       f"{e(c.get('name'))}" + (f": {e(detail)}" if detail else "") + "</li>")
        add('<ul class="checks" id="checks">\n' + "\n".join(lis) + "\n</ul>")
    else:
        add('<p class="none" id="checks">no checks recorded</p>')

    # Timeline.
    add("<h2>Timeline</h2>")
    trows = [row([e(num(ev.get("t_s")), 3), e(ev.get("node")), e(ev.get("event")), e(ev.get("detail"))])
             for ev in items(r, "timeline")]
    add(table(["t (s)", "node", "event", "detail"], trows, ' id="timeline"'))

    title = f"nemokey testbed {html.escape(result_word(r))} {e(get(r, 'started'))}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def main(argv):
    usage = "usage: report.py REPORT.json OUTDIR | report.py --text REPORT.json"
    if len(argv) == 2 and argv[0] == "--text":
        try:
            r = load_report(argv[1])
        except BadReport as ex:
            print(ex, file=sys.stderr)
            return 2
        sys.stdout.write(text_report(r))
        return 0
    if len(argv) != 2 or argv[0].startswith("-"):
        print(usage, file=sys.stderr)
        return 2
    try:
        r = load_report(argv[0])
    except BadReport as ex:
        print(ex, file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    plot_path = os.path.join(outdir, "plot.png")
    write_plot(r, plot_path)
    with open(plot_path, "rb") as f:
        png = f.read()
    html_path = os.path.join(outdir, "report.html")
    with open(html_path + ".tmp", "w", encoding="utf-8") as f:
        f.write(html_report(r, png))
    os.replace(html_path + ".tmp", html_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
