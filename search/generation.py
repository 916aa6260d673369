"""One published generation, opened for search: its segments' arrays.

Each segment of an index written by arshif has a flat posting file
(indexer/flat.py) and a doc values file (indexer/docvalues.py); both are
memory-mapped here, once per generation, and shared by every thread.  A
term's postings across segments become one array of global document
numbers (each segment's shifted by its offset, as Whoosh's searcher numbers
them, deleted documents dropped) and one array of BM25F contributions,
kept in a bounded cache (search/matching.py combines them per query).
The generation's stories file (indexer/stories.py: which articles are one
story) is mapped beside them.

Why not Whoosh's matchers: they walk a posting list one document at a time
in Python, so a frequent term cost milliseconds per query.  Whoosh still
owns the index (its TOC, stored fields, deletions), and its statistics
(document frequencies, field lengths) are read through its public searcher
API.
"""

from __future__ import annotations

import heapq
import math
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np

from indexer.arrayfile import ArrayFileError
from indexer.docvalues import BYTE_TO_LENGTH, DocValues, docvalues_path
from indexer.flat import FlatPostings, flat_path
from indexer.store import IndexDamaged
from indexer.stored import StoredFields, stored_path
from indexer.stories import Stories

#: Memory for cached term arrays per generation and process: a term costs
#: 12 bytes a posting, and the terms of a few hundred varied queries over a
#: million articles take hundreds of megabytes (docs/performance.md).
CACHE_BYTES = 1024 * 2**20
#: What a cache entry costs beyond its arrays (the key, the tuple, the
#: arrays' headers): counted so that many tiny entries are bounded too.
ENTRY_OVERHEAD = 512
#: Best-scoring documents kept per term for pruned rankings.
TOP_DOCS = 128
#: A term's best score is kept per block of 2**BLOCK_SHIFT document
#: numbers for pruned rankings (``term_blocks``): smaller blocks bound the
#: documents more tightly and cost more to add up per query.
BLOCK_SHIFT = 6

#: Whoosh's date column counts microseconds from ``datetime.min``; day
#: numbers count days from 1970-01-01, as numpy's ``datetime64[D]`` does.
MICROSECONDS_A_DAY = 86_400 * 10**6
EPOCH_DAY = (date(1970, 1, 1) - date.min).days

_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))


class Expansion(tuple):
    """The terms (texts) a prefix, wildcard, regular expression or fuzzy
    term is searched as in one field, standing as one term's text: its
    postings are their union, each document's scores added up in the
    terms' order (as Whoosh adds up an expansion's OR before the query's
    other terms), made once and kept like a term's.  ``postings``: the
    terms' document frequencies added up, what reading them all costs (a
    request is charged that for the union, search/budget.py, whether or
    not it is kept already: the same request is cut at the same point).

    Why: a prefix expands into up to a hundred terms a field, mostly short
    lists, and joining, weighting and adding hundreds of lists cost most
    of its ranking, query after query; its union is one list to add, and
    the pruned ranking bounds it as it bounds a word."""

    def __new__(cls, texts, postings: int = 0):
        found = super().__new__(cls, texts)
        found.postings = postings
        return found


@dataclass(frozen=True)
class Leaf:
    """One segment: where its documents start, and its files."""

    offset: int
    count: int
    flat: FlatPostings
    docs: DocValues
    stored: StoredFields


#: Answers derived from a generation alone (a prefix's expansion, a word's
#: respelling) kept per generation: small each (a hundred terms or fewer).
DERIVED_KEPT = 2048
_MISSING = object()

#: A span of at most this many terms (over all segments) is read whole by
#: ``span_frequent``: reading a term costs less than looking one up.
READ_ALL_TERMS = 2_000


