"""The timeline of a result set: how many matching articles fall in each
day, week, month or year.

The step follows the span shown: days up to about two months, weeks up to
a year, months up to ten years, years beyond, so a three-week archive gets
daily bars and a long one stays readable.  The span is the matching
articles' first to last date, widened to the request's date filter (within
the archive's own dates): a one-week filter shows its seven days even when
the matches fall on two of them.

The counts per day come with the facets' (search/facets.py: one gather of
the matching documents' source and day codes), so the cost follows the
matches; the days are then stepped.  The
OpenSearch backend counts per day with a date histogram and gives those
counts to the same ``timeline_of_days``: one implementation of the steps.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

#: The longest span, in days, drawn with each step (the last has no limit).
STEPS = (("day", 62), ("week", 366), ("month", 3660), ("year", None))
EPOCH = date(1970, 1, 1)
#: Weeks start on Saturday, as the week on Arab calendars does.  Day 2 (a
#: day number: 1970-01-03) was a Saturday.
WEEK_START = 2


def day_number(value: date) -> int:
    return (value - EPOCH).days


def from_day(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def step_for(span_days: int) -> str:
    """The step of a timeline over ``span_days`` days (first and last included)."""
    return next(unit for unit, most in STEPS if most is None or span_days <= most)


def _keys(unit: str, days: np.ndarray) -> np.ndarray:
    """The period number of each day number: consecutive periods, consecutive keys."""
    if unit == "day":
        return days.astype(np.int64)
    if unit == "week":
        return (days.astype(np.int64) - WEEK_START) // 7
    as_dates = days.astype(np.int64).astype("datetime64[D]")
    return as_dates.astype("datetime64[M]" if unit == "month" else "datetime64[Y]").astype(np.int64)


@lru_cache(maxsize=64)
def _span_keys(unit: str, first_day: int, last_day: int) -> np.ndarray:
    """``_keys`` of the days ``first_day`` to ``last_day`` (read-only: shared)."""
    keys = _keys(unit, np.arange(first_day, last_day + 1))
    keys.flags.writeable = False
    return keys


#: Periods a server spells again and again (every query's timeline): the
#: days, weeks and months of a few archives' spans.
_CACHED_PERIODS = 16_384


@lru_cache(maxsize=64)
def _spelled(unit: str, first_key: int, last_key: int) -> tuple[tuple[str, str], ...]:
    """``spell`` of each period ``first_key`` to ``last_key`` (an archive's
    span, which every query's timeline then slices)."""
    return tuple(spell(*_period(unit, key)) for key in range(first_key, last_key + 1))


def _cut(unit: str, first_key: int, count: int, clip_low: date, clip_high: date) -> list[int]:
    """The places, among ``count`` periods from ``first_key``, of those that
    start before ``clip_low`` or end after ``clip_high``."""
    cut = []
    i = 0
    while i < count and _period(unit, first_key + i)[0] < clip_low:
        cut.append(i)
        i += 1
    j = count - 1
    while j >= i and _period(unit, first_key + j)[1] > clip_high:
        cut.append(j)
        j -= 1
    return cut


@lru_cache(maxsize=_CACHED_PERIODS)
def _period(unit: str, key: int) -> tuple[date, date]:
    """The first and last day of period ``key``."""
    if unit == "day":
        return from_day(key), from_day(key)
    if unit == "week":
        first = from_day(key * 7 + WEEK_START)
        return first, first + timedelta(days=6)
    if unit == "month":
        year, month = 1970 + key // 12, key % 12 + 1
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return date(1970 + key, 1, 1), date(1970 + key, 12, 31)


@lru_cache(maxsize=_CACHED_PERIODS)
def spell(first: date, last: date) -> tuple[str, str]:
    """A period as a date filter spells it: a whole month "2023-09", a whole
    year "2023", anything else its first and last days."""
    if first.month == 1 and first.day == 1 and last.month == 12 and last.day == 31 \
            and first.year == last.year:
        return f"{first.year:04d}", f"{last.year:04d}"
    if first.day == 1 and (first.year, first.month) == (last.year, last.month) \
            and last.day == calendar.monthrange(last.year, last.month)[1]:
        month = f"{first.year:04d}-{first.month:02d}"
        return month, month
    return first.isoformat(), last.isoformat()


def count_timeline(gen, counts, date_from: date | None = None,
                   date_to: date | None = None) -> dict | None:
    """The timeline of a result set's per-day ``counts`` (search/facets.py)
    in a generation, stepped as a backend's per-day counts."""
    bounds = gen.day_bounds()
    if bounds is None:
        return None
    per_day = counts.per_day[1:]  # [0]: undated
    present = np.flatnonzero(per_day)
    return timeline_of_days(present + bounds[0], bounds, date_from, date_to,
                            weights=per_day.take(present))


def timeline_of_days(days: np.ndarray, bounds: tuple[int, int] | None,
                     date_from: date | None = None, date_to: date | None = None,
                     weights: np.ndarray | None = None) -> dict | None:
    """``{"unit", "periods": [{"from", "to", "count"}]}`` of the matching
    articles' ``days`` (day numbers), oldest first, empty periods included;
    None when none is dated.  ``weights``: how many articles each day
    stands for (a backend that counts per day, such as a date histogram,
    gives each day once), one each without.  ``bounds``: the archive's
    first and last days, which a date filter's widening stays within.
    ``from``/``to`` are the values of a date filter that selects the period
    (clipped to the request's filter)."""
    if not len(days):
        return None
    low, high = int(days.min()), int(days.max())
    if date_from is not None:
        low = min(low, max(day_number(date_from), bounds[0]))
    if date_to is not None:
        high = max(high, min(day_number(date_to), bounds[1]))
    unit = step_for(high - low + 1)
    # Counted per day first, then the span's days (far fewer than a broad
    # query's matches) are given their periods.
    per_day = np.bincount(np.subtract(days, low, dtype=np.int64), weights=weights,
                          minlength=high - low + 1)
    # The archive's own span when it holds this one: every query then shares
    # the same keys (the conversion to months or years costs more than the
    # counting), sliced to the days shown.
    first_day, last_day = bounds if bounds is not None and bounds[0] <= low and high <= bounds[1] \
        else (low, high)
    span_keys = _span_keys(unit, first_day, last_day)
    keys = span_keys[low - first_day:high - first_day + 1]
    first_key, last_key = int(keys[0]), int(keys[-1])
    counts = np.bincount(keys - first_key, weights=per_day,
                         minlength=last_key - first_key + 1).astype(np.int64)
    skipped = first_key - int(span_keys[0])
    spelled = _spelled(unit, int(span_keys[0]), int(span_keys[-1]))[
        skipped:skipped + len(counts)]
    periods = [{"from": spelled_from, "to": spelled_to, "count": count}
               for (spelled_from, spelled_to), count in zip(spelled, counts.tolist(),
                                                               strict=True)]
    # A period cut by the filter links to its part inside the filter, so a
    # bar's link finds the articles its count counted.  The periods are in
    # order, so those that start before the filter come first and those
    # that end after it last: only they are spelled again.
    clip_low = date_from if date_from is not None else date.min
    clip_high = date_to if date_to is not None else date.max
    for i in _cut(unit, first_key, len(periods), clip_low, clip_high):
        first, last = _period(unit, first_key + i)
        periods[i]["from"], periods[i]["to"] = spell(max(first, clip_low), min(last, clip_high))
    return {"unit": unit, "periods": periods}
