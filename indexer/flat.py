"""Flat posting files: a segment's postings as plain arrays.

Why: the search (search/generation.py) scores a term from its whole
posting list at once.  Whoosh keeps a list as pickled, compressed blocks of
128 postings, decoded in Python a posting at a time; here reading a term is
a binary search in its field's term list and a few slices of a memory map,
decoded with one ``cumsum``, and writing a segment's postings takes a few
numpy calls per field.

This file is the only copy of a segment's terms and postings: its sorted
term arrays are the term dictionary Whoosh's reader searches (through the
codec's terms reader, indexer/codec.py), and Whoosh's matchers read the
postings from here.  It is named like the segment's own files
(``MAIN_<id>.flat``), so Whoosh deletes it with its segment.

An array file (indexer/arrayfile.py) holding, per field ``F`` (each array
of offsets in the narrowest unsigned type that holds it):

- ``F/term_bytes``, ``F/term_ends``: the terms' bytes, sorted as Whoosh
  sorts them, and where each ends;
- ``F/starts``: where each term's postings begin, counted in postings (plus
  the end);
- ``F/first_doc``: uint32, each term's first document;
- ``F/doc_bytes``: per term, the gaps between its documents (0 for the
  first), packed in the narrowest of 1, 2 or 4 bytes that holds that term's
  gaps (``F/doc_width``, one byte per term; 0 when all are 0: a term of one
  document), starting at ``F/doc_at``: a frequent term's gaps take one byte
  a posting, a rare term's few take 2 or 4;
- ``F/freq_bytes``, ``F/freq_width``, ``F/freq_at``: each posting's
  frequency less one, packed the same way (a term found once in each of its
  documents takes no bytes);
- for fields with positions (phrases): ``F/positions``, each posting's word
  positions one after the other (as many as its frequency), and
  ``F/pos_at``, where each term's begin.

The header's metadata lists the fields and each field's boost (a posting's
weight is its frequency times the boost, as Whoosh weighs it).
"""

from __future__ import annotations

import bisect
import os
import re

import numpy as np

from indexer.arrayfile import ArrayFile, ArrayFileError, ArrayFileWriter
from indexer.postings import FieldPostings

EXTENSION = ".flat"
KIND = "flat postings"
VERSION = 5

#: One term in SKIP is kept in memory (per field, from a segment's first
#: lookup on) to find a term with two binary searches in Python lists.
SKIP = 64

_EMPTY_DOCS = np.zeros(0, dtype=np.uint32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float64)


class FlatFile:
    """Writes a segment's flat posting file a field at a time::

        with FlatFile(path) as flat:
            flat.add_field(name, postings, boost)
    """

    def __init__(self, path: str):
        self._out = ArrayFileWriter(path, KIND, VERSION)
        self._out.meta["fields"] = {}

    def __enter__(self) -> FlatFile:
        self._out.__enter__()
        return self

    def add_field(self, name: str, postings: FieldPostings, boost: float) -> None:
        out = self._out
        starts = postings.starts.astype(np.int64)
        docs = postings.docs.astype(np.int64)
        n = len(postings.terms)
        term_ends = np.cumsum([len(t) for t in postings.terms], dtype=np.int64)
        out.put(f"{name}/term_bytes", np.frombuffer(b"".join(postings.terms), dtype=np.uint8),
                "u1")
        out.put(f"{name}/term_ends", term_ends, _smallest(term_ends))
        out.put(f"{name}/starts", starts, _smallest(starts))
        first = docs[starts[:-1]] if len(docs) else np.zeros(n, dtype=np.int64)
        out.put(f"{name}/first_doc", first, "<u4")
        gaps = np.diff(docs, prepend=0)
        gaps[starts[:-1][np.diff(starts) > 0]] = 0
        self._packed(f"{name}/doc", gaps, starts)
        # Frequencies less one: a term found once in each document (most
        # rare terms) takes no bytes.
        self._packed(f"{name}/freq", postings.freqs.astype(np.int64) - 1, starts)
        if postings.positions is not None:
            out.put(f"{name}/positions", postings.positions, _smallest(postings.positions))
            pos_at = postings.pos_starts.astype(np.int64)[starts]
            out.put(f"{name}/pos_at", pos_at, _smallest(pos_at))
        out.meta["fields"][name] = {"boost": float(boost)}

    def _packed(self, prefix: str, values: np.ndarray, starts: np.ndarray) -> None:
        packed, widths, at = pack_runs(values, starts)
        self._out.put(f"{prefix}_bytes", packed, "u1")
        self._out.put(f"{prefix}_width", widths, "u1")
        self._out.put(f"{prefix}_at", at, _smallest(at))

    def __exit__(self, kind, error, trace) -> None:
        self._out.__exit__(kind, error, trace)


