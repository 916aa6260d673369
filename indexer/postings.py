"""A segment's postings, collected as arrays and sorted once with numpy.

Why not Whoosh's posting pool: it makes a Python tuple per posting (term,
document), pickles, sorts and merges them one at a time, and its codec then
encodes them 128 at a time in Python: most of a build's time
(docs/performance.md).  Here a field's words are kept as they
come, one array entry per word (term number, document, position), appended in
C; when the segment is written they are sorted in one ``argsort`` and turned
into posting lists (documents, frequencies, positions) with array operations.

A stream's numbers stand either for terms (``TermWords``: a dict per field,
for ids and dates, and for postings merged from another segment) or for
distinct surface words (``SurfaceTable``, ``TextStream``): a text is then
looked up once per word, and its views (``body_exact``, ``body_skel``) share
the body's stream; each field's term of a surface word is found once per
segment, when the segment is written.  Terms are sorted by their UTF-8 bytes
(Whoosh's order) only at the end.

A text's stream keeps every word, those not indexed (stopwords) as
NOT_INDEXED, and no positions: a word's position is the number of indexed
words before it in its document (plus SECTION_GAP a section break before
it), computed for all words at once when the segment is written: dropping
stopwords and counting positions word by word in Python cost about as much
as the rest of numbering a text (docs/performance.md).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass
from itertools import accumulate, chain, count

import numpy as np

from indexer.analysis import SECTION_GAP


@dataclass
class FieldPostings:
    """One field's postings, sorted by term then document."""

    terms: list[bytes]  # sorted
    starts: np.ndarray  # uint64, len(terms) + 1: where each term's postings begin
    docs: np.ndarray  # uint32 segment document numbers
    freqs: np.ndarray  # uint32 occurrences of the term in the document
    positions: np.ndarray | None = None  # uint32, posting after posting
    pos_starts: np.ndarray | None = None  # uint64, len(docs) + 1


#: The number ``SurfaceTable`` gives a word its analyzer does not index.
NOT_INDEXED = -1
#: A text as ``SurfaceTable.number`` gives it: each word's number, where its
#: sections after the first begin, and how many of its words are indexed.
Numbered = tuple[np.ndarray, list[int], int]


