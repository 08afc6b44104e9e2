"""Small inline SVG charts for report.html: horizontal bars, a heatmap, a trend of lines.

Hand-written rather than a charting library: the four charts are a few dozen elements each, and
the usual offline renderer (altair + vl-convert-python) adds a 33 MB wheel for them. Every text is
escaped with markupsafe; the SVG inherits the page's fonts, so Japanese labels render with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    color: str


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, color: str = INK,
          weight: str = "normal", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
            f'font-weight="{weight}"{extra}>{escape(text)}</text>')


def _svg(width: float, height: float, body: Sequence[str], title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'class="chart" aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">'
        f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def bar_chart(bars: Sequence[Bar], title: str, width: int = 420) -> Markup:
    """One horizontal bar per item, value at the bar's end."""
    label_w, row_h, pad = 24 + 12 * max((len(b.label) for b in bars), default=1), 30, 8
    peak = max([b.value for b in bars] + [1])
    span = width - label_w - 60
    body = []
    for i, bar in enumerate(bars):
        y = pad + i * row_h
        w = 0 if bar.value == 0 else max(2.0, span * bar.value / peak)
        body.append(_text(label_w - 10, y + 18, bar.label, anchor="end", size=13))
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
                    f'fill="{bar.color}"/>')
        body.append(_text(label_w + w + 6, y + 18, f"{bar.value:,}", size=13, weight="600"))
    return _svg(width, pad * 2 + row_h * max(len(bars), 1), body, title)


def _heat(value: int, peak: int) -> str:
    """White to deep red by value (0 stays white)."""
    if value <= 0:
        return "#f5f7fa"
    t = 0.2 + 0.8 * value / max(peak, 1)
    r, g, b = (int(255 + (c - 255) * t) for c in (0xc0, 0x26, 0x2d))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(names: Sequence[str], counts: dict[tuple[str, str], int], title: str) -> Markup:
    """A symmetric matrix of our departments; a cell is the number of collisions both are part of."""
    n = len(names)
    longest = max((min(len(name), 12) for name in names), default=1)
    cell, label_w = 34, 16 + 12 * longest
    top = 24 + 10 * longest
    width, height = label_w + n * cell + 10 + 6 * longest, top + n * cell + 10
    peak = max(counts.values(), default=1)
    body = []
    for i, name in enumerate(names):
        y = top + i * cell
        short = name if len(name) <= 12 else name[:11] + "…"
        body.append(_text(label_w - 8, y + cell / 2 + 4, short, anchor="end", size=12, extra=""))
        x = label_w + i * cell + cell / 2
        body.append(_text(x, top - 8, short, size=12,
                          extra=f' transform="rotate(-55 {x:.1f} {top - 8:.1f})"'))
        for j, other in enumerate(names):
            value = counts.get((name, other), 0) if i != j else 0
            fill = "#ffffff" if i == j else _heat(value, peak)
            cx = label_w + j * cell
            body.append(f'<rect x="{cx}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" fill="{fill}" '
                        f'stroke="{GRID}"><title>{escape(name)} × {escape(other)}: {value:,}</title></rect>')
            if value and i != j:
                color = "#ffffff" if value > peak * 0.55 else INK
                body.append(_text(cx + (cell - 2) / 2, y + cell / 2 + 3, f"{value:,}", anchor="middle",
                                  size=11 if value < 1000 else 9, color=color))
    return _svg(width, height, body, title)


def _nice_step(raw: float) -> int:
    """The smallest 1, 2 or 5 × 10^n at least ``raw`` (axis ticks at round numbers)."""
    magnitude = 1
    while True:
        for m in (1, 2, 5):
            if m * magnitude >= raw:
                return m * magnitude
        magnitude *= 10


def trend_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]], title: str,
                width: int = 560) -> Markup:
    """Lines over runs (``series``: name, color, values), a legend above and the as-of dates below."""
    left, right, top, bottom = 48, 44, 34, 40
    height = 220
    top_v = max([v for _, _, values in series for v in values] + [1])
    step_v = _nice_step(top_v / 4)
    ticks = -(-top_v // step_v)
    peak = step_v * ticks
    n = max(len(labels), 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(i: int, v: int) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, top + plot_h - plot_h * v / peak

    body = []
    for k in range(ticks + 1):
        v = step_v * k
        _, y = xy(0, v)
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, f"{v:,}", anchor="end", size=11, color=MUTED))
    step = max(1, n // 6)
    for i, label in enumerate(labels):
        if i % step == 0 or i == n - 1:
            x, _ = xy(i, 0)
            body.append(_text(x, height - bottom + 18, label, anchor="middle", size=11, color=MUTED))
    lx = left
    for name, color, values in series:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for i, v in enumerate(values):
            x, y = xy(i, v)
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                        f'<title>{escape(name)} {escape(labels[i])}: {v:,}</title></circle>')
        body.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="2" fill="{color}"/>')
        body.append(_text(lx + 17, 18, name, size=12))
        lx += 30 + 13 * len(name)
    return _svg(width, height, body, title)
