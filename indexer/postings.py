"""A segment's postings, collected as arrays and sorted once with numpy.

Why not Whoosh's posting pool: it makes a Python tuple per posting (term,
document), pickles, sorts and merges them one at a time, and its codec then
encodes them 128 at a time in Python.  That was two thirds of a build
(docs/performance.md, "Indexing").  Here a field's words are kept as they
come, one array entry per word (term number, document, position), appended in
C; when the segment is written they are sorted in one ``argsort`` and turned
into posting lists (documents, frequencies, positions) with array operations.

Term numbers are given in order of first appearance (a dict per field); the
terms are sorted by their UTF-8 bytes (Whoosh's order) only at the end.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass
from itertools import count

import numpy as np
from whoosh.util.numeric import _length_byte_cache


@dataclass
class FieldPostings:
    """One field's postings, sorted by term then document."""

    terms: list[bytes]  # sorted
    starts: np.ndarray  # uint64, len(terms) + 1: where each term's postings begin
    docs: np.ndarray  # uint32 segment document numbers
    freqs: np.ndarray  # uint32 occurrences of the term in the document
    lengths: np.ndarray  # uint32 field length of every document of the segment
    positions: np.ndarray | None = None  # uint32, posting after posting
    pos_starts: np.ndarray | None = None  # uint64, len(docs) + 1

    def term_stats(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Per term what Whoosh's term info holds: total weight, document
        frequency, shortest and longest field length (as Whoosh's one-byte
        codes), largest weight, first and last document."""
        first = self.starts[:-1].astype(np.intp)
        last = self.starts[1:].astype(np.intp) - 1
        if not len(first):
            return {name: np.zeros(0) for name in ("weight", "df", "minlength", "maxlength",
                                                   "maxweight", "minid", "maxid")}
        lengths = self.lengths[self.docs]
        return {
            "weight": np.add.reduceat(weights, first),
            "df": np.diff(self.starts),
            "minlength": length_bytes(np.minimum.reduceat(lengths, first)),
            "maxlength": length_bytes(np.maximum.reduceat(lengths, first)),
            "maxweight": np.maximum.reduceat(weights, first),
            "minid": self.docs[first],
            "maxid": self.docs[last],
        }


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """Whoosh's ``length_to_byte`` for an array (its one-byte length codes)."""
    codes = np.searchsorted(np.asarray(_length_byte_cache), lengths, side="left")
    return np.minimum(codes, 255).astype(np.uint8)


class FieldWords:
    """Every indexed word of one field in one segment, as appended arrays."""

    def __init__(self, positional: bool):
        # term (str from arshif's analyzer, else Whoosh's bytes) -> number
        self.ids: defaultdict[str | bytes, int] = defaultdict(count().__next__)
        self.term_ids = array("I")
        # The document of each word, as runs: (document, how many words).
        self.run_docs = array("I")
        self.run_lengths = array("I")
        self.positions = array("I") if positional else None
        self.in_doc_order = True  # documents come in increasing order

    def add(self, docnum: int, terms: list, positions: list[int] | None = None) -> None:
        """Append one document's words (with their positions, for a
        positional field)."""
        if self.run_docs and docnum < self.run_docs[-1]:
            self.in_doc_order = False
        # fromlist: a quarter faster than extend() from an iterator.
        self.term_ids.fromlist(list(map(self.ids.__getitem__, terms)))
        self.run_docs.append(docnum)
        self.run_lengths.append(len(terms))
        if self.positions is not None:
            self.positions.fromlist(positions)

    def add_posting(self, docnum: int, term: str | bytes, freq: int,
                    positions: list[int] | None = None) -> None:
        """Append a posting read from another segment (a merge)."""
        self.add(docnum, [term] * freq, positions)

    def __len__(self) -> int:
        return len(self.term_ids)

    def postings(self, doc_count: int, scorable: bool) -> FieldPostings:
        """Sort the words into posting lists; ``doc_count`` documents in the
        segment (lengths are counted for ``scorable`` fields, else 0)."""
        words = self.terms_in_id_order()
        if not words:
            empty = np.zeros(0, dtype=np.uint32)
            return FieldPostings([], np.zeros(1, dtype=np.uint64), empty, empty,
                                 np.zeros(doc_count, dtype=np.uint32),
                                 empty if self.positions is not None else None,
                                 np.zeros(1, dtype=np.uint64)
                                 if self.positions is not None else None)
        encoded = [w.encode("utf-8") if isinstance(w, str) else w for w in words]
        order = sorted(range(len(encoded)), key=encoded.__getitem__)
        rank = np.empty(len(order), dtype=np.uint32)
        rank[order] = np.arange(len(order), dtype=np.uint32)
        ranks = rank[_as_array(self.term_ids, np.uint32)]
        docs = np.repeat(_as_array(self.run_docs, np.uint32),
                         _as_array(self.run_lengths, np.uint32))
        # Words come document after document (a merge may break that: then
        # documents are a second key).  A stable sort by term keeps each
        # document's words in the order they came, so positions stay sorted.
        if self.in_doc_order:
            perm = np.argsort(ranks, kind="stable")
        else:
            perm = np.lexsort((docs, ranks))
        ranks, docs = ranks[perm], docs[perm]
        new = np.ones(len(ranks), dtype=bool)
        new[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        first = np.flatnonzero(new)
        del new
        lengths = (np.bincount(docs, minlength=doc_count).astype(np.uint32) if scorable
                   else np.zeros(doc_count, dtype=np.uint32))
        out = FieldPostings(
            terms=[encoded[i] for i in order],
            starts=np.searchsorted(ranks[first], np.arange(len(order) + 1)).astype(np.uint64),
            docs=docs[first],
            freqs=np.diff(np.append(first, len(ranks))).astype(np.uint32),
            lengths=lengths,
        )
        if self.positions is not None:
            out.positions = _as_array(self.positions, np.uint32)[perm]
            out.pos_starts = np.append(first, len(ranks)).astype(np.uint64)
        return out

    def terms_in_id_order(self) -> list[str | bytes]:
        return list(self.ids)  # a dict keeps insertion order: term number order


def _as_array(values: array, dtype) -> np.ndarray:
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype=dtype)
