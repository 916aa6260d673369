"""One index generation as numpy arrays: postings, field lengths, columns.

Why not just Whoosh's matchers: they walk posting lists one document at a
time in Python (``UnionMatcher.next`` / ``BM25FScorer.score`` per posting and
per field), which put a 6-word query at 200+ ms on 58k articles.  Here each
term's posting list is read once, through the reader, turned into an array
of its BM25F contributions, and cached; a query is then a few vectorized
additions (search/score.py).  Whoosh still owns the index on disk, the query
parser, highlighting and every query shape the vectorized path does not
cover.

A segment written by arshif has its postings and positions also as flat
arrays (indexer/flat.py): those are read instead of decoding Whoosh's
compressed blocks, so a term costs about the same the first time as after.

Several segments (``--jobs 2`` builds, ``--update``) are read through the
searcher's leaf readers, their document numbers shifted by each leaf's
offset, and deleted documents are masked out, so the arrays use the same
global document numbers as Whoosh's searcher.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import WrappingMatcher
from whoosh.scoring import WeightingModel
from whoosh.util.numeric import byte_to_length

from indexer.codec import IndexDamaged, flat_only
from indexer.flat import open_flat

#: Memory for cached posting arrays per generation (ids + contributions are
#: 12 bytes a posting: the most frequent term of 58k articles takes ~0.7 MB).
CACHE_BYTES = 256 * 2**20

# Whoosh stores field lengths as one byte; this is its decoding table.
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)

_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))


class IndexArrays:
    """Arrays of one generation, shared by every thread searching it.

    ``searcher`` is only used to read; callers pass their own thread's
    searcher on the same generation to the methods that may load data.
    """

    def __init__(self, searcher, k1: float, b: float, cache_bytes: int = CACHE_BYTES):
        self.k1 = k1
        self.b = b
        self.doc_count_all = searcher.doc_count_all()
        self.schema = searcher.schema
        self.live = np.zeros(self.doc_count_all, dtype=bool)
        for sub, offset in searcher.leaf_searchers():
            ids = np.fromiter(sub.reader().all_doc_ids(), dtype=np.int64)
            self.live[ids + offset] = True
        self.all_live = bool(self.live.all())
        # Per leaf, its flat postings (None: read through Whoosh).
        self._flat = [_leaf_flat(sub.reader()) for sub, _ in searcher.leaf_searchers()]
        self._lock = threading.Lock()
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, np.ndarray | list] = {}
        self._postings: OrderedDict = OrderedDict()
        self._cached_bytes = 0
        self.cache_bytes = cache_bytes

    # -- per-term contributions ------------------------------------------
    def term(self, searcher, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25F contribution) of one term, unboosted; cached."""
        return self._cached((fieldname, text), lambda: self._load_term(searcher, fieldname, text))

    def _cached(self, key, load) -> tuple[np.ndarray, ...]:
        """``load()``'s arrays for ``key``, kept in one LRU within ``cache_bytes``."""
        with self._lock:
            hit = self._postings.get(key)
            if hit is not None:
                self._postings.move_to_end(key)
                return hit
        value = load()
        size = sum(a.nbytes for a in value)
        with self._lock:
            if key not in self._postings and size <= self.cache_bytes:
                self._postings[key] = value
                self._cached_bytes += size
                while self._cached_bytes > self.cache_bytes:
                    _, old = self._postings.popitem(last=False)
                    self._cached_bytes -= sum(a.nbytes for a in old)
        return value

    def _load_term(self, searcher, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        if fieldname not in self.schema:
            return _EMPTY
        ids, weights = [], []
        field = self.schema[fieldname]
        # Whoosh's document frequency counts deleted documents too: the
        # postings' count before masking, when every segment has flat ones.
        doc_frequency: int | None = 0
        for (sub, offset), flat in zip(searcher.leaf_searchers(), self._flat):
            if flat is not None and flat.has_field(fieldname):
                leaf_ids, leaf_weights = flat.postings(fieldname, field.to_bytes(text))
                if doc_frequency is not None:
                    doc_frequency += len(leaf_ids)
                if not len(leaf_ids):
                    continue
            else:
                doc_frequency = None
                reader = sub.reader()
                if (fieldname, text) not in reader:
                    continue
                leaf_ids, leaf_weights = _read_postings(reader.postings(fieldname, text))
            ids.append(leaf_ids.astype(np.int64) + offset)
            weights.append(leaf_weights.astype(np.float64))
        if not ids:
            return _EMPTY
        docnums, tf = np.concatenate(ids), np.concatenate(weights)
        if not self.all_live:
            keep = self.live[docnums]
            docnums, tf = docnums[keep], tf[keep]
        if not field.scorable:  # Whoosh scores these by their weight alone
            return docnums.astype(np.int32), tf
        # Whoosh's BM25F (whoosh.scoring.bm25) with its idf and average length.
        if doc_frequency is not None and _default_idf(searcher):
            # WeightingModel.idf, without its second term lookup per segment.
            idf = math.log(searcher.doc_count_all() / (doc_frequency + 1)) + 1
        else:
            idf = searcher.idf(fieldname, text)
        avgfl = searcher.avg_field_length(fieldname) or 1
        length = self.lengths(searcher, fieldname)[docnums]
        k1, b = self.k1, self.b
        contrib = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avgfl)))
        return docnums.astype(np.int32), contrib

    # -- phrases ----------------------------------------------------------
    def phrase(self, searcher, fieldname: str, words: list, slop: int) -> np.ndarray:
        """Documents where ``words`` occur in order, each at most ``slop``
        positions after the previous one (Whoosh's ``Phrase``); cached.

        Only the documents holding every word are checked: from flat
        positions all at once (``_phrase_docs``), or, for a segment without
        them, by decoding only the Whoosh posting blocks that hold some.
        """
        key = ("#phrase", fieldname, tuple(words), slop)
        return self._cached(key, lambda: (self._find_phrase(searcher, fieldname, words, slop),))[0]

    def _find_phrase(self, searcher, fieldname: str, words: list, slop: int) -> np.ndarray:
        candidates = self.term(searcher, fieldname, words[0])[0]
        for word in words[1:]:
            candidates = np.intersect1d(candidates, self.term(searcher, fieldname, word)[0],
                                        assume_unique=True)
        found = []
        field = self.schema[fieldname]
        for (sub, offset), flat in zip(searcher.leaf_searchers(), self._flat):
            local = candidates[(candidates >= offset) & (candidates < offset + sub.doc_count_all())]
            if not len(local):
                continue
            local = local - offset
            if flat is not None and flat.has_positions(fieldname):
                pairs = [flat.positions(fieldname, field.to_bytes(w), local) for w in words]
                found.extend((local[_phrase_docs(pairs, slop)] + offset).tolist())
                continue
            positions = [_positions(sub.reader(), fieldname, w, local, field.format)
                         for w in words]
            for i, doc in enumerate(local.tolist()):
                if _in_order([p[i] for p in positions], slop):
                    found.append(doc + offset)
        return np.array(sorted(found), dtype=np.int32)

    # -- per-document data -----------------------------------------------
    def lengths(self, searcher, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname``, as Whoosh's scorer sees it."""
        values = self._lengths.get(fieldname)
        if values is None:
            values = np.ones(self.doc_count_all, dtype=np.float64)
            for sub, offset in searcher.leaf_searchers():
                values[offset:offset + sub.doc_count_all()] = _leaf_lengths(sub.reader(), fieldname)
            self._lengths[fieldname] = values
        return values

    def has_column(self, fieldname: str) -> bool:
        """Whether ``fieldname`` is a sortable (column) field of this index."""
        return fieldname in self.schema and self.schema[fieldname].column_type is not None

    def raw_column(self, searcher, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column (e.g. ``date`` as Whoosh's long integers) as
        (values, present): documents without a value hold 0 and are not present."""
        found = self._columns.get(fieldname)
        if found is None:
            default = self.schema[fieldname].column_type._default
            values = np.zeros(self.doc_count_all, dtype=np.int64)
            present = np.zeros(self.doc_count_all, dtype=bool)
            for sub, offset in searcher.leaf_searchers():
                reader = sub.reader()
                if reader.has_column(fieldname):
                    part = column_array(reader.column_reader(fieldname, translate=False))
                    has = part != default
                    end = offset + len(part)
                    present[offset:end] = has
                    values[offset:end] = np.where(has, part, 0).astype(np.int64)
            found = (values, present)
            self._columns[fieldname] = found
        return found

    def date_order(self, searcher, newest: bool) -> np.ndarray:
        """A sort key per document: oldest (or newest) first, undated last."""
        key = f"#date_order:{newest}"
        found = self._columns.get(key)
        if found is None:
            values, present = self.raw_column(searcher, "date")
            found = np.where(present, -values if newest else values, np.iinfo(np.int64).max)
            self._columns[key] = found
        return found

    def codes(self, searcher, fieldname: str) -> tuple[np.ndarray, list]:
        """A text column as (code per document, value per code): for facets."""
        key = "#codes:" + fieldname
        found = self._columns.get(key)
        if found is None:
            values: list = [""] * self.doc_count_all
            for sub, offset in searcher.leaf_searchers():
                reader = sub.reader()
                if reader.has_column(fieldname):
                    part = list(reader.column_reader(fieldname))
                    values[offset:offset + len(part)] = part
            names = sorted(set(values), key=lambda v: (v is None, v or ""))
            index = {v: i for i, v in enumerate(names)}
            found = (np.array([index[v] for v in values], dtype=np.int32), names)
            self._columns[key] = found
        return found

    def ids(self, searcher) -> list[str]:
        """Every document's ``id`` (ranked ids without loading stored fields)."""
        found = self._columns.get("#ids")
        if found is None:
            found = [""] * self.doc_count_all
            for sub, offset in searcher.leaf_searchers():
                reader = sub.reader()
                part = (list(reader.column_reader("id")) if reader.has_column("id")
                        else [d.get("id", "") for d in reader.all_stored_fields()])
                found[offset:offset + len(part)] = part
            self._columns["#ids"] = found
        return found


def _default_idf(searcher) -> bool:
    return type(searcher.weighting).idf is WeightingModel.idf


def _leaf_flat(reader):
    """A leaf reader's flat postings (indexer/flat.py), when its segment has
    them; IndexDamaged when a segment written by arshif lost them (its text
    postings are nowhere else)."""
    folder = getattr(getattr(reader, "_storage", None), "folder", None)
    segment = getattr(reader, "segment", lambda: None)()
    if segment is None:
        return None
    flat = open_flat(folder, segment) if folder else None
    if flat is None and flat_only(segment):
        raise IndexDamaged(segment)
    return flat


def _leaf_lengths(reader, fieldname: str) -> np.ndarray:
    """Field lengths of one segment, decoded from Whoosh's one-byte codes.

    Read from the segment's per-document store in one go when it has the
    Whoosh 3 layout; otherwise one document at a time through the reader.
    """
    perdoc = getattr(reader, "_perdoc", None)
    column = _lenfield(fieldname)
    if perdoc is not None and hasattr(perdoc, "has_column"):
        if not perdoc.has_column(column):
            return np.ones(reader.doc_count_all())
        return _BYTE_TO_LENGTH[column_array(perdoc.column_reader(column, LENGTHS_COLUMN))]
    return np.array([reader.doc_field_length(i, fieldname, 1) or 1
                     for i in range(reader.doc_count_all())], dtype=np.float64)


def column_array(reader) -> np.ndarray:
    """All values of a fixed-width numeric Whoosh column in one read.

    Whoosh's column reader unpacks one document at a time; its data is a
    plain big-endian array on disk, so we read it whole when we can (and fall
    back to the public iterator when the column is another kind).
    """
    try:
        count, doccount = reader._count, reader._doccount
        raw = reader._dbfile.get(reader._basepos, count * reader._fixedlen)
        values = np.frombuffer(raw, dtype=np.dtype(">" + reader._typecode))
        if count < doccount:
            values = np.concatenate([values, np.full(doccount - count, reader._default,
                                                     dtype=values.dtype)])
        return values
    except AttributeError:
        return np.array(list(reader))


def _in_order(positions: list[list[int]], slop: int) -> bool:
    """Whether a chain of positions exists, one per word, each 1..slop after
    the one before (the words of a phrase, as Whoosh's SpanNear2 checks)."""
    ends = set(positions[0])
    for following in positions[1:]:
        ends = {p for p in following if any(p - d in ends for d in range(1, slop + 1))}
        if not ends:
            return False
    return True


def _phrase_docs(pairs: list[tuple[np.ndarray, np.ndarray]], slop: int) -> np.ndarray:
    """``_in_order`` for many documents at once: ``pairs`` holds, per word,
    (document index, position) of its occurrences; returns the indexes of
    the documents where a chain exists."""
    def keys(owner, pos):  # one sortable number per occurrence
        return owner * 2**32 + pos

    ends = keys(*pairs[0])
    for owner, pos in pairs[1:]:
        following = keys(owner, pos)
        chained = np.zeros(len(following), dtype=bool)
        for d in range(1, slop + 1):
            chained |= (pos >= d) & np.isin(following - d, ends)
        ends = following[chained]
        if not len(ends):
            break
    return np.unique(ends >> 32)


def _positions(reader, fieldname: str, text, docs: np.ndarray, fmt) -> list[list[int]]:
    """Positions of a term in each of ``docs`` (sorted, all in its posting list)."""
    matcher = reader.postings(fieldname, text)
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child
    out: list[list[int]] = []
    if not isinstance(matcher, W3LeafMatcher) or matcher._byteids:
        for doc in docs.tolist():
            matcher.skip_to(doc)
            out.append(list(matcher.value_as("positions")))
        return out
    i = 0
    while matcher.is_active() and i < len(docs):
        last = int(np.searchsorted(docs, matcher.block_max_id(), side="right"))
        if last > i:  # the block holds some of the documents: read it
            if matcher._data is None:
                matcher._read_data()
            ids = np.cumsum(np.asarray(matcher._data[0], dtype=np.int64))
            matcher._read_values()
            values = matcher._values
            for j in np.searchsorted(ids, docs[i:last]).tolist():
                out.append(fmt.decode_positions(values[j]))
            i = last
        matcher._next_block()
    return out


def _read_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    """(ids, weights) of a whole posting list of one segment.

    Deleted documents are masked by the caller, so a deletions filter is
    unwrapped.  Whoosh's own codec is read as raw blocks (128 postings each)
    instead of a posting at a time, which is 20x faster for frequent terms;
    any other matcher is walked through its public API.
    """
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whoosh decodes a block's ids (stored as deltas) and weights in Python
        # loops; here the raw block data of the whole list is gathered and
        # decoded with a few vectorized operations.
        deltas: list = []
        weights: list = []
        starts: list[int] = []
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            block_ids, block_weights = matcher._data[0], matcher._data[1]
            starts.append(len(deltas))
            deltas.extend(block_ids)
            if block_weights is None:
                weights.extend([1.0] * len(block_ids))
            elif isinstance(block_weights, float):
                weights.extend([block_weights] * len(block_ids))
            else:
                weights.extend(block_weights)
            matcher._next_block()
        if not deltas:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        running = np.cumsum(np.array(deltas, dtype=np.int64))
        # Each block's first delta counts from 0: subtract the running sum
        # of the blocks before it.
        before = np.concatenate([[0], running[np.array(starts[1:], dtype=np.int64) - 1]])
        lengths = np.diff(np.append(starts, len(deltas)))
        return running - np.repeat(before, lengths), np.array(weights, dtype=np.float64)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)
