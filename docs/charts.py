#!/usr/bin/env python3
"""Log-log charts of time against group size from the comparison bench's table.

Reads the Markdown table that `cargo bench -p cohort-interop --bench compare` prints at the
end ("| operation | N / suite | Cohort | mls-rs | mls-rs / Cohort |") and writes one SVG per
operation (create, join, commit, process) with Cohort and mls-rs side by side, so that growth
rates can be compared at a glance: on log-log axes a straight line of slope 1 is O(N).

    cargo bench -p cohort-interop --bench compare | tee compare.txt
    python3 docs/charts.py compare.txt docs/

Standard library only; the SVG is plain enough to diff.
"""
import math
import re
import sys
from pathlib import Path

OPS = ["create", "join", "commit", "process"]
TITLES = {
    "create": "create + add N-1 members (one commit, Welcome)",
    "join": "join by Welcome (tree in band, validated)",
    "commit": "self-update commit, fresh tree",
    "process": "process that commit",
}
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
COLOURS = {"Cohort": "#1f6fb4", "mls-rs": "#d6602b"}


def parse_time(cell):
    m = re.match(r"\s*([0-9.]+)\s*(s|ms|µs|us|ns)\s*$", cell)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse(text):
    """{op: {"Cohort": [(n, secs)], "mls-rs": [(n, secs)]}} for plain-N rows."""
    out = {op: {"Cohort": [], "mls-rs": []} for op in OPS}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] not in OPS or not cells[1].isdigit():
            continue
        n = int(cells[1])
        for name, cell in (("Cohort", cells[2]), ("mls-rs", cells[3])):
            t = parse_time(cell)
            if t is not None:
                out[cells[0]][name].append((n, t))
    return out


def fmt_time(t):
    if t >= 1:
        return f"{t:g} s"
    if t >= 1e-3:
        return f"{t * 1e3:g} ms"
    return f"{t * 1e6:g} µs"


def svg(op, series):
    w, h, left, right, top, bottom = 560, 360, 70, 20, 40, 50
    points = [p for s in series.values() for p in s]
    if not points:
        return None
    xs = [math.log10(n) for n, _ in points]
    ys = [math.log10(t) for _, t in points]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def px(n):
        return left + (math.log10(n) - x0) / (x1 - x0) * (w - left - right)

    def py(t):
        return h - bottom - (math.log10(t) - y0) / (y1 - y0) * (h - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{TITLES[op]}</text>',
    ]
    for e in range(x0, x1 + 1):
        x = px(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{10**e:g}</text>')
    for e in range(y0, y1 + 1):
        y = py(10**e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_time(10**e)}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">group size N (members)</text>')
    for i, (name, pts) in enumerate(series.items()):
        pts = sorted(pts)
        if not pts:
            continue
        c = COLOURS.get(name, "black")
        path = " ".join(f"{px(n):.1f},{py(t):.1f}" for n, t in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for n, t in pts:
            out.append(f'<circle cx="{px(n):.1f}" cy="{py(t):.1f}" r="3" fill="{c}"/>')
        out.append(f'<rect x="{left + 10}" y="{top + 4 + 16 * i}" width="12" height="3" fill="{c}"/>')
        out.append(f'<text x="{left + 28}" y="{top + 10 + 16 * i}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data = parse(Path(sys.argv[1]).read_text(encoding="utf-8"))
    outdir = Path(sys.argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    for op in OPS:
        doc = svg(op, data[op])
        if doc is None:
            print(f"{op}: no rows", file=sys.stderr)
            continue
        (outdir / f"compare-{op}.svg").write_text(doc, encoding="utf-8")
        print(f"wrote {outdir / f'compare-{op}.svg'}")


if __name__ == "__main__":
    main()
