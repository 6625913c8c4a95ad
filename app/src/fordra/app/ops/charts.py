"""Charts drawn on the server as inline SVG: no script, readable without colour (every bar has
its figure written beside it) and described for screen readers (``role="img"`` with a label; the
same figures are in the table next to the chart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from fordra.app.ops.present import kronor


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    ore: int  # the figure drawn: an amount in öre, or a count with ``written=str``


def bar_chart(title: str, bars: list[Bar], *, written: Callable[[int], str] = kronor) -> str:
    """Horizontal bars, one per figure, scaled to the largest; '' when there is nothing to draw.
    ``written`` writes the figure beside its bar (kronor by default)."""
    shown = [b for b in bars if b.ore > 0]
    if not shown:
        return ""
    # The labels' column as wide as the longest (about 7.5 px a character at 13 px).
    row, value_w, plot_w = 28, 130, 340
    label_w = min(360, max(120, round(max(len(b.label) for b in shown) * 7.5) + 12))
    width = label_w + plot_w + value_w
    top = max(b.ore for b in shown)
    height = row * len(shown) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(shown):
        y = 4 + i * row
        w = max(1, round(plot_w * bar.ore / top))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="18" class="bar"/>'
            f'<text x="{label_w + w + 6}" y="{y + 18}">{escape(written(bar.ore))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
