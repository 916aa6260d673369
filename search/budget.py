"""The work one query may do, counted as it is done.

A query of hundreds of wildcards, fuzzy terms or very frequent words could
hold a worker for seconds and slow every other request down.  Each request
gets a ``Budget`` of work units; the evaluator reads the generation through
``Metered``, which charges every posting list it reads and every vocabulary
entry a prefix, wildcard or range scans (before it scans them), the
did-you-mean step its look-ups, and the hits the text they highlight.  Past the budget the request
stops with ``QueryTooCostly``: a 400 on the web and exit 2 on the command
line, with a message that says what to change.

A request that has spent HEAVY_UNITS is heavy, and only one heavy request
runs at a time (``HeavyGate``: in the process, and across the server's
workers once ``arshif serve`` shares it).  Another heavy request waits for
it, without using the CPU, at most GATE_WAIT_S, and is then refused with
``ServerBusy`` (a 503 with Retry-After).  So clients sending the costliest
queries keep at most one core busy, and ordinary searches keep the rest.

Why units, not seconds: the same query is cut at the same point on any
machine and under any load, so the limit is tested without clocks, and a
request never returns different results because the machine was busy.
QUERY_UNITS is set so that the heaviest accepted request costs a fraction
of a second on one core (docs/reliability.md), far above what an ordinary
query spends on a million articles.
"""

from __future__ import annotations

import errno
import fcntl
import threading
import time

from search.backend import SearchError
from search.generation import Expansion

#: Units one request may spend.  A posting read costs one unit.
QUERY_UNITS = 40_000_000
#: Units past which a request is heavy (one at a time, ``HeavyGate``): a
#: quarter of the budget, above what ordinary queries of a few words spend
#: on a million articles (docs/reliability.md).
HEAVY_UNITS = 10_000_000
#: How long a heavy request waits for the one running before ``ServerBusy``:
#: long enough for a heavy request to finish, short enough that a waiting
#: one gives its server thread back soon.
GATE_WAIT_S = 0.5
#: How often a waiting request tries the lock file shared between workers
#: (flock cannot wait with a time limit).
GATE_POLL_S = 0.01
#: A vocabulary entry scanned by a prefix, wildcard, regular expression or
#: word range: a Python step per entry, about a hundred postings' work.
SCAN_UNITS = 100
#: A fuzzy lookup (a fuzzy term): Whoosh's automaton walks a field's
#: vocabulary.
FUZZY_UNITS = 2_000_000
#: A wildcard in the query text, charged before parsing: Whoosh's parser
#: and the expansion's first probe of every field cost this much at least,
#: so a query of many wildcards is refused before that work, not after.
PATTERN_UNITS = 2_500_000
#: A character of a hit's headline or snippet text that the analyzer reads
#: to mark the matches: about ten posting reads' work.
HIGHLIGHT_UNITS = 10
#: A did-you-mean candidate (search/respell.py): one look-up in each
#: segment's term dictionary, no posting read.
RESPELL_UNITS = 100


class QueryTooCostly(SearchError):
    """A request that would do more work than one request may."""

    def __init__(self):
        super().__init__("the query asks for too much work: use fewer wildcards, "
                         "fuzzy terms or words")


class ServerBusy(SearchError):
    """A heavy request while another heavy request runs: try again soon."""

    def __init__(self):
        super().__init__("another costly search is running: try again in a moment")


class HeavyGate:
    """At most one heavy request at a time.

    A lock for the threads of this process; with ``share(fd)``, also a POSIX
    record lock on a file whose descriptor every worker of the server
    inherits.  Record locks belong to the process, not the descriptor, so
    workers holding one inherited descriptor exclude each other, and the
    kernel drops a dead worker's lock, so a killed worker never leaves the
    gate shut."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fd: int | None = None

    def share(self, fd: int | None) -> None:
        """Exclude the heavy requests of every process that locks ``fd``'s
        file (open while this process serves); None: this process alone."""
        self._fd = fd

    def enter(self, wait: float = 0.0) -> bool:
        """Take the gate, waiting at most ``wait`` seconds for it."""
        deadline = time.monotonic() + wait
        taken = self._lock.acquire(timeout=wait) if wait > 0 else self._lock.acquire(False)
        if not taken:
            return False
        while self._fd is not None:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:  # held elsewhere: EAGAIN or EACCES, by platform
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    self._lock.release()
                    raise
                if time.monotonic() >= deadline:
                    self._lock.release()
                    return False
                time.sleep(GATE_POLL_S)
        return True

    def leave(self) -> None:
        if self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        self._lock.release()


#: The gate of this process (``arshif serve`` shares it between workers).
GATE = HeavyGate()


class Budget:
    """Work units left to one request; ``close()`` when the request ends."""

    def __init__(self, units: int | None = None, gate: HeavyGate = GATE):
        self.left = QUERY_UNITS if units is None else units
        self._initial = self.left
        self._gate = gate
        self.heavy = False

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise QueryTooCostly()
        if not self.heavy and self._initial - self.left >= HEAVY_UNITS:
            if not self._gate.enter(GATE_WAIT_S):
                raise ServerBusy()
            self.heavy = True

    def close(self) -> None:
        if self.heavy:
            self.heavy = False
            self._gate.leave()


def _cost(text, docs) -> int:
    """What reading a term's postings costs: their length; for a prefix's
    union of terms (``Expansion``), all of theirs."""
    return text.postings if isinstance(text, Expansion) else len(docs)


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
        self.budget.spend(_cost(text, found[0]))
        return found

    def terms(self, keys: list) -> list:
        found = self._gen.terms(keys)
        self.budget.spend(sum(_cost(text, docs) for (_, text), (docs, _) in zip(
            keys, found, strict=True)))
        return found

    def span(self, fieldname: str, low: bytes, high: bytes | None, most: int) -> dict:
        # Charged before the scan: a refused or gated request has not done it.
        self.budget.spend(SCAN_UNITS * self._gen.span_size(fieldname, low, high, most))
        return self._gen.span(fieldname, low, high, most)

    def span_frequent(self, fieldname: str, low: bytes, high: bytes | None, most: int,
                      top: int) -> dict:
        self.budget.spend(SCAN_UNITS * self._gen.span_size(fieldname, low, high, most))
        return self._gen.span_frequent(fieldname, low, high, most, top)

    def span_matching(self, fieldname: str, low: bytes, high: bytes | None, most: int,
                      pattern) -> dict:
        self.budget.spend(SCAN_UNITS * self._gen.span_size(fieldname, low, high, most))
        return self._gen.span_matching(fieldname, low, high, most, pattern)