class Generation:
    """The arrays of one generation, read-only, shared by threads.

    ``searcher`` (a Whoosh searcher over the generation) is read only here,
    for the segments and the collection statistics.
    """

    def __init__(self, searcher, folder: str, k1: float, b: float,
                 cache_bytes: int = CACHE_BYTES):
        self.k1, self.b = k1, b
        self.schema = searcher.schema
        self.doc_count_all = searcher.doc_count_all()
        self.leaves = [_open_leaf(folder, sub, offset) for sub, offset in searcher.leaf_searchers()]
        self._starts = [leaf.offset for leaf in self.leaves]
        self.live = np.zeros(self.doc_count_all, dtype=bool)
        for (sub, offset) in searcher.leaf_searchers():
            reader = sub.reader()
            if reader.has_deletions():  # listed one by one: Whoosh walks every document
                self.live[np.fromiter(reader.all_doc_ids(), dtype=np.int64) + offset] = True
            else:
                self.live[offset:offset + reader.doc_count_all()] = True
        self.all_live = bool(self.live.all())
        self.live_docs = np.flatnonzero(self.live).astype(np.int32)
        self.stories = _open_stories(folder, self.doc_count_all)
        self.avg_length = {name: searcher.avg_field_length(name) or 1.0
                           for name, field in self.schema.items() if field.scorable}
        self._lock = threading.Lock()
        self._per_doc: dict = {}
        self._cache: OrderedDict = OrderedDict()
        self._derived: OrderedDict = OrderedDict()
        self.cached_bytes = 0
        self.cache_bytes = cache_bytes

    # -- postings -----------------------------------------------------------
    def term(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25F contribution) of one term, unboosted, sorted by
        document; cached.  ``text`` may be an ``Expansion`` (a prefix's
        terms): their union."""
        return self._cached((fieldname, text), lambda: self._load_term(fieldname, text))

    def terms(self, keys: list[tuple[str, object]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``term`` of each (fieldname, text) of ``keys``, the cache read
        once for them all: a query holds up to dozens of terms in five
        fields, and a look-up each cost as much as adding short lists up."""
        return self._cached_all(keys, self.term)

    def summand(self, fieldname: str, text, boost: float) -> tuple[np.ndarray, np.ndarray]:
        """A term's documents as ``intp`` and its contributions times
        ``boost``: what a sum of terms adds up for it (search/matching.py's
        ``_add_postings``); cached.  Why: ``np.add.at`` takes its indices as
        ``intp``, and converting a long list's document numbers and weighting
        its contributions, query after query, cost more than half of adding
        them up."""
        return self._cached(("#sum", fieldname, text, boost),
                            lambda: summand_of(*self.term(fieldname, text), boost))

    def dense_summand(self, fieldname: str, text, boost: float) -> np.ndarray:
        """A term's contributions times ``boost`` at every document (0 where
        it has none): what a sum adds up for a term of at least
        1/DENSE_SUMMAND of the documents (search/matching.py's
        ``_add_postings``), in one pass over the sums; cached instead of
        its ``summand``, which takes as much memory or more (sixteen bytes
        a posting against eight a document).  Why: adding a posting at its
        document costs several times adding a document's value in order,
        and a broad word's list holds most of the documents (adding 0
        leaves a sum as it was, to the bit)."""
        def load():
            found = np.zeros(self.doc_count_all)
            put(found, *summand_of(*self.term(fieldname, text), boost))
            return (found,)
        return self._cached(("#dense", fieldname, text, boost), load)[0]

    def term_tops(self, keys: list[tuple[str, object]]
                  ) -> list[tuple[np.ndarray, float, float]]:
        """For each (fieldname, text) of ``keys``, the TOP_DOCS documents
        where the term scores best (sorted by document), its best score and
        its lowest, unboosted: where a pruned ranking starts, what bounds it,
        and whether every match is where a score was added
        (search/matching.py); cached, read as ``terms``."""
        def load(_, fieldname, text):
            return self._cached(("#top", fieldname, text),
                                lambda: best_of(*self.term(fieldname, text)))

        return [(docs, float(scores[0]), float(scores[1])) for docs, scores
                in self._cached_all([("#top", *key) for key in keys], load)]

    def term_blocks(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """Where each block of 2**BLOCK_SHIFT document numbers starts in a
        term's postings (and, last, where they end), and the term's best
        score in each block, unboosted (0 where it has none above 0): what
        bounds the sums a block's documents can reach in a pruned ranking
        (search/matching.py's ``_blocked``); cached."""
        return self._cached(("#blocks", BLOCK_SHIFT, fieldname, text),
                            lambda: blocks_of(*self.term(fieldname, text), self.doc_count_all))

    def _postings(self, fieldname: str, btext: bytes) -> tuple[list, list, int]:
        ids, weights, frequency = [], [], 0
        for leaf in self.leaves:
            docs, w = leaf.flat.postings(fieldname, btext)
            frequency += len(docs)
            if len(docs):
                ids.append(docs.astype(np.int32) + leaf.offset)
                weights.append(w.astype(np.float64))
        return ids, weights, frequency

    def _load_term(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        if fieldname not in self.schema:
            return _EMPTY
        if isinstance(text, Expansion):
            return union_of([self._load_term(fieldname, t) for t in text], self.doc_count_all)
        field = self.schema[fieldname]
        try:
            btext = field.to_bytes(text)
        except ValueError:
            return _EMPTY
        ids, weights, frequency = self._postings(fieldname, btext)
        if not ids:
            return _EMPTY
        docnums, tf = np.concatenate(ids), np.concatenate(weights)
        if not self.all_live:
            keep = self.live[docnums]
            docnums, tf = docnums[keep], tf[keep]
        if not field.scorable:  # Whoosh scores these by their weight alone
            return docnums, tf
        # Whoosh's BM25F (whoosh.scoring.bm25) with its idf: the document
        # frequency counts deleted documents, as Whoosh's does.
        idf = math.log(self.doc_count_all / (frequency + 1)) + 1
        length = BYTE_TO_LENGTH.take(self.length_codes(fieldname).take(docnums))
        k1, b = self.k1, self.b
        avg = self.avg_length[fieldname]
        return docnums, idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avg)))

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """The documents holding a term, deleted ones included (as Whoosh
        counts them): one look-up per segment, no posting read."""
        btext = text.encode("utf-8")
        total = 0
        for leaf in self.leaves:
            number = leaf.flat.find(fieldname, btext)
            if number is not None:
                total += leaf.flat.doc_frequency_at(fieldname, number)
        return total

    def derived(self, key: tuple, find):
        """What ``find()`` gives for ``key``, an answer that depends on the
        generation alone (a prefix's expansion, search/matching.py's
        ``expand``; a word's respelling, search/respell.py), found once and
        kept among the last DERIVED_KEPT: a page, its next page and its
        facets ask the same, and so do readers of the same news."""
        with self._lock:
            found = self._derived.get(key, _MISSING)
            if found is not _MISSING:
                self._derived.move_to_end(key)
                return found
        found = find()
        with self._lock:
            self._derived[key] = found
            if len(self._derived) > DERIVED_KEPT:
                self._derived.popitem(last=False)
        return found

    def charge(self, units: int) -> None:
        """Work done for a request: counted only through ``search.budget.Metered``
        (the generation itself serves tools and tests unmetered)."""

    def span(self, fieldname: str, low: bytes, high: bytes | None,
             most: int) -> dict[bytes, int]:
        """The terms ``t`` with ``low <= t < high`` (at most ``most`` from each
        segment) and their document frequencies, from the sorted flat term
        lists: no Whoosh term lookup per candidate."""
        found: dict[bytes, int] = {}
        for leaf in self.leaves:
            terms, counts = leaf.flat.span(fieldname, low, high, most)
            for term, count in zip(terms, counts.tolist(), strict=True):
                found[term] = found.get(term, 0) + count
        return found

    def span_frequent(self, fieldname: str, low: bytes, high: bytes | None, most: int,
                      top: int) -> dict[bytes, int]:
        """Terms of ``span`` that include its ``top`` most frequent, with
        their document frequencies over every segment (``span`` sums them
        within each segment's first ``most`` terms: the same unless a span
        holds more than ``most``).

        Why: a broad prefix spans thousands of terms and keeps ``top``; only
        the frequent ones' bytes are read.  ``floor``, the ``top``-th largest
        frequency in the segment of most terms, is reached by ``top``
        distinct terms there alone, so a term below it over all segments is
        not among the ``top``; such a term is under ``floor`` divided by the
        segments in each, and only the terms at least that frequent in some
        segment are read.  A term read in some segments but not others has
        there fewer than that share: the terms whose frequency, so bounded,
        may still decide the ``top`` are looked up in the others."""
        spans = [(leaf, *leaf.flat.span_counts(fieldname, low, high, most))
                 for leaf in self.leaves]
        spans = [(leaf, lo, counts) for leaf, lo, counts in spans if len(counts)]
        if sum(len(counts) for _, _, counts in spans) <= READ_ALL_TERMS:
            found: dict[bytes, int] = {}
            for leaf, lo, counts in spans:
                terms = leaf.flat.terms_between(fieldname, lo, lo + len(counts))
                for term, count in zip(terms, counts.tolist(), strict=True):
                    found[term] = found.get(term, 0) + count
            return found
        widest = max((counts for _, _, counts in spans), key=len)
        floor = (int(np.partition(widest, len(widest) - top)[len(widest) - top])
                 if len(widest) > top else 0)
        cap = max(floor - 1, 0) // len(spans)  # the most a term not read has in a segment
        found = {}
        partial = []  # (segment, the terms read there) where some were not read
        for leaf, lo, counts in spans:
            kept = np.flatnonzero(counts * len(spans) >= floor)
            terms = leaf.flat.terms_at(fieldname, kept + lo)
            for term, count in zip(terms, counts[kept].tolist(), strict=True):
                found[term] = found.get(term, 0) + count
            if len(kept) < len(counts):  # else a term not read is not in the segment
                partial.append((leaf, set(terms)))
        if not partial:
            return found
        unread = {term: sum(term not in terms for _, terms in partial) for term in found}
        # Every term's frequency is at least what was read; the top-th largest
        # of those is a frequency the ``top`` reach.  A term that cannot reach
        # it even with ``cap`` in each segment where it was not read is out.
        least = heapq.nlargest(top, found.values())[-1] if len(found) >= top else 0
        for term, missing in unread.items():
            if not missing:
                continue
            if found[term] + missing * cap < least:
                del found[term]
                continue
            for leaf, terms in partial:
                if term not in terms:
                    number = leaf.flat.find(fieldname, term)
                    if number is not None:
                        found[term] += leaf.flat.doc_frequency_at(fieldname, number)
        return found

    def span_matching(self, fieldname: str, low: bytes, high: bytes | None, most: int,
                      pattern) -> dict[bytes, int]:
        """The terms of ``span`` that ``pattern`` (a multiline bytes pattern
        of one term) matches, and their document frequencies."""
        found: dict[bytes, int] = {}
        for leaf in self.leaves:
            terms, counts = leaf.flat.span_matching(fieldname, low, high, most, pattern)
            for term, count in zip(terms, counts.tolist(), strict=True):
                found[term] = found.get(term, 0) + count
        return found

    def span_size(self, fieldname: str, low: bytes, high: bytes | None, most: int) -> int:
        """How many vocabulary entries ``span`` scans: known before it does."""
        return sum(leaf.flat.span_size(fieldname, low, high, most) for leaf in self.leaves)

    def phrase(self, fieldname: str, slots: list[tuple], slop: int) -> np.ndarray:
        """Documents where a word of each of ``slots`` occurs, in order, each
        at most ``slop`` positions after the one before (Whoosh's ``Phrase``,
        a slot of several words being any of them: a prefix's expansions in
        a quoted phrase); cached."""
        key = ("#phrase", fieldname, tuple(map(tuple, slots)), slop)
        return self._cached(key, lambda: (self._find_phrase(fieldname, slots, slop),))[0]

    def _find_phrase(self, fieldname: str, slots: list[tuple], slop: int) -> np.ndarray:
        held = [[self.term(fieldname, word)[0] for word in slot] for slot in slots]
        candidates = None
        for lists in held:
            docs = lists[0] if len(lists) == 1 else unique_sorted(np.concatenate(lists))
            candidates = docs if candidates is None else np.intersect1d(
                candidates, docs, assume_unique=True)
        field = self.schema[fieldname]
        found = []
        for leaf in self.leaves:
            local = candidates[(candidates >= leaf.offset)
                               & (candidates < leaf.offset + leaf.count)] - leaf.offset
            if not len(local) or not leaf.flat.has_positions(fieldname):
                continue
            pairs = [self._slot_positions(leaf, field, fieldname, slot, lists, local)
                     for slot, lists in zip(slots, held, strict=True)]
            found.append(local[phrase_docs(pairs, slop)] + leaf.offset)
        return np.concatenate(found).astype(np.int32) if found else _EMPTY[0]

    @staticmethod
    def _slot_positions(leaf: Leaf, field, fieldname: str, slot: tuple, lists: list,
                        local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``local``, position) of every occurrence of a slot's
        words in the leaf's documents ``local``; a word of a slot of several
        is read in the documents that hold it."""
        if len(slot) == 1:
            return leaf.flat.positions(fieldname, field.to_bytes(slot[0]), local)
        owners, positions = [], []
        for word, docs in zip(slot, lists, strict=True):
            inside = true_at(np.isin(local + leaf.offset, docs, assume_unique=True))
            if len(inside):
                owner, pos = leaf.flat.positions(fieldname, field.to_bytes(word), local[inside])
                owners.append(inside[owner])
                positions.append(pos)
        if not owners:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(owners), np.concatenate(positions)

    def _cached_all(self, keys: list, load) -> list:
        """The cached arrays of each of ``keys`` (``_cached``'s), under one
        hold of the lock; ``load(*key)`` gives (and caches) a missing one."""
        with self._lock:
            cache = self._cache
            found = list(map(cache.get, keys))
            for key, hit in zip(keys, found, strict=True):
                if hit is not None:
                    cache.move_to_end(key)
        return [load(*key) if hit is None else hit for key, hit in zip(keys, found, strict=True)]

    def _cached(self, key, load) -> tuple[np.ndarray, ...]:
        """``load()``'s arrays for ``key``, kept in one LRU within ``cache_bytes``."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        value = load()
        size = ENTRY_OVERHEAD + sum(a.nbytes for a in value)
        with self._lock:
            if key not in self._cache and size <= self.cache_bytes:
                self._cache[key] = value
                self.cached_bytes += size
                while self.cached_bytes > self.cache_bytes:
                    _, old = self._cache.popitem(last=False)
                    self.cached_bytes -= ENTRY_OVERHEAD + sum(a.nbytes for a in old)
        return value

    # -- per-document values ------------------------------------------------
    def stored_fields(self, docnum: int) -> dict:
        """Document ``docnum``'s stored fields, from its segment's stored
        fields file.  Why not the searcher's: Whoosh's reader copies each
        document's dict, checking every field against the schema, which
        costs about as much as decompressing it (every field stored here is
        the schema's: arshif's codec wrote them)."""
        leaf = self.leaves[bisect_right(self._starts, docnum) - 1]
        return leaf.stored.document(docnum - leaf.offset)

    def _joined(self, key, part, empty):
        """The leaves' per-document arrays for ``key`` end to end; made once."""
        found = self._per_doc.get(key)
        if found is None:
            found = np.concatenate([part(leaf) for leaf in self.leaves]) if self.leaves else empty
            self._per_doc[key] = found
        return found

    def length_codes(self, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` as Whoosh's one-byte code:
        a byte a document in memory, decoded for a term's postings only."""
        return self._joined(("length", fieldname),
                            lambda leaf: leaf.docs.length_codes(fieldname),
                            np.zeros(0, dtype=np.uint8))

    def numbers(self, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column (the date, as Whoosh's long integers) as (values,
        present): documents without a value hold 0 and are not present."""
        values = self._joined(("number", fieldname),
                              lambda leaf: leaf.docs.numbers(fieldname)[0],
                              np.zeros(0, dtype=np.int64))
        present = self._joined(("present", fieldname),
                               lambda leaf: leaf.docs.numbers(fieldname)[1],
                               np.zeros(0, dtype=bool))
        return values, present

    def day_codes(self) -> np.ndarray:
        """Each document's date as a code: 1 + its day's distance from the
        first day of the live dated documents (``day_bounds``), 0 without a
        date (or a deleted document's outside them); made once.  The
        smallest unsigned integers that hold the span: a result set's days
        are gathered from a few bytes a document.  The date column holds
        Whoosh's microseconds since ``datetime.min``."""
        found = self._per_doc.get("days")
        if found is None:
            values, present = self.numbers("date")
            days = values // MICROSECONDS_A_DAY - EPOCH_DAY
            dated = present & self.live
            if dated.any():
                first, last = int(days[dated].min()), int(days[dated].max())
                inside = present & (days >= first) & (days <= last)
                codes = np.where(inside, days - (first - 1), 0).astype(
                    np.min_scalar_type(last - first + 1))
                found = (codes, (first, last))
            else:
                found = (np.zeros(len(days), dtype=np.uint8), None)
            self._per_doc["days"] = found
        return found[0]

    def day_bounds(self) -> tuple[int, int] | None:
        """The first and last day (day numbers: days since 1970-01-01, what
        ``datetime64[D]`` counts) of the live dated documents."""
        self.day_codes()
        return self._per_doc["days"][1]

    def has_numbers(self, fieldname: str) -> bool:
        return any(leaf.docs.has_numbers(fieldname) for leaf in self.leaves)

    def by_value(self, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """The live documents holding a value of the numeric column, ordered
        by it, and their values in that order; made once.  A range is then
        a slice found by two binary searches, not a pass over every
        document (a date filter a few days wide, over a million articles)."""
        key = ("by_value", fieldname)
        found = self._per_doc.get(key)
        if found is None:
            values, present = self.numbers(fieldname)
            docs = true_at(present & self.live)
            held = values[docs]
            order = np.argsort(held, kind="stable")
            found = (docs[order].astype(np.int32), held[order])
            self._per_doc[key] = found
        return found

    def date_order(self, newest: bool) -> np.ndarray:
        """A sort key per document: oldest (or newest) first, undated last."""
        key = ("date_order", newest)
        found = self._per_doc.get(key)
        if found is None:
            values, present = self.numbers("date")
            found = np.where(present, -values if newest else values, np.iinfo(np.int64).max)
            self._per_doc[key] = found
        return found

    def date_sequence(self, newest: bool) -> np.ndarray:
        """Every document in ``date_order`` (ties by number, as ``top``
        breaks them): a ranking by date walks it until enough documents
        match (search/matching.py ``first_in_order``)."""
        key = ("date_sequence", newest)
        found = self._per_doc.get(key)
        if found is None:
            found = np.argsort(self.date_order(newest), kind="stable").astype(np.int32)
            self._per_doc[key] = found
        return found

    def texts(self, fieldname: str) -> tuple[np.ndarray, list[str]]:
        """A text column as (code per document, value per code), the codes
        of all segments in one sorted vocabulary: facets and ids."""
        key = ("texts", fieldname)
        found = self._per_doc.get(key)
        if found is None:
            parts = [leaf.docs.texts(fieldname) for leaf in self.leaves]
            vocab = sorted({v for _, values in parts for v in values})
            index = {v: i for i, v in enumerate(vocab)}
            codes = [np.array([index[v] for v in values], dtype=np.int32)[leaf_codes]
                     for leaf_codes, values in parts]
            found = (np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32), vocab)
            self._per_doc[key] = found
        return found

    def facet_codes(self) -> tuple[np.ndarray, list[str], int]:
        """Each document's source and day as one code, ``source * spread +
        day``: the source's place among the source values (``texts``), its
        ``day_codes`` code, and ``spread`` the number of day codes; with the
        source values and ``spread``; made once.  A result set's facets and
        timeline are counted from one gather of these (search/facets.py),
        held in the smallest unsigned integers that fit."""
        found = self._per_doc.get("facets")
        if found is None:
            days, bounds = self.day_codes(), self.day_bounds()
            spread = 1 + (bounds[1] - bounds[0] + 1 if bounds is not None else 0)
            sources, names = self.texts("source")
            codes = sources.astype(np.int64) * spread + days
            codes = codes.astype(np.min_scalar_type(max(len(names) * spread - 1, 0)))
            found = self._per_doc["facets"] = (codes, names, spread)
        return found

    def ids(self, docnums) -> list[str]:
        """The ``id`` of each of ``docnums`` (global document numbers): one
        gather of their segments and byte spans (``_id_spans``), then a slice
        of each one's segment's values, not a doc values call per segment (a
        million articles are 30-odd segments)."""
        owner, starts, ends, raws = self._id_spans()
        docs = np.asarray(docnums, dtype=np.int64)
        return [str(raws[o][a:b], "utf-8") for o, a, b in zip(
            owner.take(docs).tolist(), starts.take(docs).tolist(), ends.take(docs).tolist(),
            strict=True)]

    def _id_spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[memoryview]]:
        """Each document's segment and the span of its id in that segment's
        id values (indexer/docvalues.py ``text_column``); made once: twelve
        bytes a document."""
        found = self._per_doc.get("ids")
        if found is None:
            columns = [leaf.docs.text_column("id") for leaf in self.leaves]
            owner = np.repeat(np.arange(len(self.leaves), dtype=np.int32),
                              [leaf.count for leaf in self.leaves])
            starts = [bounds.take(codes).astype(np.uint32) for codes, bounds, _ in columns]
            ends = [bounds.take(codes + 1).astype(np.uint32) for codes, bounds, _ in columns]
            empty = np.zeros(0, dtype=np.uint32)
            found = self._per_doc["ids"] = (owner, np.concatenate([empty, *starts]),
                                            np.concatenate([empty, *ends]),
                                            [raw for _, _, raw in columns])
        return found


def _open_leaf(folder: str, sub, offset: int) -> Leaf:
    segment = sub.reader().segment()
    try:
        flat = FlatPostings(flat_path(folder, segment))
        docs = DocValues(docvalues_path(folder, segment))
        stored = StoredFields(stored_path(folder, segment))
    except (OSError, ArrayFileError, ValueError, KeyError) as exc:
        raise IndexDamaged(f"segment {segment.segment_id()}: {exc}") from exc
    count = sub.doc_count_all()
    if docs.count != count:
        raise IndexDamaged(f"segment {segment.segment_id()}: {docs.count} doc values "
                           f"for {count} documents")
    if stored.count != count:
        raise IndexDamaged(f"segment {segment.segment_id()}: {stored.count} stored documents "
                           f"for {count} documents")
    return Leaf(offset, count, flat, docs, stored)


def _open_stories(folder: str, count: int) -> Stories:
    try:
        stories = Stories(folder)
    except (OSError, ArrayFileError, ValueError, KeyError) as exc:
        raise IndexDamaged(f"stories: {exc}") from exc
    if stories.count != count:
        raise IndexDamaged(f"stories: {stories.count} documents, the generation has {count}")
    return stories


#: A term of at least 1/DENSE_SUMMAND of the documents is added to a sum
#: as a value per document (``Generation.dense_summand``).
DENSE_SUMMAND = 2

#: A union of posting lists holding more postings than 1/DENSE_UNION of
#: the documents is added up in an array over all documents (a pass over
#: the collection is then cheaper than sorting the postings); a sparser one
#: by sorting its documents (search/matching.py's ORs alike).
DENSE_UNION = 32


def union_of(lists: list[tuple[np.ndarray, np.ndarray]], size: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Posting lists (documents, values) of a generation of ``size``
    documents as one: every document of any, its values added up list
    after list (``np.add.at`` and ``np.bincount`` both add them in the
    order given, so both ways give the same sums to the last bit)."""
    lists = [found for found in lists if len(found[0])]
    if len(lists) < 2:
        return lists[0] if lists else _EMPTY
    if sum(len(docs) for docs, _ in lists) * DENSE_UNION > size:
        # Made once for the cache: fresh arrays, not a query's scratch ones.
        sums, seen = np.zeros(size), np.zeros(size, dtype=bool)
        for docs, values in lists:
            add_at(sums, docs, values)
            put(seen, docs, True)
        found = true_at(seen).astype(np.int32)
        return found, sums.take(found)
    return merged(np.concatenate([docs for docs, _ in lists]),
                  np.concatenate([values for _, values in lists]))


def merged(docs: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lists joined (``docs`` with repeats, their ``values``) as one posting
    list: each document once, sorted, its values added up in the order
    given (``np.bincount``), by sorting rather than by an array over every
    document (a sparse union)."""
    found = unique_sorted(docs)
    return found, np.bincount(np.searchsorted(found, docs), weights=values,
                              minlength=len(found))


def best_of(docs: np.ndarray, contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The TOP_DOCS documents of a posting list where it scores best (sorted
    by document), and its best and lowest scores (an array of two)."""
    bounds = np.array([contrib.max(), contrib.min()] if len(contrib) else [0.0, 0.0])
    if len(docs) > TOP_DOCS:
        docs = docs[np.argpartition(contrib, len(docs) - TOP_DOCS)[-TOP_DOCS:]]
    return np.sort(docs), bounds


def block_count(size: int) -> int:
    """How many blocks of 2**BLOCK_SHIFT document numbers ``size`` documents fill."""
    return (size >> BLOCK_SHIFT) + 1


def blocks_of(docs: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A posting list's ``Generation.term_blocks`` over ``size`` documents."""
    count = block_count(size)
    starts = np.searchsorted(docs, np.arange(count + 1, dtype=np.int64) << BLOCK_SHIFT)
    best = np.zeros(count)
    held = true_at(starts[1:] > starts[:-1])
    if len(held):
        # Empty blocks are left out: their neighbours' runs then end where
        # the next block with postings starts.
        best[held] = np.maximum.reduceat(values, starts.take(held))
    np.maximum(best, 0.0, out=best)
    return starts, best


def summand_of(docs: np.ndarray, values: np.ndarray, boost: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """A posting list as a sum adds it: its documents as ``intp``, its
    values times ``boost`` (``Generation.summand``)."""
    return docs.astype(np.intp), values * boost if boost != 1.0 else values


def put(target: np.ndarray, docs: np.ndarray, values) -> None:
    """``target[docs] = values`` with the document numbers as ``intp``:
    numpy's fancy assignment converts int32 indices one at a time, which
    costs more than converting them all first (docs/performance.md)."""
    target[docs.astype(np.intp, copy=False)] = values


def add_at(target: np.ndarray, docs: np.ndarray, values: np.ndarray) -> None:
    """``np.add.at(target, docs, values)`` with the document numbers as
    ``intp``: like fancy assignment (``put``), ``add.at`` converts int32
    indices one at a time, and converting them all first makes adding a
    query's postings about a third cheaper (docs/performance.md).  The
    values are added element after element, in order, either way."""
    np.add.at(target, docs.astype(np.intp, copy=False), values)


#: Masks shorter than this are listed by ``np.flatnonzero`` directly:
#: counting their set elements first would cost more than it saves.
PADDED_FROM = 1 << 15


def true_at(mask: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(mask)`` of a 1-D boolean array, faster where between
    about 1/32 and 1/10 of it is set.

    Why: numpy lists a boolean array's set elements in one of two loops,
    chosen by their share.  At most a tenth set, it looks for each with
    ``memchr``, a call per element, which costs up to 3.5 times its
    branchless loop over every element once more than about 1/32 is set;
    a broad word's matches over a large archive are just there.  The mask
    is then copied ahead of enough set elements to pass a tenth, and the
    branchless loop lists them (docs/performance.md)."""
    size = len(mask)
    if size < PADDED_FROM:
        return np.flatnonzero(mask)
    count = np.count_nonzero(mask)
    if count * 32 <= size or count * 10 > size:
        return np.flatnonzero(mask)
    padded = np.empty(size + size // 8 + 1, dtype=bool)
    padded[:size] = mask
    padded[size:] = True
    return np.flatnonzero(padded)[:count]


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` by a sort and one
    comparison pass, several times faster than numpy's own on the large
    document-number arrays of unions (which hashes them first).  numpy's
    default sort, not a stable one: equal integers are the same either way,
    and its vectorized quicksort sorts the concatenated posting lists of a
    union faster than the stable merge of their runs (docs/performance.md)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    first = np.empty(len(values), dtype=bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


def phrase_docs(pairs: list[tuple[np.ndarray, np.ndarray]], slop: int) -> np.ndarray:
    """The documents where a chain of positions exists, one per word, each
    1..``slop`` after the one before (Whoosh's phrase check), for many
    documents at once: ``pairs`` holds, per word, (document index, position)
    of its occurrences; returns the document indexes.

    Each occurrence is checked against the nearest chain end before it
    (a binary search), so the work does not grow with ``slop``.
    """
    def keys(owner, pos):  # one sortable number per occurrence
        return owner.astype(np.int64) * 2**32 + pos

    ends = unique_sorted(keys(*pairs[0]))
    for owner, pos in pairs[1:]:
        if not len(ends):
            break
        following = keys(owner, pos)
        before = np.searchsorted(ends, following, side="left") - 1
        nearest = ends[np.maximum(before, 0)]
        gap = following - nearest
        chained = ((before >= 0) & (gap >= 1) & (gap <= slop)
                   & (nearest >> 32 == following >> 32))
        ends = unique_sorted(following[chained])
    return unique_sorted(ends >> 32)
