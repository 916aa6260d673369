"""Flat posting arrays: a segment's postings as plain arrays.

Why: the search (search/arrays.py) scores a term from its whole posting list
at once.  Whoosh keeps a list as pickled, zlib-compressed blocks of 128
postings; decoding them was ~80 % of a query that meets its terms for the
first time (docs/performance.md), which set the p95 of fresh queries.  This
file holds the postings (document numbers, weights, positions)
uncompressed, so reading a term is a binary search in its field's term list
and two slices of a memory map.  And writing it takes a few numpy calls per
field, where Whoosh's block encoder ran in Python a posting at a time.

Since arshif 0.2 (indexer/segment.py, indexer/codec.py) this file is the only
copy of a segment's postings; Whoosh's term index beside it lists the terms
and their statistics, and Whoosh's matchers read the postings from here.
Segments written by older versions have Whoosh's posting blocks (and maybe
an older flat file beside them, then written from Whoosh's sorted postings):
they are read as they are.  The file is named like the segment's own files
(``MAIN_<id>.flat``), so Whoosh deletes it with its segment.

Layout, all little-endian: the arrays one after the other, each aligned to 8
bytes, then a JSON header saying where each field's arrays are, then the
header's offset and length (two uint64) and MAGIC.  Per field:

- ``docs``: uint32 segment document numbers, term after term;
- ``weights``: uint16 when every weight is a whole number below 65,536
  (term frequencies), float64 otherwise;
- ``starts``: uint64, where each term's postings begin in ``docs`` (plus the end);
- ``terms``: the terms' bytes, sorted as Whoosh sorts them, and ``term_ends``
  (uint64) where each ends;
- for fields with positions (phrases): ``positions``, each posting's word
  positions one after the other, and ``pos_starts``, where each posting's
  begin (plus the end); both uint16 when they fit, else uint32 or uint64.
"""

from __future__ import annotations

import json
import mmap
import os
import struct

import numpy as np

from indexer.postings import FieldPostings

EXTENSION = ".flat"
MAGIC = b"ARSHFLT1"
#: Bumped when the header's layout changes; another version is not read.
VERSION = 2
_FOOTER = struct.Struct("<QQ8s")

_EMPTY_DOCS = np.zeros(0, dtype=np.uint32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float64)


class FlatFile:
    """Writes a segment's flat posting file a field at a time::

        with FlatFile(path) as flat:
            flat.add_field(name, postings, weights)

    The header and footer go at the end, when the ``with`` block ends
    without an error: an abandoned file has no footer, so it is never read.
    """

    def __init__(self, path: str):
        self.path = path
        self._header: dict[str, dict] = {}
        self._file = None

    def __enter__(self) -> FlatFile:
        self._file = open(self.path, "wb")
        return self

    def add_field(self, name: str, postings: FieldPostings, weights: np.ndarray) -> None:
        self._header[name] = _write_field(self._file, postings, weights)

    def __exit__(self, kind, error, trace) -> None:
        with self._file as fh:
            if kind is None:
                encoded = json.dumps({"version": VERSION, "fields": self._header}).encode()
                offset = fh.tell()
                fh.write(encoded)
                fh.write(_FOOTER.pack(offset, len(encoded), MAGIC))


def _write_field(fh, postings: FieldPostings, weights: np.ndarray) -> dict:
    if len(weights) and (weights.max() >= 2**16 or weights.min() < 0
                         or not np.array_equal(weights, np.floor(weights))):
        weight_type = "<f8"
    else:
        weight_type = "<u2"
    term_ends = np.cumsum([len(t) for t in postings.terms], dtype=np.uint64)
    spec = {
        "terms": len(postings.terms),
        "docs": _put(fh, postings.docs, "<u4"),
        "weights": _put(fh, weights, weight_type), "weight_type": weight_type,
        "starts": _put(fh, postings.starts, "<u8"),
        "term_bytes": _put(fh, np.frombuffer(b"".join(postings.terms), dtype=np.uint8), "u1"),
        "term_ends": _put(fh, term_ends, "<u8"),
    }
    if postings.positions is not None:
        spec["position_type"] = _smallest(postings.positions)
        spec["pos_start_type"] = _smallest(postings.pos_starts)
        spec["positions"] = _put(fh, postings.positions, spec["position_type"])
        spec["pos_starts"] = _put(fh, postings.pos_starts, spec["pos_start_type"])
    return spec


def _put(fh, values: np.ndarray, dtype: str) -> int:
    """Append an array as ``dtype``, aligned to 8 bytes; return its offset."""
    fh.write(b"\0" * (-fh.tell() % 8))
    offset = fh.tell()
    fh.write(memoryview(np.ascontiguousarray(values.astype(dtype, copy=False))))
    return offset


