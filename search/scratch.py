"""Arrays over every document, reused from one query to the next.

A query that adds up its terms' scores, or marks its matches, in an array
with one entry per document writes to scattered entries of a large array.
A fresh ``np.zeros`` of that size is new memory from the system: each page
the query touches is a page fault (the kernel hands out a zeroed page), and
freeing the array gives the pages back, so the next query faults them in
again.  Between about 200,000 and 500,000 documents (arrays of one to four
megabytes, too small for numpy to ask for huge pages) the faults cost more
than the arithmetic.  Here a thread keeps its arrays: a query borrows one,
all zeros, saying where it will write, and the pool sets those entries
back to zero when it is handed back.

A borrowed array that is not handed back (an exception on the way) is
dropped: a dirty array never goes back to the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from search.generation import put

#: Arrays a thread keeps, the least recently returned dropped first: a
#: query uses two or three kinds, and a new generation brings a new size.
KEPT = 6
#: A returned array is zeroed whole once the entries to set back are more
#: than one per SCATTER_BYTES bytes of it: past that, writing every byte in
#: order costs less than the scattered writes.
SCATTER_BYTES = 64


class _Pool(threading.local):
    def __init__(self):
        self.free: dict[tuple[int, str], np.ndarray] = {}


_pool = _Pool()


@contextmanager
def zeros(size: int, dtype, written: list[np.ndarray]) -> Iterator[np.ndarray]:
    """An array of ``size`` zeros of ``dtype`` for the ``with`` block, which
    writes to it only at the documents of ``written`` (a list the block
    may add to as it goes): when the block ends, the array is set back to
    zero there and kept.  Nested blocks get distinct arrays."""
    key = (size, np.dtype(dtype).str)
    array = _pool.free.pop(key, None)
    if array is None:
        array = np.zeros(size, dtype=dtype)
    yield array
    _clear(array, written)
    free = _pool.free
    free[key] = array
    while len(free) > KEPT:
        del free[next(iter(free))]


def _clear(array: np.ndarray, written: list[np.ndarray]) -> None:
    if sum(len(docs) for docs in written) * SCATTER_BYTES > array.nbytes:
        array.fill(0)
        return
    for docs in written:
        put(array, docs, 0)


def pooled() -> list[np.ndarray]:
    """The arrays this thread keeps (each must be all zeros)."""
    return list(_pool.free.values())