class TokenStream:
    """Numbered terms of one field in one segment (``TermWords``, and
    postings merged from another segment): per word its number, document
    and (optionally) position."""

    def __init__(self, positional: bool):
        self.ids = array("I")
        # The document of each word, as runs: (document, how many words).
        self.run_docs = array("I")
        self.run_lengths = array("I")
        self.positions = array("I") if positional else None
        self.in_doc_order = True  # documents come in increasing order

    def add(self, docnum: int, ids: list[int], positions: list[int] | None = None) -> None:
        if self.run_docs and docnum < self.run_docs[-1]:
            self.in_doc_order = False
        # fromlist: a quarter faster than extend() from an iterator.
        self.ids.fromlist(ids)
        self.run_docs.append(docnum)
        self.run_lengths.append(len(ids))
        if self.positions is not None:
            self.positions.fromlist(positions)

    def add_runs(self, number: int, docs: np.ndarray, counts: np.ndarray,
                 positions: np.ndarray | None = None) -> None:
        """One term's postings at once (a merge): ``counts[i]`` words
        numbered ``number`` in document ``docs[i]``, at ``positions``."""
        self.add_postings(np.full(len(docs), number, dtype=np.uint32), docs, counts, positions)

    def add_postings(self, numbers: np.ndarray, docs: np.ndarray, counts: np.ndarray,
                     positions: np.ndarray | None = None) -> None:
        """Postings of several terms at once (a merge): ``counts[i]`` words
        numbered ``numbers[i]`` in document ``docs[i]``, at ``positions``."""
        if not len(docs):
            return
        if (self.run_docs and int(docs[0]) < self.run_docs[-1]) or np.any(np.diff(docs) < 0):
            self.in_doc_order = False
        self.ids.frombytes(np.repeat(numbers.astype(np.uint32), counts).tobytes())
        self.run_docs.frombytes(docs.astype(np.uint32).tobytes())
        self.run_lengths.frombytes(counts.astype(np.uint32).tobytes())
        if self.positions is not None:
            self.positions.frombytes(positions.astype(np.uint32).tobytes())

    def __len__(self) -> int:
        return len(self.ids)

    def docs(self) -> np.ndarray:
        return np.repeat(_as_array(self.run_docs, np.uint32),
                         _as_array(self.run_lengths, np.uint32))

    def arrays(self, positional: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Each word's number, document and, if ``positional``, position."""
        positions = _as_array(self.positions, np.uint32) if positional else None
        return _as_array(self.ids, np.uint32), self.docs(), positions


class TextStream:
    """The words of an analyzed text field (and its views) in one segment,
    numbered by a ``SurfaceTable``: every word of each document, NOT_INDEXED
    for those not indexed, and where its sections after the first begin."""

    def __init__(self):
        self.ids = array("i")
        self.run_docs = array("I")
        self.run_lengths = array("I")
        # (first word, end of its document) of each section after the first.
        self.sections = array("q")
        self.words = 0  # indexed words
        self.in_doc_order = True

    def add(self, docnum: int, numbered: Numbered) -> None:
        numbers, section_starts, length = numbered
        if self.run_docs and docnum < self.run_docs[-1]:
            self.in_doc_order = False
        start = len(self.ids)
        self.ids.frombytes(memoryview(numbers).cast("B"))
        self.run_docs.append(docnum)
        self.run_lengths.append(len(numbers))
        self.words += length
        if section_starts:  # rare: most texts are one section
            end = start + len(numbers)
            for first in section_starts:
                self.sections.extend((start + first, end))

    def __len__(self) -> int:
        return self.words

    def arrays(self, positional: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Each indexed word's number, document and, if ``positional``, its
        position (those of the analyzer's ``index_words``)."""
        ids = _as_array(self.ids, np.int32)
        lengths = _as_array(self.run_lengths, np.uint32).astype(np.int32)
        docs = np.repeat(_as_array(self.run_docs, np.uint32), lengths)
        kept = ids >= 0
        positions = None
        if positional:
            # A word's indexed words before it in the stream, less those
            # before its document.  (int32: a segment holds far fewer words.)
            before = np.cumsum(kept, dtype=np.int32)
            before -= kept
            before = np.append(before, np.int32(np.count_nonzero(kept)))
            positions = before[:-1] - np.repeat(before[np.cumsum(lengths) - lengths], lengths)
            if len(self.sections):
                bounds = np.frombuffer(self.sections, dtype=np.int64).reshape(-1, 2)
                steps = np.zeros(len(ids) + 1, dtype=np.int32)
                np.add.at(steps, bounds[:, 0], SECTION_GAP)
                np.add.at(steps, bounds[:, 1], -SECTION_GAP)
                positions += np.cumsum(steps[:-1], dtype=np.int32)
            positions = positions[kept].astype(np.uint32)
        return ids[kept].astype(np.uint32), docs[kept], positions


class TermWords:
    """A stream whose numbers stand for terms (str or Whoosh's bytes)."""

    def __init__(self, positional: bool):
        self.ids: defaultdict[str | bytes, int] = defaultdict(count().__next__)
        self.stream = TokenStream(positional)

    def add(self, docnum: int, terms: list, positions: list[int] | None = None) -> None:
        self.stream.add(docnum, list(map(self.ids.__getitem__, terms)), positions)

    def add_runs(self, term, docs: np.ndarray, counts: np.ndarray,
                 positions: np.ndarray | None = None) -> None:
        self.stream.add_runs(self.ids[term], docs, counts, positions)

    def terms(self) -> list[str | bytes]:
        """The term of each number (a dict keeps insertion order)."""
        return list(self.ids)


class SurfaceTable:
    """The distinct surface words of a segment's analyzed texts, each
    analyzed once by ``analyzer``: the indexed ones numbered (their term
    kept), the others (stopwords...) known as NOT_INDEXED.

    Why not a dict from word to number: a segment knows a few hundred
    thousand words, and a dict look-up of a word just split from a text
    compares it with the word it holds, a read far away in memory for
    nearly every word of every text: the largest part of numbering a text.
    Here a word is known by its str hash (computed in C, on the fresh
    word), and a document's hashes are looked up together in a
    ``HashTable``.  Two words of one segment share a 64-bit hash with a
    probability of about n²/2⁶⁵ (2e-9 for 300,000 words): the later one
    would be indexed as the earlier.  Words new to the segment wait in a
    dict (``_recent``) and join the table a batch at a time."""

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.surfaces: list[str] = []
        self.terms: list[str] = []
        self._known = HashTable()
        self._recent: dict[int, int] = {}  # hash -> number, not yet in _known

    def number(self, texts: list[list[list[str]]]) -> list[Numbered]:
        """Texts, each split in sections, numbered: per text, the number of
        each word (NOT_INDEXED for a word not indexed), where each section
        after the first begins, and how many words are indexed.  A
        document's texts come together: one look-up for all their words."""
        words = list(chain.from_iterable(chain.from_iterable(texts)))
        hashes = np.fromiter(map(hash, words), np.int64, len(words))
        numbers = self._known.get(hashes)
        for i in np.flatnonzero(numbers == MISSING).tolist():
            numbers[i] = self._new(words[i])
        if len(self._recent) >= RECENT_WORDS:
            self._known.add(self._recent)
            self._recent = {}
        not_indexed = numbers == NOT_INDEXED
        out = []
        start = 0
        for sections in texts:
            section_starts = list(accumulate(len(words) for words in sections[:-1]))
            end = start + (section_starts[-1] if section_starts else 0) + len(sections[-1])
            out.append((numbers[start:end], section_starts,
                        end - start - int(np.count_nonzero(not_indexed[start:end]))))
            start = end
        return out

    def _new(self, word: str) -> int:
        key = hash(word)  # cached on the str
        number = self._recent.get(key)  # twice in one text, or since the last batch
        if number is None:
            term = self.analyzer.index_term(word)
            number = len(self.surfaces) if term else NOT_INDEXED
            self._recent[key] = number
            if term:
                self.surfaces.append(word)
                self.terms.append(term)
        return number


#: ``HashTable.get``'s number of a hash it does not hold.
MISSING = -2
#: Words new to a segment join its ``HashTable`` this many at a time.
RECENT_WORDS = 1024


class HashTable:
    """A set of int64 keys (str hashes: never -1, which marks an empty
    slot), each with an int32 value, looked up many at a time.

    Open addressing with linear probing in numpy arrays, at most a quarter
    full, so that most keys are found at their first slot: a look-up is a
    few array operations over all the keys asked for, whose reads from
    memory the processor overlaps, where a dict reads one key at a time."""

    EMPTY = -1
    LOAD = 0.25

    def __init__(self, slots: int = 4096):
        self.keys = np.full(slots, self.EMPTY, dtype=np.int64)
        self.values = np.zeros(slots, dtype=np.int32)
        self.size = 0

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each of ``keys`` (int64), MISSING for a key not held."""
        mask = len(self.keys) - 1
        slots = keys & mask
        found = self.keys.take(slots)
        out = self.values.take(slots)
        probing = np.flatnonzero(found != keys)
        while probing.size:
            empty = found[probing] == self.EMPTY
            out[probing[empty]] = MISSING
            probing = probing[~empty]
            slots[probing] = (slots[probing] + 1) & mask
            found[probing] = self.keys.take(slots[probing])
            hit = found[probing] == keys[probing]
            out[probing[hit]] = self.values.take(slots[probing[hit]])
            probing = probing[~hit]
        return out

    def add(self, entries: dict[int, int]) -> None:
        """Add ``entries`` (key -> value; keys not held yet)."""
        keys = np.fromiter(entries.keys(), np.int64, len(entries))
        values = np.fromiter(entries.values(), np.int32, len(entries))
        if (self.size + len(keys)) > self.LOAD * len(self.keys):
            held = np.flatnonzero(self.keys != self.EMPTY)
            keys = np.concatenate([self.keys.take(held), keys])
            values = np.concatenate([self.values.take(held), values])
            slots = 1 << int(np.ceil(np.log2(len(keys) / self.LOAD)))
            self.keys = np.full(slots, self.EMPTY, dtype=np.int64)
            self.values = np.zeros(slots, dtype=np.int32)
            self.size = 0
        self._place(keys, values)

    def _place(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Put distinct new keys in the first free slot from their own, all
        at once: of the keys that meet at a free slot, the first takes it
        and the others go on to the next slot, as one at a time would."""
        self.size += len(keys)
        mask = len(self.keys) - 1
        slots = keys & mask
        while len(keys):
            free = np.flatnonzero(self.keys.take(slots) == self.EMPTY)
            _, first = np.unique(slots.take(free), return_index=True)
            taking = free.take(first)
            self.keys[slots.take(taking)] = keys.take(taking)
            self.values[slots.take(taking)] = values.take(taking)
            waiting = np.ones(len(keys), dtype=bool)
            waiting[taking] = False
            keys, values = keys[waiting], values[waiting]
            slots = (slots[waiting] + 1) & mask


@dataclass
class RankedTerms:
    """The term of each number of a stream (``TermWords``, or a text field's
    terms of a ``SurfaceTable``'s words), as ranks among its distinct terms
    in Whoosh's order."""

    distinct: list[bytes]  # sorted
    ranks: np.ndarray  # uint32, per number; len(distinct) for "" (no term)

    @classmethod
    def of(cls, terms: list) -> RankedTerms:
        """Why once per terms list: the body, the headline and the keywords
        share their table's terms, and ranking a table's few hundred
        thousand words is most of writing a field's postings."""
        distinct, rank_of = _ranked(set(terms))
        return cls(distinct, np.fromiter(map(rank_of.__getitem__, terms), np.uint32, len(terms)))


def field_postings(sources: list[tuple[RankedTerms, TokenStream | TextStream]],
                   positional: bool) -> FieldPostings:
    """Sort numbered words into one field's posting lists.

    ``sources``: (the terms of a stream's numbers, the stream).  A view
    reads the body's stream with its own terms; merged postings come as a
    second source.
    """
    sources = sources or [(RankedTerms.of([]), TokenStream(positional))]
    arrays = [stream.arrays(positional) for _, stream in sources]
    # Each word's rank among its source's terms, then among the field's:
    # only the terms present (a table is shared by several fields).
    ranks = [ranked.ranks.take(ids) for (ranked, _), (ids, _, _) in zip(sources, arrays,
                                                                       strict=True)]
    present = [np.flatnonzero(np.bincount(found, minlength=len(ranked.distinct) + 1)[:-1])
               for (ranked, _), found in zip(sources, ranks, strict=True)]
    found = [[ranked.distinct[i] for i in used.tolist()]
             for (ranked, _), used in zip(sources, present, strict=True)]
    distinct = found[0] if len(sources) == 1 else sorted(set().union(*found))
    rank_of = None if len(sources) == 1 else {term: i for i, term in enumerate(distinct)}
    none = len(distinct)  # the rank of "no term"
    for k, ((ranked, _), used, used_terms) in enumerate(zip(sources, present, found,
                                                           strict=True)):
        field_rank = np.full(len(ranked.distinct) + 1, none, dtype=np.uint32)
        field_rank[used] = (np.arange(len(used)) if rank_of is None
                            else list(map(rank_of.__getitem__, used_terms)))
        ranks[k] = field_rank.take(ranks[k])
    docs = [stream_docs for _, stream_docs, _ in arrays]
    positions = [stream_positions for _, _, stream_positions in arrays]
    in_order = len(sources) == 1 and sources[0][1].in_doc_order
    ranks, docs = np.concatenate(ranks), np.concatenate(docs)
    positions = np.concatenate(positions) if positional else None
    indexed = ranks != none
    if not indexed.all():
        ranks, docs = ranks[indexed], docs[indexed]
        positions = positions[indexed] if positional else None
    if positional:
        # Words come document after document (a merge may break that: then
        # documents are a second key).  Sorted by term, each document's words
        # stay in the order they came, so positions stay sorted: the order
        # a stable sort gives, here by sorting (term, place) keys, which
        # are distinct, several times faster than numpy's stable argsort.
        if in_order:
            perm = (ranks.astype(np.uint64) << np.uint64(32)) | np.arange(len(ranks),
                                                                        dtype=np.uint64)
            perm.sort()
            perm = (perm & np.uint64(0xFFFFFFFF)).astype(np.intp)
        else:
            perm = np.lexsort((docs, ranks))
        ranks, docs = ranks.take(perm), docs.take(perm)
    else:
        # No positions to carry along: sort (term, document) keys themselves,
        # about twice as fast as a stable argsort and two gathers.
        key = (ranks.astype(np.uint64) << np.uint64(32)) | docs.astype(np.uint64)
        key.sort()
        ranks, docs = (key >> np.uint64(32)).astype(np.uint32), key.astype(np.uint32)
        del key
    new = np.ones(len(ranks), dtype=bool)
    new[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
    first = np.flatnonzero(new)
    del new
    out = FieldPostings(
        terms=distinct,
        starts=np.concatenate(([0], np.cumsum(np.bincount(ranks.take(first),
                                                          minlength=len(distinct))))
        ).astype(np.uint64),
        docs=docs[first],
        freqs=np.diff(np.append(first, len(ranks))).astype(np.uint32),
    )
    if positional:
        out.positions = positions.take(perm)
        out.pos_starts = np.append(first, len(ranks)).astype(np.uint64)
    return out


def _ranked(terms: set) -> tuple[list[bytes], dict]:
    """The distinct terms' bytes in Whoosh's order, and each term's rank
    there (a term that is no term: the rank after the last).

    Why the str case: an analyzed field's terms are str, many surface words
    sharing one, and str order is the order of their UTF-8 bytes (code
    point order), so only the distinct terms are encoded, once sorted."""
    if all(isinstance(term, str) for term in terms):
        ordered = sorted(terms - {""})
        rank_of = dict(zip(ordered, range(len(ordered)), strict=True))
        rank_of[""] = len(ordered)
        return [term.encode("utf-8") for term in ordered], rank_of
    encoded = {term: _encode(term) for term in terms}
    distinct = sorted(set(encoded.values()) - {None})
    rank = {term: i for i, term in enumerate(distinct)}
    return distinct, {term: rank.get(data, len(distinct)) for term, data in encoded.items()}


def _encode(term: str | bytes) -> bytes | None:
    """A term's bytes; None for "" from the analyzer (no term).  Whoosh's
    bytes terms may be empty (an empty id or source is indexed as b"")."""
    if isinstance(term, str):
        return term.encode("utf-8") if term else None
    return term


def _as_array(values: array, dtype) -> np.ndarray:
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype=dtype)
