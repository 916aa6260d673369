"""Facet counts (source, year, month) and per-day counts of a whole result set.

Why not Whoosh's ``groupedby``: its FacetCollector visits every matching
document through the Python matcher tree and looks each facet value up per
document.  Each document's source and day are read once per generation as
one code (``Generation.facet_codes``), and a result set's counts come from
one gather of those codes: the sources for their facet, the days for the
timeline (search/timeline.py) and, summed per month and year, for the date
facets.  indexer/schema.py writes the month and year terms from the same
date as the date column, so those columns are not read per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

FACET_FIELDS = ("source", "year", "month")
#: A result set's joint codes are counted in one ``np.bincount`` over every
#: (source, day) pair when it holds at least 1/DENSE_SHARE as many
#: documents as there are pairs; a smaller one is split into its sources
#: and days first, each counted over far fewer values.
DENSE_SHARE = 8


@dataclass
class Counts:
    """How many documents of a result set each source and each day holds."""

    #: The source values (``Generation.texts``) and each one's count.
    sources: list[str]
    per_source: np.ndarray
    #: Per day code (``Generation.day_codes``; [0]: undated).
    per_day: np.ndarray


def counts_of(gen, docnums: np.ndarray) -> Counts:
    """The sources and days of ``docnums``: one gather of their joint codes."""
    codes, sources, spread = gen.facet_codes()
    found = codes.take(docnums)
    if len(found) * DENSE_SHARE >= len(sources) * spread:
        joint = np.bincount(found, minlength=len(sources) * spread).reshape(len(sources), spread)
        return Counts(sources, joint.sum(axis=1), joint.sum(axis=0))
    source, day = np.divmod(found, spread)
    return Counts(sources, np.bincount(source, minlength=len(sources)),
                  np.bincount(day, minlength=spread))


def _source_counts(counts: Counts) -> list[tuple[str, int]]:
    return [(value, n) for value, n in zip(counts.sources, counts.per_source.tolist(),
                                           strict=True) if n]


def source_facet(counts: Counts) -> list[dict]:
    """The source facet of ``counts`` alone (``count_facets``'s)."""
    return as_facets(_source_counts(counts), [])["source"]


def count_facets(gen, counts: Counts) -> dict[str, list[dict]]:
    """The source, year and month facets of ``counts``."""
    bounds = gen.day_bounds()
    months: list[tuple[str, int]] = []
    if bounds is not None:
        month_of_day, names = _months(*bounds)
        per_month = np.bincount(month_of_day, weights=counts.per_day[1:],
                                minlength=len(names)).astype(np.int64)
        present = np.flatnonzero(per_month)
        months = list(zip([names[i] for i in present.tolist()],
                          per_month.take(present).tolist(), strict=True))
    return as_facets(_source_counts(counts), months)


@lru_cache(maxsize=16)
def _months(first_day: int, last_day: int) -> tuple[np.ndarray, list[str]]:
    """The month (its place in the list that follows) of each day from
    ``first_day`` to ``last_day`` (day numbers), and the months "YYYY-MM"
    in order: made once per archive span."""
    months = np.arange(first_day, last_day + 1).astype("datetime64[D]").astype("datetime64[M]")
    first = months[0]
    place = (months - first).astype(np.int64)
    names = [str(first + i) for i in range(int(place[-1]) + 1)]
    place.flags.writeable = False
    return place, names


def as_facets(sources: list[tuple[str, int]], months: list[tuple[str, int]]
              ) -> dict[str, list[dict]]:
    """The facets of (value, count) pairs of sources and months, however
    counted (the cluster backend counts them with aggregations): sources by
    count, then name; years (their months' sum) and months in order; no
    empty value."""
    sources = sorted(((k, v) for k, v in sources if k), key=lambda kv: (-kv[1], kv[0]))
    months = sorted((k, v) for k, v in months if k)
    years: dict[str, int] = {}
    for month, count in months:
        years[month[:4]] = years.get(month[:4], 0) + count
    out = {"source": sources, "year": sorted(years.items()), "month": months}
    return {name: [{"value": k, "count": v} for k, v in out[name]] for name in FACET_FIELDS}
