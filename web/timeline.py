"""The timeline of matches as the page draws it: one column per period.

The counts come from the search (``Result.timeline``, search/timeline.py);
this module only turns them into columns.  The chart is HTML, drawn on the
server, so it works without JavaScript and under a CSP that allows no
inline style: a bar's height is one of ``LEVELS`` classes of the
stylesheet, never a style attribute.  Each column shows its count as text
(phones have no hover) and is a link that narrows the search to its period.
Time runs right to left, like the Arabic text around it (the list's order
in a right-to-left flex row).
"""

from __future__ import annotations

from dataclasses import dataclass

from web.formatting import arabic_date, articles_phrase, number

LEVELS = 20  # bar heights: classes h0..h20 of style.css
#: From this many periods the columns are narrower and their counts upright
#: (the ``dense`` class of style.css): a year of weeks or six and a half
#: years of months fits a desktop page without scrolling.
DENSE_FROM = 25
UNITS = {"day": "اليوم", "week": "الأسبوع", "month": "الشهر", "year": "السنة"}


@dataclass(frozen=True)
class Bar:
    date_from: str  # the from/to values of the bar's link
    date_to: str
    count: int
    level: int  # 0 (empty) .. LEVELS (the tallest)

    @property
    def period(self) -> str:
        """The period in words: '26 سبتمبر 2023', 'سبتمبر 2023', '2023', or a week's two ends."""
        if self.date_from == self.date_to:
            return arabic_date(self.date_from)
        return f"{arabic_date(self.date_from)} – {arabic_date(self.date_to)}"

    @property
    def title(self) -> str:
        return f"{self.period}: {articles_phrase(self.count)}"

    @property
    def label(self) -> str:
        return number(self.count)


@dataclass(frozen=True)
class Timeline:
    unit: str  # "day", "week", "month" or "year"
    bars: list[Bar]

    @property
    def unit_name(self) -> str:
        return UNITS[self.unit]

    @property
    def dense(self) -> bool:
        return len(self.bars) >= DENSE_FROM

    @property
    def first(self) -> Bar:
        return self.bars[0]

    @property
    def last(self) -> Bar:
        return self.bars[-1]


def build_timeline(timeline: dict | None) -> Timeline | None:
    """Columns for ``Result.timeline``, or None without one."""
    if not timeline or not timeline.get("periods"):
        return None
    periods = timeline["periods"]
    top = max(p["count"] for p in periods) or 1
    bars = [Bar(p["from"], p["to"], p["count"], level(p["count"], top)) for p in periods]
    return Timeline(timeline["unit"], bars)


def level(count: int, top: int) -> int:
    """A bar's height class: empty periods 0, any match at least 1."""
    if not count:
        return 0
    return max(1, round(LEVELS * count / top))
