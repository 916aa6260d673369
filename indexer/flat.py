"""Flat posting files: a segment's postings as plain arrays.

Why: the search (search/postings.py) scores a term from its whole posting
list at once.  Whoosh keeps a list as pickled, compressed blocks of 128
postings, decoded in Python a posting at a time; here reading a term is a
binary search in its field's term list and two slices of a memory map, and
writing a segment's postings takes a few numpy calls per field.

This file is the only copy of a segment's postings.  Whoosh's term index
beside it lists the terms and their statistics, and Whoosh's matchers read
the postings from here (indexer/codec.py).  It is named like the segment's
own files (``MAIN_<id>.flat``), so Whoosh deletes it with its segment.

An array file (indexer/arrayfile.py) holding, per field ``F``:

- ``F/docs``: uint32 segment document numbers, term after term;
- ``F/weights``: uint16 when every weight is a whole number below 65,536
  (term frequencies), float64 otherwise;
- ``F/starts``: uint64, where each term's postings begin in ``docs`` (plus the end);
- ``F/term_bytes``: the terms' bytes, sorted as Whoosh sorts them, and
  ``F/term_ends`` (uint64) where each ends;
- for fields with positions (phrases): ``F/positions``, each posting's word
  positions one after the other, and ``F/pos_starts``, where each posting's
  begin (plus the end); both uint16 when they fit, else uint32 or uint64.

The header's metadata lists the fields.
"""

from __future__ import annotations

import os

import numpy as np

from indexer.arrayfile import ArrayFile, ArrayFileWriter
from indexer.postings import FieldPostings

EXTENSION = ".flat"
KIND = "flat postings"
VERSION = 3

_EMPTY_DOCS = np.zeros(0, dtype=np.uint32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float64)


class FlatFile:
    """Writes a segment's flat posting file a field at a time::

        with FlatFile(path) as flat:
            flat.add_field(name, postings, weights)
    """

    def __init__(self, path: str):
        self._out = ArrayFileWriter(path, KIND, VERSION)
        self._out.meta["fields"] = []

    def __enter__(self) -> FlatFile:
        self._out.__enter__()
        return self

    def add_field(self, name: str, postings: FieldPostings, weights: np.ndarray) -> None:
        out = self._out
        if len(weights) and (weights.max() >= 2**16 or weights.min() < 0
                             or not np.array_equal(weights, np.floor(weights))):
            weight_type = "<f8"
        else:
            weight_type = "<u2"
        out.put(f"{name}/docs", postings.docs, "<u4")
        out.put(f"{name}/weights", weights, weight_type)
        out.put(f"{name}/starts", postings.starts, "<u8")
        out.put(f"{name}/term_bytes", np.frombuffer(b"".join(postings.terms), dtype=np.uint8),
                "u1")
        out.put(f"{name}/term_ends", np.cumsum([len(t) for t in postings.terms],
                                               dtype=np.uint64), "<u8")
        if postings.positions is not None:
            out.put(f"{name}/positions", postings.positions, _smallest(postings.positions))
            out.put(f"{name}/pos_starts", postings.pos_starts, _smallest(postings.pos_starts))
        out.meta["fields"].append(name)

    def __exit__(self, kind, error, trace) -> None:
        self._out.__exit__(kind, error, trace)


def _smallest(values: np.ndarray) -> str:
    """The narrowest unsigned type holding ``values`` (positions are mostly
    below 65,536: half the bytes)."""
    top = int(values.max()) if len(values) else 0
    return "<u2" if top < 2**16 else "<u4" if top < 2**32 else "<u8"