def _smallest(values: np.ndarray) -> str:
    """The narrowest unsigned type holding ``values`` (positions are mostly
    below 65,536: half the bytes)."""
    top = int(values.max()) if len(values) else 0
    return "<u2" if top < 2**16 else "<u4" if top < 2**32 else "<u8"


class FlatPostings:
    """A segment's flat posting file, memory-mapped, read by term."""

    def __init__(self, path: str):
        with open(path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        size = len(self._map)
        if size < _FOOTER.size:
            raise ValueError(f"{path}: too short for a flat posting file")
        offset, length, magic = _FOOTER.unpack_from(self._map, size - _FOOTER.size)
        if magic != MAGIC or offset + length > size - _FOOTER.size:
            raise ValueError(f"{path}: not a flat posting file (or cut short)")
        header = json.loads(self._map[offset:offset + length])
        if header.get("version") != VERSION:
            raise ValueError(f"{path}: flat posting file version {header.get('version')}, "
                             f"not {VERSION}")
        # Every array lies before the header.
        self._fields = {name: _Field(self._map, spec, offset)
                        for name, spec in header["fields"].items()}

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


class _Field:
    def __init__(self, mapped: mmap.mmap, spec: dict, size: int):
        n = spec["terms"]
        self._map = mapped
        _within(size, spec["term_ends"], 8 * n)
        _within(size, spec["starts"], 8 * (n + 1))
        view = memoryview(mapped)
        # memoryview casts index at C speed into Python ints: the binary search
        # below touches ~20 of them per lookup.
        self._term_ends = view[spec["term_ends"]:spec["term_ends"] + 8 * n].cast("Q")
        self._starts = view[spec["starts"]:spec["starts"] + 8 * (n + 1)].cast("Q")
        postings = self._starts[n]
        _within(size, spec["term_bytes"], self._term_ends[n - 1] if n else 0)
        _within(size, spec["docs"], 4 * postings)
        _within(size, spec["weights"], np.dtype(spec["weight_type"]).itemsize * postings)
        self._bytes_at = spec["term_bytes"]
        self._docs_at = spec["docs"]
        self._weights_at = spec["weights"]
        self._weight_type = np.dtype(spec["weight_type"])
        self._n = n
        self.positions = None
        if "positions" in spec:
            start_size = np.dtype(spec["pos_start_type"]).itemsize
            _within(size, spec["pos_starts"], start_size * (postings + 1))
            self._pos_starts = np.frombuffer(mapped, dtype=spec["pos_start_type"],
                                             count=postings + 1, offset=spec["pos_starts"])
            _within(size, spec["positions"],
                    np.dtype(spec["position_type"]).itemsize * int(self._pos_starts[-1]))
            self.positions = np.frombuffer(mapped, dtype=spec["position_type"],
                                           count=int(self._pos_starts[-1]),
                                           offset=spec["positions"])

    def _term(self, i: int) -> bytes:
        start = self._term_ends[i - 1] if i else 0
        return self._map[self._bytes_at + start:self._bytes_at + self._term_ends[i]]

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
        docs = np.frombuffer(self._map, dtype="<u4", count=end - start,
                             offset=self._docs_at + 4 * start)
        weights = np.frombuffer(self._map, dtype=self._weight_type, count=end - start,
                                offset=self._weights_at + self._weight_type.itemsize * start)
        return docs, weights

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
        term_docs = np.frombuffer(self._map, dtype="<u4", count=end - start,
                                  offset=self._docs_at + 4 * start)
        postings = start + np.searchsorted(term_docs, docs)
        begins = self._pos_starts[postings].astype(np.int64)
        counts = self._pos_starts[postings + 1].astype(np.int64) - begins
        owner = np.repeat(np.arange(len(docs)), counts)
        # Each posting's run of positions, gathered in one indexing operation.
        first = np.cumsum(counts) - counts
        where = np.arange(int(counts.sum())) - np.repeat(first - begins, counts)
        return owner, self.positions[where].astype(np.int64)


def _within(size: int, offset: int, length: int) -> None:
    """A damaged header must fail when the file is opened, not in a query."""
    if offset < 0 or length < 0 or offset + length > size:
        raise ValueError("flat posting file: an array lies outside the file")


def flat_path(folder: str, segment) -> str:
    """Where ``segment``'s flat posting file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))


def open_flat(folder: str, segment) -> FlatPostings | None:
    """The segment's flat postings, or None when it has none (or a damaged one)."""
    try:
        return FlatPostings(flat_path(folder, segment))
    except (OSError, ValueError, KeyError, TypeError):
        return None