def pack_runs(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Runs of non-negative integers below 2**32 (run i is
    ``values[starts[i]:starts[i + 1]]``), each stored little-endian in the
    narrowest of 1, 2 or 4 bytes that holds all its values, or in none when
    they are all 0: (the bytes, each run's width, where each run begins in
    the bytes plus the end)."""
    counts = np.diff(starts)
    top = np.zeros(len(counts), dtype=np.int64)
    filled = counts > 0
    if filled.any():
        top[filled] = np.maximum.reduceat(values, starts[:-1][filled])
    widths = np.select([top == 0, top < 2**8, top < 2**16], [0, 1, 2], 4).astype(np.uint8)
    at = np.concatenate([[0], np.cumsum(counts * widths)]).astype(np.int64)
    packed = np.zeros(int(at[-1]), dtype=np.uint8)
    width_of = np.repeat(widths, counts)
    offset = (np.repeat(at[:-1], counts)
              + (np.arange(len(values)) - np.repeat(starts[:-1], counts)) * width_of)
    for width in (1, 2, 4):
        chosen = width_of == width
        if chosen.any():
            raw = values[chosen].astype(f"<u{width}").view(np.uint8).reshape(-1, width)
            packed[offset[chosen][:, None] + np.arange(width)] = raw
    return packed, widths, at


def _smallest(values: np.ndarray) -> str:
    """The narrowest unsigned type holding ``values``."""
    top = int(values.max()) if len(values) else 0
    return "<u2" if top < 2**16 else "<u4" if top < 2**32 else "<u8"


class FlatPostings:
    """A segment's flat posting file, memory-mapped, read by term.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete flat posting file of this version."""

    def __init__(self, path: str):
        self._file = ArrayFile(path, KIND, VERSION)
        try:
            self._fields = {name: _Field(self._file, name, spec["boost"])
                            for name, spec in self._file.meta["fields"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ArrayFileError(f"{path}: incomplete flat posting file ({exc})") from exc

    def has_field(self, fieldname: str) -> bool:
        return fieldname in self._fields

    def postings(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(docnums uint32, weights float64) of a term; empty when absent."""
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

    def chunks(self, fieldname: str, most: int = 1 << 20):
        """Every posting of a field, in term order, a run of whole terms of
        about ``most`` postings at a time (a merge reads a whole segment:
        decoding it a term at a time cost more than writing it)."""
        field = self._fields.get(fieldname)
        return field.chunks(most) if field else iter(())

    def boost(self, fieldname: str) -> float:
        """The field's boost: a posting's weight is its frequency times it."""
        field = self._fields.get(fieldname)
        return field.boost if field else 1.0

    # Terms by number: a field's terms are numbered 0..term_count - 1 in
    # sorted order, so the term dictionary (indexer/codec.py) is a binary
    # search over these arrays and a walk is a number that grows.

    def term_count(self, fieldname: str) -> int:
        field = self._fields.get(fieldname)
        return field.count if field else 0

    def seek(self, fieldname: str, btext: bytes) -> int:
        """The number of the field's first term not below ``btext``
        (``term_count`` when every term is below it)."""
        field = self._fields.get(fieldname)
        return field.bisect(btext) if field else 0

    def find(self, fieldname: str, btext: bytes) -> int | None:
        """The number of the term ``btext`` in the field, or None."""
        field = self._fields.get(fieldname)
        return field.find(btext) if field else None

    def term_at(self, fieldname: str, number: int) -> bytes:
        return self._numbered(fieldname).term(number)

    def doc_frequency_at(self, fieldname: str, number: int) -> int:
        """The documents holding term ``number``: read from ``starts``, no
        posting decoded."""
        return self._numbered(fieldname).doc_count(number)

    def frequency_at(self, fieldname: str, number: int) -> int:
        """The occurrences of term ``number`` in all its documents (its
        frequencies only are decoded)."""
        return self._numbered(fieldname).occurrences(number)

    def postings_at(self, fieldname: str, number: int) -> tuple[np.ndarray, np.ndarray]:
        """(docnums uint32, weights float64) of term ``number``."""
        return self._numbered(fieldname).postings_at(number)

    def _numbered(self, fieldname: str) -> _Field:
        """The field, whose term numbers the caller holds (a field the file
        lacks has no term: IndexError, as for a number past the last)."""
        field = self._fields.get(fieldname)
        if field is None:
            raise IndexError(f"no term {fieldname}")
        return field

    def terms(self, fieldname: str, start: int = 0):
        """The field's terms (bytes) in sorted order, from term ``start`` on."""
        field = self._fields.get(fieldname)
        return field.terms(start) if field else iter(())

    def span(self, fieldname: str, low: bytes, high: bytes | None,
             most: int) -> tuple[list[bytes], np.ndarray]:
        """The first ``most`` terms ``t`` with ``low <= t < high`` (``high``
        None: to the last term), sorted, and their document frequencies in
        this segment."""
        field = self._fields.get(fieldname)
        return field.span(low, high, most) if field else ([], np.zeros(0, dtype=np.int64))

    def span_counts(self, fieldname: str, low: bytes, high: bytes | None,
                    most: int) -> tuple[int, np.ndarray]:
        """The number of the first term ``span`` lists and the document
        frequencies of its terms, without reading a term."""
        field = self._fields.get(fieldname)
        return field.span_counts(low, high, most) if field else (0, np.zeros(0, dtype=np.int64))

    def terms_at(self, fieldname: str, numbers) -> list[bytes]:
        """The terms numbered ``numbers``."""
        field = self._fields[fieldname]
        return [field.term(int(i)) for i in numbers]

    def terms_between(self, fieldname: str, first: int, last: int) -> list[bytes]:
        """The terms numbered ``first`` to ``last - 1``, read at once."""
        return self._fields[fieldname].block(first, last)

    def span_matching(self, fieldname: str, low: bytes, high: bytes | None, most: int,
                      pattern: re.Pattern) -> tuple[list[bytes], np.ndarray]:
        """The terms of ``span`` (whose terms all start with ``low``) whose
        rest, after ``low``, ``pattern`` finds (a bytes pattern searched
        over the rests one per line; a match may not cross a newline), and
        their document frequencies in this segment."""
        field = self._fields.get(fieldname)
        if field is None:
            return [], np.zeros(0, dtype=np.int64)
        return field.span_matching(low, high, most, pattern)

    def span_size(self, fieldname: str, low: bytes, high: bytes | None, most: int) -> int:
        """How many terms ``span`` would list: two binary searches, no term read."""
        field = self._fields.get(fieldname)
        if field is None:
            return 0
        lo, hi = field.span_range(low, high, most)
        return hi - lo


class _Field:
    def __init__(self, file: ArrayFile, name: str, boost: float):
        self._map = file.map
        self.boost = boost
        self._term_ends = file.array(f"{name}/term_ends")
        self._bytes = file.array(f"{name}/term_bytes")
        self._starts = file.array(f"{name}/starts")
        self._first = file.array(f"{name}/first_doc")
        self._docs = _Runs(file, f"{name}/doc")
        self._freqs = _Runs(file, f"{name}/freq")
        n = self._n = len(self._term_ends)
        self._skip: list[bytes] | None = None
        if (len(self._starts) != n + 1 or len(self._first) != n
                or (n and int(self._term_ends[-1]) != len(self._bytes))
                or not self._docs.fits(n) or not self._freqs.fits(n)):
            raise ValueError(f"flat posting file: the arrays of {name} disagree")
        self.positions = None
        if f"{name}/positions" in file:
            self.positions = file.array(f"{name}/positions")
            self._pos_at = file.array(f"{name}/pos_at")
            if len(self._pos_at) != n + 1 or int(self._pos_at[-1]) != len(self.positions):
                raise ValueError(f"flat posting file: the positions of {name} disagree")

    @property
    def count(self) -> int:
        return self._n

    def term(self, i: int) -> bytes:
        if not 0 <= i < self._n:
            raise IndexError(i)
        start = int(self._term_ends[i - 1]) if i else 0
        return self._bytes[start:int(self._term_ends[i])].tobytes()

    def block(self, first: int, last: int) -> list[bytes]:
        """Terms ``first`` to ``last - 1``, their bytes copied at once (a
        term at a time from the memory map costs several numpy calls each)."""
        if first >= last:
            return []
        ends = self._term_ends[first:last].tolist()
        base = int(self._term_ends[first - 1]) if first else 0
        raw = self._bytes[base:ends[-1]].tobytes()
        return [raw[a - base:b - base] for a, b in zip([base, *ends[:-1]], ends, strict=True)]

    def terms(self, start: int = 0):
        for first in range(max(start, 0), self._n, 1024):
            yield from self.block(first, min(first + 1024, self._n))

    def chunks(self, most: int):
        """(terms, each one's number of postings, documents, frequencies,
        positions or None) for runs of terms of about ``most`` postings."""
        starts = self._starts.astype(np.int64)
        lo = 0
        while lo < self._n:
            # At least one term; then as many as fit in ``most`` postings.
            hi = max(lo + 1, int(np.searchsorted(starts, starts[lo] + most, side="right")) - 1)
            hi = min(hi, self._n)
            counts = np.diff(starts[lo:hi + 1])
            gaps = self._docs.runs(lo, hi, counts)
            freqs = self._freqs.runs(lo, hi, counts) + 1
            # A term's documents: its first, plus the running sum of its gaps
            # (each term's first gap is 0).
            total = np.cumsum(gaps)
            at_first = np.zeros(len(counts), dtype=np.int64)
            filled = counts > 0
            at_first[filled] = total[(np.cumsum(counts) - counts)[filled]]
            docs = (np.repeat(self._first[lo:hi].astype(np.int64) - at_first, counts)
                    + total).astype(np.uint32)
            positions = None
            if self.positions is not None:
                positions = self.positions[int(self._pos_at[lo]):int(self._pos_at[hi])]
            yield self.block(lo, hi), counts, docs, freqs, positions
            lo = hi

    def bisect(self, key: bytes) -> int:
        """The number of the first term not below ``key``."""
        return self._locate(key)[0]

    def find(self, btext: bytes) -> int | None:
        """The term's number, or None."""
        i, term = self._locate(btext)
        return i if term == btext else None

    def _locate(self, key: bytes) -> tuple[int, bytes | None]:
        """The number of the first term not below ``key``, and that term
        (None past the last): a binary search over every SKIP-th term (a
        list made at the first search), then one over the block of SKIP
        terms that holds it, comparing slices of the block's bytes (copied
        at once) rather than making a bytes object of every term in it."""
        if self._skip is None:
            self._skip = self._every_skip_th()
        block = bisect.bisect_right(self._skip, key) - 1
        if block < 0:
            return 0, self._skip[0] if self._skip else None
        first = block * SKIP
        ends = self._term_ends[first:min(first + SKIP, self._n)].tolist()
        base = int(self._term_ends[first - 1]) if first else 0
        raw = self._bytes[base:ends[-1]].tobytes()
        lo, hi = 0, len(ends)
        while lo < hi:
            mid = (lo + hi) // 2
            if raw[(ends[mid - 1] if mid else base) - base:ends[mid] - base] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(ends):
            return first + lo, raw[(ends[lo - 1] if lo else base) - base:ends[lo] - base]
        number = first + lo
        return number, self.term(number) if number < self._n else None

    def _every_skip_th(self) -> list[bytes]:
        """Terms 0, SKIP, 2 * SKIP, ...: their bytes gathered in one numpy
        call, then cut apart.  Made before a field's first look-up, for
        every field of every segment: a term at a time (``term``) it would
        take most of a new process's first answer."""
        if not self._n:
            return []
        chosen = np.arange(0, self._n, SKIP)
        stops = self._term_ends.take(chosen).astype(np.int64)
        starts = np.where(chosen > 0, self._term_ends.take(np.maximum(chosen - 1, 0)),
                          0).astype(np.int64)
        lengths = stops - starts
        cuts = np.cumsum(lengths)
        # Each chosen term's bytes, one term after another.
        at = np.arange(int(cuts[-1])) + np.repeat(starts - cuts + lengths, lengths)
        raw = self._bytes.take(at).tobytes()
        cuts = cuts.tolist()
        return [raw[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]

    def span_range(self, low: bytes, high: bytes | None, most: int) -> tuple[int, int]:
        """The numbers of the first and past the last term ``span`` lists."""
        lo = self.bisect(low)
        return lo, max(lo, min(self._n if high is None else self.bisect(high), lo + most))

    def span_counts(self, low: bytes, high: bytes | None, most: int) -> tuple[int, np.ndarray]:
        lo, hi = self.span_range(low, high, most)
        return lo, np.diff(self._starts[lo:max(lo, hi) + 1].astype(np.int64))

    def span(self, low: bytes, high: bytes | None, most: int) -> tuple[list[bytes], np.ndarray]:
        lo, hi = self.span_range(low, high, most)
        if hi <= lo:
            return [], np.zeros(0, dtype=np.int64)
        counts = np.diff(self._starts[lo:hi + 1].astype(np.int64))
        # The terms' bytes in one slice of the map, cut in Python: a prefix
        # or wildcard may list tens of thousands of terms.
        return self.block(lo, hi), counts

    def span_matching(self, low: bytes, high: bytes | None, most: int,
                      pattern: re.Pattern) -> tuple[list[bytes], np.ndarray]:
        # Why one search over the span's terms laid out one per line, and not
        # a match per term: a wildcard such as *ا* tests most of a field's
        # vocabulary, and a pattern that starts with a literal is searched in
        # C at the speed of a substring search.  Each line is a term without
        # ``low`` (the span's common start), so a match cannot begin inside
        # it.  Terms never hold a newline (the analyzer splits on spaces).
        lo, hi = self.span_range(low, high, most)
        if hi <= lo:
            return [], np.zeros(0, dtype=np.int64)
        base = int(self._term_ends[lo - 1]) if lo else 0
        ends = self._term_ends[lo:hi].astype(np.int64) - base
        starts = np.concatenate(([0], ends[:-1]))
        raw = np.asarray(self._bytes[base:base + int(ends[-1])])
        cut = len(low)
        if cut:
            offset = np.arange(len(raw)) - np.repeat(starts, ends - starts)
            raw = raw[offset >= cut]
        rest_ends = np.cumsum(ends - starts - cut)
        newlines = rest_ends + np.arange(hi - lo)  # each rest's end, after the newlines before it
        lines = np.full(int(newlines[-1]) + 1, ord("\n"), dtype=np.uint8)
        keep = np.ones(len(lines), dtype=bool)
        keep[newlines] = False
        lines[keep] = raw
        at = [m.start() for m in pattern.finditer(lines.tobytes())]
        found = np.searchsorted(newlines, np.array(at, dtype=np.int64))  # sorted: at is
        found = found[np.flatnonzero(np.diff(found, prepend=-1))]  # one per line
        whole = self._bytes[base:base + int(ends[-1])].tobytes()
        terms = [whole[a:b] for a, b in zip(starts[found].tolist(), ends[found].tolist(),
                                            strict=True)]
        first = found + lo
        counts = self._starts[first + 1].astype(np.int64) - self._starts[first].astype(np.int64)
        return terms, counts

    def doc_count(self, i: int) -> int:
        if not 0 <= i < self._n:
            raise IndexError(i)
        return int(self._starts[i + 1]) - int(self._starts[i])

    def occurrences(self, i: int) -> int:
        count = self.doc_count(i)
        return count + int(self._freqs.run(i, count).sum(dtype=np.int64))

    def _docs_of(self, i: int) -> np.ndarray:
        gaps = self._docs.run(i, self.doc_count(i))
        return np.cumsum(gaps, dtype=np.uint32) + np.uint32(self._first[i])

    def postings(self, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        found = self.find(btext)
        if found is None:
            return _EMPTY_DOCS, _EMPTY_WEIGHTS
        return self.postings_at(found)

    def postings_at(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        freqs = self._freqs.run(i, self.doc_count(i)) + 1.0
        return self._docs_of(i), freqs * self.boost

    def _begins(self, i: int) -> np.ndarray:
        """Where each of term ``i``'s postings' positions begin in
        ``positions`` (plus the end)."""
        freqs = self._freqs.run(i, self.doc_count(i)).astype(np.int64) + 1
        return int(self._pos_at[i]) + np.concatenate([[0], np.cumsum(freqs)])

    def all_positions(self, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        found = self.find(btext)
        if found is None:
            return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        begins = self._begins(found)
        return begins - begins[0], self.positions[int(begins[0]):int(begins[-1])]

    def positions_in(self, btext: bytes, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = self.find(btext)
        if found is None or not len(docs):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        postings = np.searchsorted(self._docs_of(found), docs)
        all_begins = self._begins(found)
        begins = all_begins[postings]
        counts = all_begins[postings + 1] - begins
        owner = np.repeat(np.arange(len(docs)), counts)
        # Each posting's run of positions, gathered in one indexing operation.
        first = np.cumsum(counts) - counts
        where = np.arange(int(counts.sum())) - np.repeat(first - begins, counts)
        return owner, self.positions[where].astype(np.int64)


class _Runs:
    """Runs written by ``pack_runs``, read one at a time."""

    def __init__(self, file: ArrayFile, prefix: str):
        self._map = file.map
        self._base = file.offset(f"{prefix}_bytes")
        self._size = len(file.array(f"{prefix}_bytes"))
        self._widths = file.array(f"{prefix}_width")
        self._at = file.array(f"{prefix}_at")

    def fits(self, n: int) -> bool:
        return (len(self._widths) == n and len(self._at) == n + 1
                and (not n or int(self._at[-1]) == self._size))

    def runs(self, lo: int, hi: int, counts: np.ndarray) -> np.ndarray:
        """Runs ``lo`` to ``hi`` (``counts`` values each) one after the other, as int64."""
        n = int(counts.sum())
        widths = self._widths[lo:hi].astype(np.int64)
        if np.any((widths != 0) & (widths != 1) & (widths != 2) & (widths != 4)):
            raise ValueError("flat posting file: a run has an unknown width")
        width_of = np.repeat(widths, counts)
        within = np.arange(n, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        offset = np.repeat(self._at[lo:hi].astype(np.int64), counts) + within * width_of
        del within
        out = np.zeros(n, dtype=np.int64)
        raw = np.frombuffer(self._map, dtype=np.uint8, count=self._size, offset=self._base)
        for width in (1, 2, 4):
            chosen = np.flatnonzero(width_of == width)
            if not len(chosen):
                continue
            where = offset[chosen]
            if int(where.max()) + width > self._size:
                raise ValueError("flat posting file: a run lies outside its array")
            data = raw[where[:, None] + np.arange(width)]
            out[chosen] = np.ascontiguousarray(data).view(f"<u{width}").ravel()
        return out

    def run(self, i: int, count: int) -> np.ndarray:
        width = int(self._widths[i])
        start = int(self._at[i])
        if width not in (0, 1, 2, 4) or start + width * count > self._size:
            raise ValueError("flat posting file: a run lies outside its array")
        if not width:
            return np.zeros(count, dtype=np.uint8)
        return np.frombuffer(self._map, dtype=f"<u{width}", count=count,
                             offset=self._base + start)


def flat_path(folder: str, segment) -> str:
    """Where ``segment``'s flat posting file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))
