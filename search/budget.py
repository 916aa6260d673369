"""The work one query may do, counted as it is done.

A query of hundreds of wildcards, fuzzy terms or very frequent words could
hold a worker for seconds and slow every other request down.  Each request
gets a ``Budget`` of work units; the evaluator reads the generation through
``Metered``, which charges every posting list it reads and every vocabulary
entry a prefix, wildcard or range scans, and the did-you-mean step charges
its look-ups.  Past the budget the request stops with
``QueryTooCostly``: a 400 on the web and exit 2 on the command line, with a
message that says what to change.

Why units, not seconds: the same query is cut at the same point on any
machine and under any load, so the limit is tested without clocks, and a
request never returns different results because the machine was busy.
QUERY_UNITS is set so that the heaviest accepted request costs a fraction
of a second on one core (docs/reliability.md), far above what an ordinary
query spends on a million articles.
"""

from __future__ import annotations

from search.backend import SearchError

#: Units one request may spend.  A posting read costs one unit.
QUERY_UNITS = 40_000_000
#: A vocabulary entry scanned by a prefix, wildcard, regular expression or
#: word range: a Python step per entry, about a hundred postings' work.
SCAN_UNITS = 100
#: A fuzzy lookup (a fuzzy term): Whoosh's automaton walks a field's
#: vocabulary.
FUZZY_UNITS = 2_000_000
#: A did-you-mean candidate (search/respell.py): one look-up in each
#: segment's term dictionary, no posting read.
RESPELL_UNITS = 100


class QueryTooCostly(SearchError):
    """A request that would do more work than one request may."""

    def __init__(self):
        super().__init__("the query asks for too much work: use fewer wildcards, "
                         "fuzzy terms or words")


class Budget:
    """Work units left to one request."""

    def __init__(self, units: int | None = None):
        self.left = QUERY_UNITS if units is None else units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise QueryTooCostly()


class Metered:
    """A generation (search/generation.py) whose reads are charged to one
    request's budget: what the evaluator reads through for that request.
    Everything else is the generation's own."""

    def __init__(self, gen, budget: Budget):
        self._gen = gen
        self.budget = budget

    def __getattr__(self, name: str):
        return getattr(self._gen, name)

    def charge(self, units: int) -> None:
        self.budget.spend(units)

    def term(self, fieldname: str, text):
        found = self._gen.term(fieldname, text)
        self.budget.spend(len(found[0]))
        return found

    def span(self, fieldname: str, low: bytes, high: bytes | None, most: int) -> dict:
        found = self._gen.span(fieldname, low, high, most)
        self.budget.spend(SCAN_UNITS * len(found))
        return found
