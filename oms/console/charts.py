"""Charts as SVG, drawn on the server: a bar per point, the axis's largest value, a few labels. No script and no
style attribute (the console's Content-Security-Policy allows neither): colours come from the stylesheet's
classes. Each bar has a ``<title>`` (its label and value, shown on hover and read by screen readers); the page
also lists the numbers in a table."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, BOTTOM, TOP = 48, 24, 12  # room for the value axis, the labels, and the top value


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def bars(chart_id: str, title: str, points: Sequence[tuple[str, float]], *, unit: str = "", labels: int = 7) -> Markup:
    """A bar chart of ``points`` ((label, value), in order), titled for assistive technology."""
    top = max((value for _, value in points), default=0.0) or 1.0
    inner_w, inner_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = inner_w / max(len(points), 1)
    every = max(1, -(-len(points) // labels))  # a label under every n-th bar
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - 8}" y2="{TOP + inner_h}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(_number(top))}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + inner_h}" text-anchor="end">0</text>',
    ]
    for index, (label, value) in enumerate(points):
        height = inner_h * value / top
        x = LEFT + index * step + step * 0.15
        y = TOP + inner_h - height
        described = f"{label}: {_number(value)} {unit}".strip()
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(described)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="tick" x="{x + step * 0.35:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
