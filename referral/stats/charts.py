"""The statistics pages' charts: hand-written SVG, no script, no library.

Each chart is an ``<svg role="img">`` with a title and an aria-label that says what it
shows, bars with their value written beside them (so no reading off an axis), and the
colours of the stylesheet's palette. The labels and values come translated and
formatted (``words``); a chart never shows a code. It prints as it looks.
"""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = ("#2f5d8a", "#b35c1e", "#4d7a2a", "#8a3b6b", "#2f7f7a", "#6b5b1f", "#555555")
NOW, BEFORE = "#2f5d8a", "#9fb3c8"
INK, MUTED = "#1f1f1f", "#4f4f4f"


def _n(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _open(chart_id: str, title: str, width: int, height: int, summary: str = "", *, heading: bool = True) -> list[str]:
    """The chart's start; ``heading=False`` when the panel's own heading already says what it is."""
    return [f'<svg id="{chart_id}" class="chart" role="img" aria-label="{escape(summary or title)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
            f'<title>{escape(summary or title)}</title>',
            f'<text x="0" y="16" font-size="14" font-weight="bold" fill="{INK}">{escape(title)}</text>' if heading else ""]


def bars(chart_id: str, title: str, items: list[tuple[str, Any, str]], *, heading: bool = True) -> str:
    """Horizontal bars: (label, value, value as written)."""
    width, row, left = 520, 24, 220
    top_y = 28 if heading else 0
    height = top_y + 6 + row * max(1, len(items))
    top = max([_n(v) for _, v, _ in items] + [1])
    summary = title + ": " + "; ".join(f"{label} {text}" for label, _, text in items)
    parts = _open(chart_id, title, width, height, summary, heading=heading)
    for i, (label, value, text) in enumerate(items):
        y = top_y + i * row
        w = (width - left - 70) * _n(value) / top
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end" fill="{INK}">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
                     f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12" fill="{INK}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(chart_id: str, title: str, items: list[tuple[str, Any, str]], *, most: str, tick_every: int = 0) -> str:
    """Columns over time: (label under the column, value, tooltip). ``most`` names the tallest."""
    width, height, bottom = 720, 210, 30
    top = max([_n(v) for _, v, _ in items] + [1])
    step = (width - 40) / max(1, len(items))
    parts = _open(chart_id, title, width, height, f"{title}. {most}", heading=False)
    parts.append(f'<text x="0" y="16" font-size="12" fill="{MUTED}">{escape(most)}</text>')
    every = tick_every or max(1, len(items) // 6)
    for i, (label, value, tip) in enumerate(items):
        h = (height - bottom - 48) * _n(value) / top
        x = 30 + i * step
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, step - 2):.1f}" '
                     f'height="{h:.1f}" fill="{NOW}"><title>{escape(tip)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="10" fill="{MUTED}">{escape(label)}</text>')
    parts.append(f'<line x1="28" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="{MUTED}"/>')
    parts.append("</svg>")
    return "".join(parts)


def pairs(chart_id: str, title: str, items: list[tuple[str, Any, str, Any, str]], legend: tuple[str, str]) -> str:
    """This period (dark) beside the same period a year earlier (light):
    (label, value now, written, value before, written)."""
    width, row, left = 560, 34, 220
    height = 50 + row * max(1, len(items))
    top = max([_n(a) for _, a, _, _, _ in items] + [_n(b) for _, _, _, b, _ in items] + [1])
    summary = title + ": " + "; ".join(f"{label} {a} ({legend[1]} {b})" for label, _, a, _, b in items)
    parts = _open(chart_id, title, width, height, summary)
    parts.append(f'<rect x="{left}" y="24" width="10" height="10" fill="{NOW}"/>'
                 f'<text x="{left + 14}" y="33" font-size="11" fill="{INK}">{escape(legend[0])}</text>'
                 f'<rect x="{left + 150}" y="24" width="10" height="10" fill="{BEFORE}"/>'
                 f'<text x="{left + 164}" y="33" font-size="11" fill="{INK}">{escape(legend[1])}</text>')
    for i, (label, now, now_text, before, before_text) in enumerate(items):
        y = 42 + i * row
        for j, (value, text, colour) in enumerate(((now, now_text, NOW), (before, before_text, BEFORE))):
            w = (width - left - 70) * _n(value) / top
            parts.append(f'<rect x="{left}" y="{y + 2 + j * 13}" width="{w:.1f}" height="11" fill="{colour}"/>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 12 + j * 13}" font-size="11" fill="{INK}">'
                         f'{escape(text)}</text>')
        parts.append(f'<text x="{left - 6}" y="{y + 18}" font-size="12" text-anchor="end" fill="{INK}">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
