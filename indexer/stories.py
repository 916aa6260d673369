"""Stories: near-duplicate articles grouped at index time.

News archives repeat themselves: one agency story is printed by many papers,
each with small edits (another headline, a paragraph cut, a word changed).
Such articles are one *story*; the search shows each story once.

The grouping is an index-time fact, in two steps:

1. **Signatures, per document** (indexer/minhash.py): a MinHash of the
   normalized body's word shingles, computed by the codec's per-document
   writer, so each segment's doc values file holds its documents'
   signatures (indexer/docvalues.py) and an update reuses those of the
   segments it keeps.
2. **Groups, per generation** (``write``): once a generation's segments are
   final, the story leaders' signatures go into an LSH (``BANDS`` bands of
   ``ROWS`` values); each candidate pair it returns is verified (the
   estimated Jaccard similarity of the shingle sets, ``minhash.estimate``,
   at least ``SIMILARITY``; dates at most ``MAX_DAYS`` apart, or both
   unknown).  Groups are formed around leaders: the documents are taken
   oldest first (then by id), and each joins the most similar leader it is
   verified similar to (the earliest among equals), or leads a new story.
   Every member is thus close to its leader: no chain of small edits links
   two different stories.

The grouping depends only on the live articles (their ids, dates and
bodies), never on document numbers or segments, so ``--update`` gives the
story of every article a rebuild gives.  Stories are numbered in the order
of their leaders (oldest first, then id), and written to the generation's
``STORIES.arr`` (an array file, indexer/arrayfile.py):

- ``story``: int32 per document of the generation, its story number (-1
  for a deleted document);
- ``members``: int32, the live documents grouped by story, each story's
  in leader order (the leader first);
- ``member_ends``: int64 per story, where its members end in ``members``.

Memory: a signature is NUM_PERM uint8 (64 bytes); grouping a generation
maps them from the segments' files and holds the LSH tables
(docs/stories.md has the figures).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index

from indexer import minhash
from indexer.arrayfile import ArrayFile, ArrayFileWriter
from indexer.docvalues import DocValues, docvalues_path

NAME = "STORIES.arr"
KIND = "stories"
VERSION = 2

#: LSH bands of the signatures' values: two signatures are compared only
#: when all ROWS values of one of their BANDS bands are equal.  A pair of
#: Jaccard similarity 0.5 is a candidate with a probability of 0.94, of
#: 0.6 with 0.994; unrelated texts share a band once in 10**5 pairs.
BANDS = 21
ROWS = 3
#: The estimated Jaccard similarity of the shingles two members must reach.
SIMILARITY = 0.5
#: Two dated members are at most this many days apart: the same template
#: (a market report, prayer times) on two dates is two stories.
MAX_DAYS = 3
_DAY_US = 86_400 * 10**6  # Whoosh's date values are microseconds


#: Signatures whose band keys are computed at once: bounds the temporaries.
_KEYS_AT_ONCE = 1 << 16


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """Each signature's LSH keys: one int32 a band (its ROWS values of
    minhash.BITS bits, then the band's number above them, so that keys of
    different bands differ: 29 bits)."""
    keys = np.empty((len(signatures), BANDS), dtype=np.int32)
    bands = np.arange(BANDS, dtype=np.int32) << (minhash.BITS * ROWS)
    for start in range(0, len(signatures), _KEYS_AT_ONCE):
        part = signatures[start:start + _KEYS_AT_ONCE, :BANDS * ROWS]
        rows = part.reshape(len(part), BANDS, ROWS).astype(np.int32)
        found = bands + np.zeros((len(part), 1), dtype=np.int32)
        for row in range(ROWS):
            found |= rows[:, :, row] << (minhash.BITS * (ROWS - 1 - row))
        keys[start:start + len(part)] = found
    return keys


def group(keys: list, signatures: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Each document's leader (an index into the inputs) for documents given
    as ``keys`` (their order: oldest first, then id), ``signatures`` (one row
    each) and ``days`` (a day number each, -1 without a date).

    The documents are taken in key order; each joins the most similar
    earlier leader (the earliest among equals) or leads a story.  A dated
    document's leader is at most MAX_DAYS older, an undated one's undated
    too: so the LSH tables hold only the leaders of the last MAX_DAYS days
    (memory bounded by the news of a few days, not by the archive).

    The LSH is a dict from band key to the leaders holding it, not
    datasketch's ``MinHashLSH``: that one hashes each band of each query
    anew in Python (a few microseconds a band), while here the keys of all
    documents come from one numpy expression and a lookup is a dict's.

    The result depends only on these values, not on how the caller numbers
    its documents."""
    count = len(keys)
    leader = np.arange(count, dtype=np.int64)
    order = sorted(range(count), key=keys.__getitem__)
    rank = np.empty(count, dtype=np.int64)  # a document's position in the order
    rank[order] = np.arange(count)
    grouped = ~minhash.is_empty(signatures)
    # An array, each document's keys made Python ints when its turn comes:
    # as a list of lists, a million documents' keys took a gigabyte.
    lsh_keys = band_keys(signatures)
    skipped = (~grouped | _alone(lsh_keys, days, grouped)).tolist()
    day_of = days.tolist()
    table: dict[int, list[int]] = {}  # band key -> the window's leaders holding it
    window: deque[tuple[int, list[int]]] = deque()  # the tables' leaders, oldest first
    for i in order:
        if skipped[i]:
            continue
        while window and not _near(day_of[window[0][0]], day_of[i]):
            for key in window.popleft()[1]:
                bucket = table[key]
                del bucket[0]  # leaders enter and leave in the same order
                if not bucket:
                    del table[key]
        mine = lsh_keys[i].tolist()
        candidates = {j for key in mine for j in table.get(key, ())}
        if candidates:
            found = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
            scores = minhash.estimate(np.count_nonzero(signatures[found] == signatures[i],
                                                       axis=1))
            similar = scores >= SIMILARITY
            if similar.any():
                found, scores = found[similar], scores[similar]
                leader[i] = found[np.lexsort((rank[found], -scores))[0]]
                continue
        for key in mine:
            table.setdefault(key, []).append(i)
        window.append((i, mine))
    return leader


