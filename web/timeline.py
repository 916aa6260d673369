"""The timeline of matches: bars per month (or per year) drawn as inline SVG.

Drawn on the server so it works without JavaScript and under a strict CSP:
geometry goes into SVG presentation attributes (x, y, width, height), never
into style attributes.  Months with no match get an empty slot so the time
axis stays even.  Time runs right to left, like the Arabic text around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from web.formatting import arabic_date, articles_phrase

MAX_MONTHS = 36  # a longer span is drawn per year: monthly bars get too thin
WIDTH = 600.0
HEIGHT = 100.0
MIN_BAR = 2.0  # a non-empty period stays visible next to a tall one


@dataclass(frozen=True)
class Bar:
    period: str  # "2023-09" or "2023": the from/to values of the bar's link
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def title(self) -> str:
        return f"{arabic_date(self.period)}: {articles_phrase(self.count)}"


@dataclass(frozen=True)
class Timeline:
    unit: str  # "month" or "year"
    bars: list[Bar]
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def first(self) -> str:
        return self.bars[0].period

    @property
    def last(self) -> str:
        return self.bars[-1].period


def _months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    out = []
    while (y, m) <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _years_between(first: str, last: str) -> list[str]:
    return [f"{y:04d}" for y in range(int(first[:4]), int(last[:4]) + 1)]


def _valid(items, length: int) -> dict[str, int]:
    return {i["value"]: i["count"] for i in items
            if len(i["value"]) == length and i["value"][:4].isdigit()}


def build_timeline(facets: dict) -> Timeline | None:
    """Bars for ``Result.facets`` (its "month" and "year" counts), or None."""
    months = _valid(facets.get("month", []), 7)
    if not months:
        return None
    periods = _months_between(min(months), max(months))
    counts, unit = months, "month"
    if len(periods) > MAX_MONTHS:
        counts, unit = _valid(facets.get("year", []), 4), "year"
        periods = _years_between(min(months), max(months))
    return Timeline(unit, _bars(periods, counts))


def _bars(periods: list[str], counts: dict[str, int]) -> list[Bar]:
    slot = WIDTH / len(periods)
    gap = slot * 0.15 if len(periods) > 1 else slot * 0.35
    top = max(counts.get(p, 0) for p in periods) or 1
    bars = []
    for i, period in enumerate(periods):
        count = counts.get(period, 0)
        height = max(MIN_BAR, HEIGHT * count / top) if count else 0.0
        x = WIDTH - (i + 1) * slot + gap / 2  # oldest on the right
        bars.append(Bar(period, count, round(x, 2), round(HEIGHT - height, 2),
                        round(slot - gap, 2), round(height, 2)))
    return bars
