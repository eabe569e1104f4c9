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
LEGEND = 24


@dataclass(frozen=True)
class Column:
    """A measured column: `key`, the `label` people read, and its `kind`: count (int), percent (a share
    0..1 shown as a percentage), money (minor units of the chart's `currency`), days (decimal business days)."""

    key: str
    label: str
    kind: str = "count"
    bar: bool = True


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

    def svg(self) -> str:
        """The chart as an inline <svg> (module docstring)."""
        bars = [c for c in self.columns if c.bar]
        top = {c.key: max([v.get(c.key) or 0 for _l, v in self.rows] or [0]) for c in bars}
        # columns of one kind share a scale, so that bars of requests and refunds compare
        scale: dict[str, float] = {}
        for c in bars:
            scale[c.kind] = max(scale.get(c.kind, 0), float(top[c.key]))
        per_row = LABEL_LINE + BAR * len(bars) + GAP
        height = LEGEND + per_row * max(1, len(self.rows))
        out = [f'<svg class="chart" role="img" aria-label="{escape(self.title)}" width="100%" height="{height}" '
               f'xmlns="http://www.w3.org/2000/svg">']
        x = 0
        for i, c in enumerate(bars):  # the legend
            out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                       f'<text class="legend" x="{x + 16}" y="14">{escape(c.label)}</text>')
            x += 24 + 8 * len(c.label) if c.label.isascii() else 24 + 14 * len(c.label)
        if not self.rows:
            out.append('<text class="empty" x="0" y="40">–</text>')
        for r, (label, values) in enumerate(self.rows):
            y = LEGEND + r * per_row
            figures = " · ".join(self.text(c, values.get(c.key)) for c in self.columns)
            out.append(f'<text class="label" x="0" y="{y + 14}">{escape(label)}</text>'
                       f'<text class="figures" x="100%" y="{y + 14}" text-anchor="end">{escape(figures)}</text>')
            for i, c in enumerate(bars):
                value = float(values.get(c.key) or 0)
                width = 0 if scale[c.kind] <= 0 else max(0.5 if value > 0 else 0, value / scale[c.kind] * 100)
                by = y + LABEL_LINE + i * BAR
                out.append(f'<rect class="track" x="0" y="{by}" width="100%" height="{BAR - 3}"/>'
                           f'<rect x="0" y="{by}" width="{width:.2f}%" height="{BAR - 3}" '
                           f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(c.label)}: '
                           f'{escape(self.text(c, values.get(c.key)))}</title></rect>')
        out.append("</svg>")
        return "".join(out)