#: Bits of a day in ``_alone``'s sort keys, below the band key's 29.
_DAY_BITS = 34


def _alone(keys: np.ndarray, days: np.ndarray, grouped: np.ndarray) -> np.ndarray:
    """Which documents share none of their band ``keys`` with another
    grouped document at most MAX_DAYS days away (an undated one: with
    another undated one).

    Why: most articles have no near-duplicate.  Such an article finds no
    candidate in ``group``'s tables and no later article finds it there, so
    it leads a story of its own whether or not it enters them: ``group``
    skips it, and its loop runs over the articles that may group.  Found
    a band at a time: the band's keys sorted with their days, a key is
    shared when the next or the previous in that order is the same key
    within MAX_DAYS days."""
    alone = np.zeros(len(keys), dtype=bool)
    inside = np.flatnonzero(grouped)
    if len(inside) < 2:
        alone[inside] = True
        return alone
    day = days[inside].astype(np.int64)
    dated = day >= 0
    low = int(day[dated].min()) if dated.any() else 0
    high = int(day[dated].max()) if dated.any() else 0
    # The undated are one day, further than MAX_DAYS from every dated one.
    day = np.where(dated, day - low, high - low + MAX_DAYS + 1)
    if int(day.max()) >= 1 << _DAY_BITS:  # dates too far apart for the keys: none skipped
        return alone
    shared = np.zeros(len(inside), dtype=bool)
    near = np.empty(len(inside), dtype=bool)
    for band in range(keys.shape[1]):
        band_key = keys[inside, band]
        order = np.argsort((band_key.astype(np.int64) << _DAY_BITS) | day)
        band_key, band_day = band_key.take(order), day.take(order)
        close = (band_key[1:] == band_key[:-1]) & (band_day[1:] - band_day[:-1] <= MAX_DAYS)
        near[0] = False
        near[1:] = close
        near[:-1] |= close
        shared[order.take(np.flatnonzero(near))] = True
    alone[inside] = ~shared
    return alone


def story_keys(ids: list[str], days: np.ndarray) -> list[tuple[int, str]]:
    """The order in which articles (``ids``, their ``days``: -1 without a
    date) are grouped: oldest first (undated last), then by id.  It decides
    which member leads a story, and lists a story's members."""
    return [(day if day >= 0 else 2**62, key) for day, key in zip(days.tolist(), ids,
                                                                  strict=True)]


