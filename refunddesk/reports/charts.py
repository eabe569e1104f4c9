"""Charts as server-rendered SVG: no JavaScript, no library, nothing fetched (the CSP allows only this site,
and presentation attributes are not styles, so `style-src 'self'` lets them through).

One shape of chart, the one people read at a glance on a phone and on a wide screen alike: a row per
category, its label and its figures on one line, a bar per measured column underneath, the bars' lengths in
percent of the chart's width (so the text never shrinks with the screen, unlike a scaled viewBox). The
figures are those of the chart's CSV export (`Chart.csv_rows`), formatted once (`Chart.text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from refunddesk.core.money import exponent

#: Bar colours, told apart by lightness as well as hue (readable in grey and for common colour blindness).
PALETTE = ("#2f5d9e", "#e08a1e", "#4a9a5b", "#8e5ba6")
LABEL_LINE = 20
BAR = 12
GAP = 12
FIGURES_PER_LINE = 44  # characters of figures that fit a 390 px screen at 13 px


@dataclass(frozen=True)
class Column:
    """A measured column: `key`, the `label` people read, and its `kind`: count (int), percent (a share
    0..1 shown as a percentage), money (minor units of the chart's `currency`), days (decimal business days)."""

    key: str
    label: str
    kind: str = "count"
    bar: bool = True
    one: str = ""  # the label after a count of exactly 1 ("1 request"); "" for the same as `label`


@dataclass
class Chart:
    """A chart: an `id` (its CSV's name), a `title`, its columns and rows (label, {key: value}), a `note`
    saying how the figures are counted, and the `currency` of its money columns."""

    id: str
    title: str
    columns: list[Column]
    rows: list[tuple[str, dict]] = field(default_factory=list)
    note: str = ""
    currency: str = ""

    @property
    def has_data(self) -> bool:
        return any(any(v for v in values.values()) for _label, values in self.rows)

    def number(self, column: Column, value) -> str:
        """A figure as the CSV holds it: counts as integers, percentages with two decimals, money in major
        units (exact), days with one decimal."""
        if value is None:
            return ""
        if column.kind == "percent":
            return f"{Decimal(str(value)) * 100:.2f}"
        if column.kind == "money":
            exp = exponent(self.currency)
            return str(Decimal(int(value)).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))
        if column.kind == "days":
            return f"{value:.1f}"
        return str(int(value))

    def text(self, column: Column, value) -> str:
        """A figure as the chart shows it (the CSV's number with its unit)."""
        if value is None:
            return "–"
        n = self.number(column, value)
        if column.kind == "percent":
            return n.rstrip("0").rstrip(".") + "%"
        if column.kind == "money":
            return f"{n} {self.currency}"
        return n

    def csv_rows(self) -> list[list[str]]:
        """The header (label, then each column's key and unit) and one line per row: exactly the chart's figures."""
        unit = {"percent": " (%)", "money": f" ({self.currency})", "days": " (business days)"}
        header = ["label", *(c.key + unit.get(c.kind, "") for c in self.columns)]
        return [header, *([label, *(self.number(c, values.get(c.key)) for c in self.columns)]
                          for label, values in self.rows)]

    def figures(self, values: dict) -> list[str]:
        """A row's figures with their names ("29 requests", "refund rate 20%"), on one line, or on two when one
        would not fit a phone's width (FIGURES_PER_LINE characters)."""
        parts = []
        for c in self.columns:
            value = values.get(c.key)
            text = self.text(c, value)
            label = c.one if c.one and c.kind == "count" and value == 1 else c.label
            parts.append(f"{label} {text}" if c.kind == "percent" else f"{text} {label}")
        line = " · ".join(parts)
        if _width(line) <= FIGURES_PER_LINE or len(parts) < 2:
            return [line]
        half = (len(parts) + 1) // 2
        return [" · ".join(parts[:half]), " · ".join(parts[half:])]

    def svg(self) -> str:
        """The chart as an inline <svg> (module docstring): per row its label, its figures with their names,
        then one bar per measured column; a legend of the bars' colours on top."""
        bars = [c for c in self.columns if c.bar]
        # columns of one kind share a scale, so that bars of requests and refunds compare
        scale: dict[str, float] = {}
        for c in bars:
            top = max([float(v.get(c.key) or 0) for _l, v in self.rows] or [0.0])
            scale[c.kind] = max(scale.get(c.kind, 0.0), top)
        out = []
        # the legend in HTML, so that it wraps on a narrow screen; each key a tiny SVG (a fill, not a style)
        legend = "".join(f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"/></svg> {escape(c.label)}</li>'
                         for i, c in enumerate(bars))
        y = 4
        for label, values in self.rows:
            out.append(f'<text class="label" x="0" y="{y + 14}" fill="#222" font-weight="600">{escape(label)}</text>')
            y += LABEL_LINE
            for line in self.figures(values):
                out.append(f'<text class="figures" x="0" y="{y + 12}" fill="#555">{escape(line)}</text>')
                y += LABEL_LINE - 2
            for i, c in enumerate(bars):
                value = float(values.get(c.key) or 0)
                width = 0.0 if scale[c.kind] <= 0 else max(0.5 if value > 0 else 0.0, value / scale[c.kind] * 100)
                out.append(f'<rect class="track" x="0" y="{y}" width="100%" height="{BAR - 3}" fill="#eef0f3"/>'
                           f'<rect class="bar" x="0" y="{y}" width="{width:.2f}%" height="{BAR - 3}" '
                           f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(c.label)}: '
                           f'{escape(self.text(c, values.get(c.key)))}</title></rect>')
                y += BAR
            y += GAP
        head = (f'<ul class="chart-legend">{legend}</ul>'
                f'<svg class="chart" role="img" aria-label="{escape(self.title)}" width="100%" height="{y}" '
                f'font-size="13" xmlns="http://www.w3.org/2000/svg">')
        return head + "".join(out) + "</svg>"


def _width(text: str) -> int:
    """Roughly how many Latin characters wide `text` is (a CJK character counts two)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