class FlatPostings:
    """A segment's flat posting file, memory-mapped, read by term.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete flat posting file of this version."""

    def __init__(self, path: str):
        self._file = ArrayFile(path, KIND, VERSION)
        self._fields = {name: _Field(self._file, name) for name in self._file.meta["fields"]}

    def has_field(self, fieldname: str) -> bool:
        return fieldname in self._fields

    def postings(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a term; empty when absent.  The arrays are
        read-only views of the map."""
        field = self._fields.get(fieldname)
        return field.postings(btext) if field else (_EMPTY_DOCS, _EMPTY_WEIGHTS)

    def has_positions(self, fieldname: str) -> bool:
        field = self._fields.get(fieldname)
        return field is not None and field.positions is not None

    def positions(self, fieldname: str, btext: bytes, docs: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
        """The term's positions in ``docs`` (sorted segment document numbers,
        each holding the term) as (index into ``docs``, position) pairs."""
        return self._fields[fieldname].positions_in(btext, docs)

    def all_positions(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Every position of a term: (where each posting's begin, plus the
        end; the positions), posting after posting as ``postings`` gives them."""
        return self._fields[fieldname].all_positions(btext)

    def terms(self, fieldname: str):
        """The field's terms (bytes) in sorted order."""
        field = self._fields.get(fieldname)
        return field.terms() if field else iter(())


class _Field:
    def __init__(self, file: ArrayFile, name: str):
        self._map = file.map
        self._term_ends = file.view(f"{name}/term_ends", "Q")
        self._starts = file.view(f"{name}/starts", "Q")
        self._n = len(self._term_ends)
        self._bytes = file.array(f"{name}/term_bytes")
        self._docs = file.array(f"{name}/docs")
        self._weights = file.array(f"{name}/weights")
        if (len(self._starts) != self._n + 1 or self._starts[self._n] != len(self._docs)
                or len(self._weights) != len(self._docs)
                or (self._n and self._term_ends[self._n - 1] != len(self._bytes))):
            raise ValueError(f"flat posting file: the arrays of {name} disagree")
        self.positions = None
        if f"{name}/positions" in file:
            self._pos_starts = file.array(f"{name}/pos_starts")
            self.positions = file.array(f"{name}/positions")
            if (len(self._pos_starts) != len(self._docs) + 1
                    or int(self._pos_starts[-1]) != len(self.positions)):
                raise ValueError(f"flat posting file: the positions of {name} disagree")

    def _term(self, i: int) -> bytes:
        start = self._term_ends[i - 1] if i else 0
        return self._bytes[start:self._term_ends[i]].tobytes()

    def terms(self):
        for i in range(self._n):
            yield self._term(i)

    def _find(self, btext: bytes) -> int | None:
        """The term's number, or None."""
        lo, hi = 0, self._n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._term(mid) < btext:
                lo = mid + 1
            else:
                hi = mid
        if lo == self._n or self._term(lo) != btext:
            return None
        return lo

    def postings(self, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        found = self._find(btext)
        if found is None:
            return _EMPTY_DOCS, _EMPTY_WEIGHTS
        start, end = self._starts[found], self._starts[found + 1]
        return self._docs[start:end], self._weights[start:end]

    def all_positions(self, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        found = self._find(btext)
        if found is None:
            return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        begins = self._pos_starts[self._starts[found]:self._starts[found + 1] + 1]
        begins = begins.astype(np.int64)
        return begins - begins[0], self.positions[int(begins[0]):int(begins[-1])]

    def positions_in(self, btext: bytes, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = self._find(btext)
        if found is None or not len(docs):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        start, end = self._starts[found], self._starts[found + 1]
        postings = start + np.searchsorted(self._docs[start:end], docs)
        begins = self._pos_starts[postings].astype(np.int64)
        counts = self._pos_starts[postings + 1].astype(np.int64) - begins
        owner = np.repeat(np.arange(len(docs)), counts)
        # Each posting's run of positions, gathered in one indexing operation.
        first = np.cumsum(counts) - counts
        where = np.arange(int(counts.sum())) - np.repeat(first - begins, counts)
        return owner, self.positions[where].astype(np.int64)


def flat_path(folder: str, segment) -> str:
    """Where ``segment``'s flat posting file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))