def leader_ids(ids: list[str], days: np.ndarray, signatures: np.ndarray) -> list[str]:
    """Each article's story, named by its leader's id: the grouping of
    ``group`` for a backend that keeps no story numbers (search/cluster/)."""
    leader = group(story_keys(ids, days), signatures, days)
    return [ids[i] for i in leader.tolist()]


def _near(leader_day: int, day: int) -> bool:
    """Whether a leader of ``leader_day`` may lead an article of ``day``
    (the leader is not later: the order is oldest first)."""
    if day < 0:
        return leader_day < 0
    return leader_day >= 0 and day - leader_day <= MAX_DAYS


def write(folder: Path) -> int:
    """Group the live documents of the generation in ``folder`` (its
    segments final) and write its stories file; return the number of stories."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.searcher() as searcher:
            return _write(folder, searcher)
    finally:
        ix.close()


def _write(folder: Path, searcher) -> int:
    total = searcher.doc_count_all()
    live = np.zeros(total, dtype=bool)
    signatures, days, ids = [], [], []
    for sub, offset in searcher.leaf_searchers():
        reader = sub.reader()
        docs = DocValues(docvalues_path(str(folder), reader.segment()))
        alive = np.fromiter(reader.all_doc_ids(), dtype=np.int64)
        live[alive + offset] = True
        signatures.append(docs.signatures()[alive])
        values, present = docs.numbers("date")
        days.append(np.where(present, values // _DAY_US, -1)[alive])
        ids.extend(docs.text_of("id", alive))
    docnums = np.flatnonzero(live)
    if not signatures:
        signatures, days = [np.zeros((0, minhash.NUM_PERM), np.uint8)], [np.zeros(0, np.int64)]
    signatures, days = np.concatenate(signatures), np.concatenate(days)
    keys = story_keys(ids, days)
    del ids
    leader = group(keys, signatures, days)
    # Stories numbered in their leaders' order, members in the same order.
    order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    del keys
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    leaders = order[leader[order] == order]
    number = np.full(len(order), -1, dtype=np.int64)
    number[leaders] = np.arange(len(leaders))
    story_of = number[leader]
    members = np.lexsort((rank, story_of))
    story = np.full(total, -1, dtype=np.int32)
    story[docnums] = story_of
    ends = np.cumsum(np.bincount(story_of, minlength=len(leaders)), dtype=np.int64)
    with ArrayFileWriter(str(folder / NAME), KIND, VERSION) as out:
        out.meta.update(count=total, stories=len(leaders), shingle_words=minhash.SHINGLE_WORDS,
                        num_perm=minhash.NUM_PERM, bits=minhash.BITS, bands=BANDS, rows=ROWS,
                        similarity=SIMILARITY, max_days=MAX_DAYS)
        out.put("story", story, "<i4")
        out.put("members", docnums[members], "<i4")
        out.put("member_ends", ends, "<i8")
    return len(leaders)


class Stories:
    """A generation's stories file, memory-mapped.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete stories file of this version."""

    def __init__(self, folder: str | Path):
        self._file = ArrayFile(os.path.join(folder, NAME), KIND, VERSION)
        self.count: int = self._file.meta["count"]
        #: Story number per document (-1: deleted).
        self.story = self._file.array("story")
        self._members = self._file.array("members")
        self._ends = self._file.array("member_ends")

    def __len__(self) -> int:
        return len(self._ends)

    def members(self, story: int) -> np.ndarray:
        """The live documents of a story, its leader first."""
        start = int(self._ends[story - 1]) if story > 0 else 0
        return self._members[start:int(self._ends[story])]

    def sizes(self, stories: np.ndarray) -> np.ndarray:
        """How many live documents each of ``stories`` holds."""
        ends = self._ends.take(stories)
        starts = self._ends.take(np.maximum(stories - 1, 0))
        return ends - np.where(stories > 0, starts, 0)

    def distinct(self, docnums: np.ndarray) -> int:
        """How many stories ``docnums`` (distinct documents) belong to."""
        if not len(docnums):
            return 0
        seen = np.zeros(len(self._ends), dtype=bool)
        seen[self.story.take(docnums).astype(np.intp)] = True  # intp: numpy assigns faster
        return int(np.count_nonzero(seen))
