"""Evaluate a parsed query: every matching document with its score.

The one evaluator of arshif: words, phrases, prefixes, wildcards, fuzzy
terms, ranges, AND/OR/NOT, ``*`` and the filters all come here, and the hit
count, the facets, the page and the ranked ids of ``arshif eval`` all read
the same ``Match``.  Scores are Whoosh's own (BM25F per term, summed as its
matcher tree sums them), so Whoosh's searcher over the same index ranks the
same documents in the same order; the tests compare the two on every shape.

A match is sparse: the sorted document numbers that match and their
scores.  A term costs its posting list; an OR merges its children's sorted
arrays (or, past 1/DENSE_UNION of the documents, sums them in one array
over all documents); an AND or NOT is a binary search of the smaller side
in the larger.  Only the shapes that name every document (``*``, a lone
NOT, a date range) walk all of them.

Prefixes, wildcards and ranges over words are expanded against the
vocabulary with bounds (MAX_EXPANSIONS terms chosen among at most
MAX_SCANNED_TERMS entries), so ``ا*`` costs what a long OR costs.

Long arrays are picked from with ``take`` (and a mask turned into positions
by ``flatnonzero``): numpy's fancy and boolean indexing cost several times
as much on arrays of postings.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from search import generation, scratch
from search.budget import FUZZY_UNITS
from search.generation import (
    Expansion,
    Generation,
    add_at,
    best_of,
    merged,
    put,
    summand_of,
    true_at,
    unique_sorted,
)
from search.query import PrefixPhrase, glob_tail

#: A prefix, wildcard, fuzzy term or word range is searched as its
#: MAX_EXPANSIONS most frequent terms, chosen among at most MAX_SCANNED_TERMS
#: vocabulary entries: unbounded, one ``ا*`` OR-ed a large part of the vocabulary.
MAX_EXPANSIONS = 100
MAX_SCANNED_TERMS = 50_000

_NO_DOCS = np.zeros(0, dtype=np.int32)


@dataclass
class Match:
    """The matching documents (sorted, unique) and their scores; ``complete``
    False for ``best``'s pruned matches, which hold the top documents but not
    every match (``matched`` may list them)."""

    docs: np.ndarray
    scores: np.ndarray
    complete: bool = True
    #: Every matching document, when a pruned match found them on the way.
    matched: np.ndarray | None = None
    #: Every matching document regardless of the filter, when a filtered
    #: match found them on the way (``best``'s ``unfiltered``).
    unfiltered: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.docs)


def _empty() -> Match:
    return Match(_NO_DOCS, np.zeros(0))


def evaluate(q: wq.Query, gen: Generation, reader) -> Match:
    """``q``'s matches and scores over ``gen``; ``reader`` (a Whoosh reader
    of the same generation) finds the candidates of fuzzy terms."""
    handler = _HANDLERS.get(type(q))
    if handler is None:
        handler = next((h for cls, h in _HANDLERS.items() if isinstance(q, cls)), None)
    if handler is None:
        if isinstance(q, type(wq.NullQuery)):  # copies of it too (query rewrites copy)
            return _empty()
        raise TypeError(f"no evaluation for {type(q).__name__} queries")
    return handler(q, gen, reader)


def restrict(match: Match, keep: Match) -> Match:
    """``match`` limited to the documents of ``keep`` (a filter)."""
    inside = true_at(_contains(keep.docs, match.docs))
    return Match(match.docs.take(inside), match.scores.take(inside))


def within(docs: np.ndarray, keep: Match | None) -> np.ndarray:
    """The documents of ``docs`` (sorted) that ``keep`` (a filter) holds."""
    if keep is None:
        return docs
    return docs.take(true_at(_contains(keep.docs, docs)))


def top(match: Match, limit: int, order: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """(docnums, scores) of the first ``limit`` matches.

    By score, ties by document number as Whoosh's collector breaks them; or,
    with ``order`` (a sort key per document, e.g. ``Generation.date_order``),
    by that key, ties again by document number.
    """
    docs, scores = match.docs, match.scores
    key = -scores if order is None else order.take(docs)
    if len(docs) > limit:
        # Partitioning finds the cut in linear time; keep everything tied with it.
        kth = np.partition(key, limit - 1)[limit - 1]
        keep = true_at(key <= kth)
        docs, scores, key = docs.take(keep), scores.take(keep), key.take(keep)
    chosen = np.lexsort((docs, key))[:limit]
    return docs.take(chosen), scores.take(chosen)


# -- the top documents of a sum of terms, without scoring every match --------

#: Below this many postings a sum of terms is simply scored in full, as is
#: one whose postings are fewer than 1/DENSE_UNION of the documents: its
#: sorted lists are merged, no array over the documents is made.
PRUNE_FROM = 20_000
#: The candidates and every match of a sum whose postings are fewer than
#: 1/SPARSE_SUMS of the documents are read at its postings, and its top's
#: candidates at its listed matches when these are fewer than that; a
#: denser one's by a pass over the sums of every document
#: (docs/performance.md).
SPARSE_SUMS = 4


def best(q: wq.Query, gen: Generation, reader, limit: int,
         keep: Match | None = None, every: bool = False, unfiltered: bool = False) -> Match:
    """Matches of ``q`` (within ``keep``, a filter) that include its top
    ``limit`` by score, with exact scores: ``top(best(q, ...), limit)`` is
    ``top(restrict(evaluate(q), keep), limit)``, documents and scores alike.
    With ``every``, a pruned match also lists every matching document
    (``Match.matched``).  With ``unfiltered``, a filtered match that added
    up every posting lists every match regardless of the filter too
    (``Match.unfiltered``): the search box counts its source facet over them.

    Why: a plain query is an OR of words in five fields, and a frequent
    word matches a large part of the archive, while a results page needs
    only the best few.  For a query that is a sum of term scores, every
    term's weighted postings are added into one array over the documents
    (the cheapest pass over them all: no sorted merge, no list of every
    match and its score to partition).  The best documents of each term
    (``Generation.term_tops``) then give a threshold, the ``limit``-th best
    sum among them, that every document of the top reaches: those that
    reach it are the candidates.  The terms are added in ``evaluate``'s
    order (``_summands``), from 0, so the sums are its scores to the last
    bit.  MaxScore (a posting list at a time, the candidates looked up in
    the other lists) was measured slower for several words and, ranking
    the top 100, for a word alone too (docs/performance.md).
    """
    terms = _sum_terms(q)
    if terms is None or limit <= 0 or any(t.boost <= 0 for t in terms):
        match = evaluate(q, gen, reader)
        return restrict(match, keep) if keep is not None else match
    if keep is None:
        return _best_sum(q, terms, gen, reader, limit, every)
    found = _kept_sum(terms, gen, keep, unfiltered)
    if found is not None:
        return found
    # Each term's postings restricted to the filter once: the filtered
    # lists then have their own best documents and threshold.
    with _Within(gen, keep.docs) as within:
        return _best_sum(q, terms, within, reader, limit, every)


#: A filter that lets through at least 1/FILTERED_SHARE of the documents,
#: over a sum of at least KEPT_POSTINGS postings per document it keeps, is
#: applied to the sums of every document (``_kept_sum``); a narrower one,
#: or a sum of fewer postings, to each term's postings first
#: (docs/performance.md).
FILTERED_SHARE = 32
KEPT_POSTINGS = 2


def _kept_sum(terms: list[wq.Term], gen, keep: Match, unfiltered: bool) -> Match | None:
    """Every match of the sum of ``terms`` within ``keep`` (a filter),
    scored: every posting added into the sums over all the documents, which
    are then read at the filter's documents (and, with ``unfiltered``,
    listed where they are positive: every match, as ``Match.unfiltered``).
    None where that does not pay (a narrow filter, few postings per
    document it keeps) or does not apply (a score that is not positive:
    the sums would not tell which documents match).

    Why: limiting a posting list to a broad filter (a source, a year: too
    many documents to look each one up in the lists) is a pass over its
    postings, and the sum of the limited lists is still dense: together
    they cost about twice adding every posting (docs/performance.md).  The
    terms are added in ``evaluate``'s order, so each kept document's sum is
    its score to the last bit."""
    size, kept = gen.doc_count_all, len(keep.docs)
    if kept * FILTERED_SHARE < size:
        return None
    keys = [(t.fieldname, t.text) for t in terms]
    lists = gen.terms(keys)
    held = [key for key, (docs, _) in zip(keys, lists, strict=True) if len(docs)]
    if (sum(len(docs) for docs, _ in lists) < kept * KEPT_POSTINGS
            or any(low <= 0 for _, _, low in gen.term_tops(held))):
        return None
    with scratch.zeros(size, np.float64, [docs for docs, _ in lists]) as sums:
        _add_postings(sums, gen, terms, lists)
        scores = sums.take(keep.docs)
        everywhere = true_at(sums > 0).astype(np.int32) if unfiltered else None
    found = true_at(scores > 0)
    return Match(keep.docs.take(found), scores.take(found), unfiltered=everywhere)


def _best_sum(q: wq.Query, terms: list[wq.Term], gen, reader, limit: int,
              every: bool) -> Match:
    """``best`` of ``q``, the sum of ``terms``."""
    lists = gen.terms([(t.fieldname, t.text) for t in terms])
    postings = sum(len(docs) for docs, _ in lists)
    if postings < PRUNE_FROM or postings * DENSE_UNION <= gen.doc_count_all:
        return evaluate(q, gen, reader)
    found = _blocked(terms, lists, postings, gen, limit, every)
    if found is not None:
        return found
    with scratch.zeros(gen.doc_count_all, np.float64, [docs for docs, _ in lists]) as sums:
        _add_postings(sums, gen, terms, lists)
        found = _pruned(sums, terms, lists, postings, gen, limit, every)
    return found if found is not None else evaluate(q, gen, reader)


def _threshold(sums: np.ndarray, limit: int) -> float | None:
    """The ``limit``-th best of ``sums`` (of some matches), which every
    document of the top reaches; None when they are too few or it is not
    above 0 (scores that are not all positive)."""
    if len(sums) < limit:
        return None
    threshold = float(np.partition(sums, len(sums) - limit)[len(sums) - limit])
    return threshold if threshold > 0 else None


#: A sum of at most BLOCKED_LISTS posting lists (a word in its fields) over
#: at least BLOCKED_DOCS documents is first tried block by block
#: (``_blocked``), and taken that way when the blocks that can reach its
#: threshold hold fewer than 1/BLOCKED_SHARE of its postings.  Over fewer
#: documents the sums (8 bytes a document) stay in the CPU's caches, and
#: adding every posting costs less than choosing the blocks
#: (docs/performance.md).
BLOCKED_LISTS = 4
BLOCKED_DOCS = 400_000
BLOCKED_SHARE = 4
#: How many blocks per document of the top a ranking by blocks reads first.
FIRST_BLOCKS = 4


def _blocked(terms: list[wq.Term], lists: list[tuple[np.ndarray, np.ndarray]],
             postings: int, gen, limit: int, every: bool) -> Match | None:
    """``best``'s match from only the postings of the blocks of documents
    that can reach its threshold (``Generation.term_blocks``); None where
    that does not apply or would not pay.

    Why: a frequent word matches a large part of the archive, and most of
    its matches cannot reach its top: adding each of its postings into the
    sums is most of a ranking's work, and memory traffic more than
    arithmetic.  As in Block-Max WAND (Ding and Suel, 2011), each term's
    best score per block of documents bounds what a block's documents can
    reach, and a block whose bounds add up to less than the threshold is
    not read at all.  The blocks bounded highest are read first
    (FIRST_BLOCKS per document of the top): the ``limit``-th best sum among
    their documents is a threshold close to the top's own.  Then the other
    blocks that can reach it are read.  A block that is read has all its
    postings added, term after term as ``evaluate`` adds them: its
    documents' sums are their scores to the last bit, and every document of
    the top is among those at or above the threshold.

    Only a word alone (its lists in a few fields) is ranked so: the blocks
    of several words' lists are bounded far more loosely, and reading
    postings block by block costs a few times what adding them costs."""
    size = gen.doc_count_all
    held = [i for i, (docs, _) in enumerate(lists) if len(docs)]
    # A generation seen through a filter (``_Within``) keeps no blocks.
    if not hasattr(gen, "term_blocks") or len(held) > BLOCKED_LISTS or size < BLOCKED_DOCS:
        return None
    shift = generation.BLOCK_SHIFT
    blocks = {i: gen.term_blocks(terms[i].fieldname, terms[i].text)
              for i in held if len(lists[i][0]) >= BATCHED_POSTINGS}
    bound = np.zeros(generation.block_count(size))
    for i, (_, best) in blocks.items():
        bound += best * terms[i].boost
    rest = [i for i in held if i not in blocks]
    if rest:  # each posting's score bounds its block: a looser bound, no table
        add_at(bound, np.concatenate([lists[i][0] for i in rest]) >> shift,
               np.maximum(np.concatenate([lists[i][1] * terms[i].boost for i in rest]), 0.0))
    count = min(FIRST_BLOCKS * limit, len(bound))
    if count * BLOCKED_SHARE > len(bound):
        return None
    first = np.zeros(len(bound), dtype=bool)
    first[np.argpartition(bound, len(bound) - count)[len(bound) - count:]] = True
    posted: list[np.ndarray] = []
    with scratch.zeros(size, np.float64, posted) as sums:
        posted.append(_add_blocks(sums, gen, terms, lists, held, blocks, first))
        threshold = _threshold(sums.take(unique_sorted(posted[0])), limit)
        if threshold is None:
            return None
        then = (bound >= threshold * (1 - BOUND_MARGIN)) & ~first
        # Many blocks to read hold many postings: not counted, then.
        if (np.count_nonzero(then) * BLOCKED_SHARE > len(then)
                or _block_postings(lists, held, blocks, then) * BLOCKED_SHARE > postings):
            return None
        posted.append(_add_blocks(sums, gen, terms, lists, held, blocks, then))
        docs = np.concatenate(posted)
        found = unique_sorted(docs.take(true_at(sums.take(docs) >= threshold)))
        scores = sums.take(found)
    matched = _docs_of([lists[i][0] for i in held], size) if every else None
    return Match(found.astype(np.int32), scores, complete=False, matched=matched)


def _block_postings(lists: list[tuple[np.ndarray, np.ndarray]], held: list[int],
                    blocks: dict, read: np.ndarray) -> int:
    """How many postings the blocks marked in ``read`` hold."""
    places = true_at(read)
    return sum(int((starts.take(places + 1) - starts.take(places)).sum())
               for starts, _ in blocks.values()) + sum(
        int(np.count_nonzero(read.take(lists[i][0] >> generation.BLOCK_SHIFT)))
        for i in held if i not in blocks)


def _add_blocks(sums: np.ndarray, gen, terms: list[wq.Term],
                lists: list[tuple[np.ndarray, np.ndarray]], held: list[int], blocks: dict,
                read: np.ndarray) -> np.ndarray:
    """Add every posting of the blocks marked in ``read`` into ``sums``,
    term after term; returns the documents added to (with repeats)."""
    shift = generation.BLOCK_SHIFT
    places = true_at(read)
    run = []
    for i in held:
        term = terms[i]
        if i in blocks:
            starts, _ = blocks[i]
            docs, values = gen.summand(term.fieldname, term.text, term.boost)
            at = _ranges(starts.take(places), starts.take(places + 1))
            run.append((docs.take(at), values.take(at), 1.0))
        else:
            docs, values = lists[i]
            at = true_at(read.take(docs >> shift))
            run.append((docs.take(at), values.take(at), term.boost))
    _add_run(sums, run)
    return np.concatenate([np.zeros(0, dtype=np.intp), *(docs for docs, _, _ in run)])


def _ranges(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The positions from each of ``first`` to the matching ``last``
    (excluded), one run after another."""
    lengths = last - first
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) + np.repeat(first - ends + lengths, lengths)


def _pruned(sums: np.ndarray, terms: list[wq.Term], lists: list[tuple[np.ndarray, np.ndarray]],
            postings: int, gen, limit: int, every: bool) -> Match | None:
    """``best``'s match, given every document's sum (of ``postings``
    postings); None where pruning does not apply (too few seeds, scores
    that are not all positive)."""
    long = [i for i, (docs, _) in enumerate(lists) if len(docs) > generation.TOP_DOCS]
    tops = gen.term_tops([(terms[i].fieldname, terms[i].text) for i in long])
    # A list of TOP_DOCS documents or fewer is its own best documents.
    short = [i for i, (docs, _) in enumerate(lists) if 0 < len(docs) <= generation.TOP_DOCS]
    seed = unique_sorted(np.concatenate([_NO_DOCS, *(docs for docs, _, _ in tops),
                                         *(lists[i][0] for i in short)]))
    threshold = _threshold(sums.take(seed), limit)
    if threshold is None:
        return None
    # A candidate is in a list that is not skipped: a short one (whose
    # documents are seeds already) or a long one ``_skippable`` leaves.
    bounds = [max(high * terms[i].boost, 0.0) for i, (_, high, _) in zip(long, tops, strict=True)]
    skipped = {long[i] for i in _skippable(bounds, threshold)}
    matched = None
    if every and postings * SPARSE_SUMS < gen.doc_count_all:
        matched = _docs_of([docs for docs, _ in lists if len(docs)], gen.doc_count_all)
    elif every and all(low > 0 for _, _, low in tops) and (not short or np.concatenate(
            [lists[i][1] for i in short]).min() > 0):
        # Every match, when a match is what something was added to (each
        # long list's lowest score is kept with its best documents).
        matched = true_at(sums != 0).astype(np.int32)
    candidates = [docs for i, (docs, _) in enumerate(lists) if len(docs) and i not in skipped]
    posted = sum(len(docs) for docs in candidates)
    if matched is not None and len(matched) * SPARSE_SUMS < gen.doc_count_all:
        # Every match is listed already, and they are few: the sums read
        # there, with no sort of the candidates and no pass over every
        # document's sum.
        found = matched.take(true_at(sums.take(matched) >= threshold))
    elif posted * SPARSE_CANDIDATES < gen.doc_count_all:
        # The sums read where the candidates are, not over every document.
        posted_docs = np.concatenate([_NO_DOCS, *candidates])
        found = unique_sorted(posted_docs.take(true_at(sums.take(posted_docs) >= threshold)))
    else:
        found = true_at(sums >= threshold).astype(np.int32)
    return Match(found, sums.take(found), complete=False, matched=matched)


def _skippable(bounds: list[float], threshold: float) -> list[int]:
    """The lists (by index) whose best scores, boosted (``bounds``), add up
    to less than ``threshold``, the lowest first: a document in none of the
    others cannot reach it.

    Why: the candidates of a pruned ranking are read at their lists'
    postings.  The lists that cannot lift a document to the threshold on
    their own (the frequent words, and the views that weigh little) need
    not be read, as MaxScore (Turtle and Flood, 1995) skips its
    non-essential lists: a candidate is also in one of the others.  The
    bounds are added with a margin: a sum in another order may differ in
    its last bits."""
    floor, total, found = threshold * (1 - BOUND_MARGIN), 0.0, []
    for i in sorted(range(len(bounds)), key=bounds.__getitem__):
        if total + bounds[i] >= floor:
            break
        total += bounds[i]
        found.append(i)
    return found


#: The share of the threshold ``_skippable`` leaves as a margin.
BOUND_MARGIN = 1e-9
#: A pruned ranking's candidates are read where their lists' postings are
#: when these are fewer than 1/SPARSE_CANDIDATES of the documents, else by
#: a pass over every document's sum: reading a sum at a posting costs
#: several times a pass's comparison of one.
SPARSE_CANDIDATES = 8


#: Posting lists shorter than this are added to a sum together, a run of
#: them in one call (``_add_postings``).
BATCHED_POSTINGS = 4096


def _add_postings(sums: np.ndarray, gen, terms: list[wq.Term],
                  lists: list[tuple[np.ndarray, np.ndarray]], positive: bool = False) -> bool:
    """Add each term's values (``lists``), times its boost, into ``sums`` at
    its documents, term after term.  A long list is added as the
    generation keeps it for sums (``summand``, or ``dense_summand`` for a
    list of half the documents or more); short ones are batched: a
    long query or "more like this" holds dozens of mostly short lists, and
    a call of ``np.add.at`` (or a multiplication by a boost) costs more than
    a short list's postings, so runs of them are joined, weighted and added
    in one call each.  A value times its boost is the same product either way, and
    ``add.at`` adds element after element, so each document's sum is added
    up in the same order, to the same bits.

    With ``positive``, tells whether every value added was above 0 (then
    the documents with a sum above 0 are the matches); else True."""
    run: list[tuple[np.ndarray, np.ndarray, float]] = []
    every = True
    for term, (docs, values) in zip(terms, lists, strict=True):
        if len(docs) < BATCHED_POSTINGS:
            run.append((docs, values, term.boost))
            continue
        every = _add_run(sums, run, positive) and every
        run = []
        dense = (gen.dense_summand(term.fieldname, term.text, term.boost)
                 if len(docs) * generation.DENSE_SUMMAND >= len(sums) else None)
        if dense is not None:
            sums += dense
        else:
            add_at(sums, *gen.summand(term.fieldname, term.text, term.boost))
        # The least of the values times a boost is the least value times it.
        every = every and not (positive and len(values) and values.min() * term.boost <= 0)
    return _add_run(sums, run, positive) and every


def _add_run(sums: np.ndarray, run: list[tuple[np.ndarray, np.ndarray, float]],
             positive: bool = False) -> bool:
    if not run:
        return True
    docs, values = _joined(run, np.intp)
    add_at(sums, docs, values)
    return not (positive and len(values) and values.min() <= 0)


def _joined(run: list[tuple[np.ndarray, np.ndarray, float]], dtype=None
            ) -> tuple[np.ndarray, np.ndarray]:
    """A run of (documents, values, boost) lists joined: their documents (as
    ``dtype``, or as they are) and their values times their boosts."""
    values = np.concatenate([values for _, values, _ in run])
    if any(boost != 1.0 for _, _, boost in run):
        values *= np.repeat([boost for _, _, boost in run], [len(docs) for docs, _, _ in run])
    return np.concatenate([docs for docs, _, _ in run], dtype=dtype), values


def score_docs(q: wq.Query, gen: Generation, reader, docs: np.ndarray) -> Match:
    """The scores of ``docs`` (sorted matches of ``q``, a sum of terms): the
    page of a ranking by date scores only the documents it shows."""
    with _Within(gen, docs) as within:
        return evaluate(q, within, reader)


def matching_docs(q: wq.Query, gen: Generation, reader,
                  keep: Match | None = None) -> np.ndarray:
    """The documents ``q`` matches (within ``keep``): the documents of
    ``evaluate(q)``, without adding up their scores.  What counts and facets
    read when ``best`` gave the ranking."""
    lists = _term_lists(q, gen)
    if lists is None:
        match = evaluate(q, gen, reader)
        return (restrict(match, keep) if keep is not None else match).docs
    return within(_docs_of(lists, gen.doc_count_all), keep)


#: A ranking by date walks the documents in date order when a query's
#: postings are more than 1/SEQUENCE_SHARE of the documents: a match then
#: comes every few documents of the walk.  Fewer are sorted by date.
SEQUENCE_SHARE = 64


def first_in_order(q: wq.Query, gen: Generation, reader, keep: Match | None, limit: int,
                   order: np.ndarray, sequence: np.ndarray, every: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``limit`` documents ``q`` matches within ``keep`` by
    ``order`` (a sort key per document, ties by number, as ``top`` ranks
    them; ``sequence``: every document in that order), sorted by number;
    and every match, or None when ``every`` is False and they were not
    listed on the way.

    Why: a broad query ranked by date would otherwise list its hundreds of
    thousands of matches, look up each one's date and partition them, to
    keep a hundred; walking the documents in date order over a mask of the
    matches stops at the hundredth."""
    lists = _term_lists(q, gen) if keep is None else None
    if lists is None or sum(len(docs) for docs in lists) * SEQUENCE_SHARE < gen.doc_count_all:
        matched = (matching_docs(q, gen, reader, keep) if lists is None
                   else _docs_of(lists, gen.doc_count_all))
        first, _ = top(Match(matched, np.zeros(len(matched))), limit, order)
        return np.sort(first), matched
    with _marked(lists, gen.doc_count_all) as hit:
        found, held, start, step = [], 0, 0, 4 * max(limit, 1)
        while held < limit and start < len(sequence):
            part = sequence[start:start + step]
            found.append(part.take(true_at(hit.take(part))))
            held += len(found[-1])
            start, step = start + step, step * 4
        matched = true_at(hit).astype(np.int32) if every else None
    return np.sort(np.concatenate([_NO_DOCS, *found])[:limit]), matched


def _term_lists(q: wq.Query, gen) -> list[np.ndarray] | None:
    """The documents of each of ``q``'s terms that has any, if ``q`` is a
    sum of terms; else None."""
    terms = _sum_terms(q)
    if terms is None:
        return None
    return [docs for docs in (gen.term(t.fieldname, t.text)[0] for t in terms) if len(docs)]


def _docs_of(lists: list[np.ndarray], size: int) -> np.ndarray:
    """Every document of ``lists`` (of ``size`` documents), sorted."""
    if not lists:
        return _NO_DOCS
    if sum(len(docs) for docs in lists) * DENSE_UNION > size:
        with _marked(lists, size) as hit:
            return true_at(hit).astype(np.int32)
    return unique_sorted(np.concatenate(lists))


@contextmanager
def _marked(lists: list[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Which of ``size`` documents one of ``lists`` holds, for the ``with``
    block (a scratch array)."""
    with scratch.zeros(size, bool, lists) as hit:
        for docs in lists:
            put(hit, docs, True)
        yield hit


def prunable(q: wq.Query) -> bool:
    """Whether ``best`` prunes ``q`` (a sum of terms, once ``expand_terms``
    has expanded it) rather than scoring every match."""
    return _sum_terms(q) is not None


def _sum_terms(q: wq.Query) -> list[wq.Term] | None:
    """The terms of ``q`` if its score is the plain sum of their scores
    (terms under ORs that carry no boost), else None."""
    if type(q) is wq.Term:
        return [q]
    if q is wq.NullQuery:
        return []
    if type(q) is not wq.Or or (q.boost != 1.0 and len(q.subqueries) > 1):
        return None
    return _terms_summed(q.subqueries)


def _terms_summed(subqueries: list[wq.Query]) -> list[wq.Term] | None:
    """The terms of an OR of ``subqueries`` with no boost (``_sum_terms``)."""
    found: list[wq.Term] = []
    for sub in subqueries:
        if type(sub) is wq.Term:  # most children: no call (a long query has dozens)
            found.append(sub)
            continue
        terms = _sum_terms(sub)
        if terms is None:
            return None
        found.extend(terms)
    return found


#: A posting list of at least SPAN_CUT_FROM postings limited to a filter is
#: first cut to the span of the filter's document numbers (``_Within``).
SPAN_CUT_FROM = 4096


class _Within:
    """A generation seen through a set of documents (sorted; None: every
    document): each term's postings limited to the set.

    Evaluating a sum of terms through it gives each document of the set the
    score it has over the whole generation: the same terms, added in the
    same order (``_union`` sums alike both ways).  Used in a ``with``
    block: the mask of the set, if one was made, is a scratch array."""

    def __init__(self, gen: Generation | _Within, docs: np.ndarray | None):
        self._gen = gen
        self._docs = docs
        self._mask = None
        self._borrowed = ExitStack()
        self._terms: dict = {}  # a query reads a term several times
        self.doc_count_all = gen.doc_count_all
        self.schema = gen.schema

    def __enter__(self) -> _Within:
        return self

    def __exit__(self, kind, error, trace) -> None:
        self._borrowed.__exit__(kind, error, trace)

    def term(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        if self._docs is None:
            return self._gen.term(fieldname, text)
        found = self._terms.get((fieldname, text))
        if found is None:
            found = self._terms[fieldname, text] = self._restricted(fieldname, text)
        return found

    def terms(self, keys: list[tuple[str, object]]) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._docs is None:
            return self._gen.terms(keys)
        return [self.term(*key) for key in keys]

    def summand(self, fieldname: str, text, boost: float) -> tuple[np.ndarray, np.ndarray]:
        """``Generation.summand`` within the documents (not kept)."""
        if self._docs is None:
            return self._gen.summand(fieldname, text, boost)
        return summand_of(*self.term(fieldname, text), boost)

    def dense_summand(self, fieldname: str, text, boost: float) -> np.ndarray | None:
        """``Generation.dense_summand``; None within a set of documents (it
        would be made for one query: its ``summand`` is added instead)."""
        if self._docs is None:
            return self._gen.dense_summand(fieldname, text, boost)
        return None

    def term_tops(self, keys: list[tuple[str, object]]
                  ) -> list[tuple[np.ndarray, float, float]]:
        """``Generation.term_tops`` within the documents."""
        if self._docs is None:
            return self._gen.term_tops(keys)
        return [(docs, float(scores[0]), float(scores[1]))
                for docs, scores in (best_of(*self.term(*key)) for key in keys)]

    def _restricted(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        docs, scores = self._gen.term(fieldname, text)
        wanted = self._docs
        if len(docs) >= SPAN_CUT_FROM and len(wanted):
            # First cut to the filter's first and last documents: a date
            # range of an archive read in date order is a narrow span of
            # document numbers, and two binary searches cost less than
            # looking up or masking the rest of a long list.
            lo, hi = np.searchsorted(docs, (wanted[0], wanted[-1] + 1)).tolist()
            docs, scores = docs[lo:hi], scores[lo:hi]
        if len(wanted) * 16 < len(docs):  # few documents: look each up
            if not len(docs):
                return docs, scores
            at = np.minimum(np.searchsorted(docs, wanted), len(docs) - 1)
            found = true_at(docs.take(at) == wanted)
            return wanted.take(found), scores.take(at.take(found))
        if self._mask is None:
            self._mask = self._borrowed.enter_context(_marked([wanted], self.doc_count_all))
        inside = true_at(self._mask.take(docs))
        return docs.take(inside), scores.take(inside)


# -- combining sparse matches -------------------------------------------------

def _contains(sorted_docs: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """For each of ``docs``, whether it is in ``sorted_docs``."""
    if not len(sorted_docs):
        return np.zeros(len(docs), dtype=bool)
    at = np.searchsorted(sorted_docs, docs)
    return sorted_docs.take(np.minimum(at, len(sorted_docs) - 1)) == docs


#: An OR whose children hold more postings than 1/DENSE_UNION of the
#: documents is summed in an array over all documents; a sparser one by
#: merging its children's sorted arrays (``Generation``'s unions alike).
DENSE_UNION = generation.DENSE_UNION


def _union(matches: list[Match], size: int) -> Match:
    """Every document of any match, its scores summed.

    ``np.add.at`` and ``np.bincount`` both add the weights in the order
    given, so each document's scores are added one match after another,
    from 0, both ways: the same sums to the last bit, whichever way a union
    is taken."""
    matches = [m for m in matches if len(m.docs)]
    if not matches:
        return _empty()
    if len(matches) == 1:
        return Match(matches[0].docs, matches[0].scores.copy())
    if sum(len(m.docs) for m in matches) * DENSE_UNION > size:
        # Added into one array over the documents a match at a time: a broad
        # prefix's union is bound by memory traffic, and this reads each
        # posting once, without a concatenated copy of them all.
        lists = [m.docs for m in matches]
        with scratch.zeros(size, np.float64, lists) as sums:
            for m in matches:
                add_at(sums, m.docs, m.scores)
            return _summed(sums, lists, all(m.scores.min() > 0 for m in matches))
    return Match(*merged(np.concatenate([m.docs for m in matches]),
                         np.concatenate([m.scores for m in matches])))


def _summed(sums: np.ndarray, lists: list[np.ndarray], positive: bool) -> Match:
    """The match of a union added up in ``sums`` (over every document) from
    ``lists``: where a sum is not 0 when every value added was above 0
    (``positive``), else every document of the lists."""
    if positive:
        found = true_at(sums != 0)  # where a positive score was added
    else:
        with _marked(lists, len(sums)) as hit:
            found = true_at(hit)
    return Match(found.astype(np.int32), sums.take(found))


def _sum(terms: list[wq.Term], gen) -> Match:
    """Every match of a sum of ``terms``, scored: ``_union`` of their
    matches, with their postings read in one look-up and the short lists
    added a run at a time (``_add_postings``).  Why: a long query or "more
    like this" ORs dozens of terms in five fields, mostly short lists, and a
    look-up, a match and an addition for each cost more than their
    postings.  The same sums to the last bit:
    the terms are added in the same order, each value times its boost."""
    lists = gen.terms([(t.fieldname, t.text) for t in terms])
    held = [i for i, (docs, _) in enumerate(lists) if len(docs)]
    if len(held) < len(lists):
        terms, lists = [terms[i] for i in held], [lists[i] for i in held]
    if not lists:
        return _empty()
    size = gen.doc_count_all
    if len(lists) == 1:
        docs, values = lists[0]
        return Match(docs, values * terms[0].boost)
    if sum(len(docs) for docs, _ in lists) * DENSE_UNION > size:
        written = [docs for docs, _ in lists]
        with scratch.zeros(size, np.float64, written) as sums:
            return _summed(sums, written, _add_postings(sums, gen, terms, lists, positive=True))
    return Match(*merged(*_joined([(docs, values, t.boost)
                                   for t, (docs, values) in zip(terms, lists, strict=True)])))


def _intersection(matches: list[Match]) -> Match:
    """The documents of every match, their scores summed."""
    matches = sorted(matches, key=lambda m: len(m.docs))
    docs, scores = matches[0].docs, matches[0].scores.copy()
    for m in matches[1:]:
        if not len(docs):
            break
        if not len(m.docs):
            return _empty()
        at = np.minimum(np.searchsorted(m.docs, docs), len(m.docs) - 1)
        inside = true_at(m.docs.take(at) == docs)
        docs, scores = docs.take(inside), scores.take(inside) + m.scores.take(at.take(inside))
    return Match(docs, scores)


def _boosted(m: Match, boost: float) -> Match:
    if boost != 1.0:
        m.scores = m.scores * boost
    return m


def _constant(docs: np.ndarray, boost: float) -> Match:
    return Match(docs.astype(np.int32, copy=False), np.full(len(docs), float(boost)))


# -- the query tree -----------------------------------------------------------

def _term(q: wq.Term, gen: Generation, reader) -> Match:
    docs, contrib = gen.term(q.fieldname, q.text)
    return Match(docs, contrib * q.boost if q.boost != 1.0 else contrib)


def _or(q: wq.Or, gen: Generation, reader) -> Match:
    if len(q.subqueries) == 1:  # Whoosh then ignores the Or and its boost
        return evaluate(q.subqueries[0], gen, reader)
    terms = _terms_summed(q.subqueries)
    if terms is not None:
        return _boosted(_sum(terms, gen), q.boost)
    return _boosted(_union([evaluate(sub, gen, reader) for sub in _summands(q)],
                           gen.doc_count_all), q.boost)


def _summands(q: wq.Or) -> list[wq.Query]:
    """What an Or adds up, the Ors among its children that carry no boost
    opened: one union of a prefix's expansions in every field, or of a
    query's words and their widening, rather than a union of unions, each
    a pass over the documents once it is dense.  Whoosh adds the inner sums
    first, so a score may differ from its in the last bits; both ways of a
    union, and so the pruned ranking (``best``), add in this one order."""
    found: list[wq.Query] = []
    for sub in q.subqueries:
        if type(sub) is wq.Or and sub.boost == 1.0 and len(sub.subqueries) > 1:
            found.extend(_summands(sub))
        else:
            found.append(sub)
    return found


def _and(q: wq.And, gen: Generation, reader) -> Match:
    if not q.subqueries:
        return _empty()
    if len(q.subqueries) == 1:
        return evaluate(q.subqueries[0], gen, reader)
    subs = [evaluate(sub, gen, reader) for sub in q.subqueries]
    return _boosted(_intersection(subs), q.boost)


def _and_not(q: wq.AndNot, gen: Generation, reader) -> Match:
    a = evaluate(q.a, gen, reader)
    keep = true_at(~_contains(evaluate(q.b, gen, reader).docs, a.docs))
    return Match(a.docs.take(keep), a.scores.take(keep))


def _and_maybe(q: wq.AndMaybe, gen: Generation, reader) -> Match:
    a = evaluate(q.a, gen, reader)
    b = evaluate(q.b, gen, reader)
    at = np.minimum(np.searchsorted(b.docs, a.docs), max(len(b.docs) - 1, 0))
    bonus = np.where(_contains(b.docs, a.docs), b.scores[at] if len(b.docs) else 0.0, 0.0)
    return Match(a.docs, a.scores + bonus)


def _require(q: wq.Require, gen: Generation, reader) -> Match:
    a = evaluate(q.a, gen, reader)
    return restrict(a, evaluate(q.b, gen, reader))


def _not(q: wq.Not, gen: Generation, reader) -> Match:
    """Every live document without the child's match, each scoring 1 (Whoosh
    ignores a NOT's boost)."""
    excluded = evaluate(q.query, gen, reader).docs
    docs = gen.live_docs
    return _constant(docs[~_contains(excluded, docs)], 1.0)


def _every(q: wq.Every, gen: Generation, reader) -> Match:
    """``*`` (every live document) or ``field:*`` (those with the field)."""
    fieldname = q.fieldname
    if fieldname in (None, "", "*"):
        return _constant(gen.live_docs, q.boost)
    if fieldname not in gen.schema:
        return _empty()
    field = gen.schema[fieldname]
    if field.scorable:
        has = gen.length_codes(fieldname) > 0
    elif field.column_type is not None and gen.has_numbers(fieldname):
        has = gen.numbers(fieldname)[1]
    else:  # keywords (source, year...): documents holding any term, b"" included
        terms = gen.span(fieldname, b"", None, MAX_SCANNED_TERMS)
        docs = [gen.term(fieldname, field.from_bytes(b))[0] for b in terms]
        return _constant(unique_sorted(np.concatenate([_NO_DOCS, *docs])), q.boost)
    return _constant(true_at(has & gen.live), q.boost)


def _phrase(q: wq.Phrase, gen: Generation, reader) -> Match:
    """Scored as Whoosh scores it: the sum of its words' BM25F scores."""
    if q.fieldname not in gen.schema or not q.words:
        return _empty()
    if len(q.words) == 1:
        return _term(wq.Term(q.fieldname, q.words[0], boost=q.boost), gen, reader)
    return _slots_phrase(q, [(word,) for word in q.words], gen)


def _prefix_phrase(q: PrefixPhrase, gen: Generation, reader) -> Match:
    """A phrase with prefix words: each prefix stands for its expansions (the
    MAX_EXPANSIONS most frequent, as a loose prefix's), any of which makes
    the phrase; a document scores its phrase words' BM25F scores, a prefix
    word's being those of the expansions it holds."""
    if q.fieldname not in gen.schema or not q.words:
        return _empty()
    field = gen.schema[q.fieldname]
    slots = []
    for word, prefix in zip(q.words, q.prefixes, strict=True):
        if prefix is None:
            slots.append((word,))
            continue
        expanded = wq.Prefix(q.fieldname, prefix)
        slots.append(tuple(expand(expanded, gen, reader, field)))
        if not slots[-1]:
            return _empty()
    return _slots_phrase(q, slots, gen)


def _slots_phrase(q: wq.Phrase, slots: list[tuple], gen: Generation) -> Match:
    # The words' postings first: through a metered generation they are
    # charged before any of their positions is read.
    postings = [[gen.term(q.fieldname, word) for word in slot] for slot in slots]
    docs = gen.phrase(q.fieldname, slots, max(q.slop, 1))
    scores = np.zeros(len(docs))
    for lists in postings:
        for ids, contrib in lists:
            if len(lists) == 1:
                scores += contrib[np.searchsorted(ids, docs)]
            else:
                scores += _scores_of(ids, contrib, docs)
    return _boosted(Match(docs, scores), q.boost)


def _scores_of(ids: np.ndarray, contrib: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Each of ``docs``'s (sorted) score in a posting list, 0 where absent:
    the shorter side is binary-searched in the longer."""
    found = np.zeros(len(docs))
    if not len(ids):
        return found
    if len(docs) <= len(ids):
        at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        hit = true_at(ids.take(at) == docs)
        found[hit] = contrib.take(at.take(hit))
    else:
        at = np.minimum(np.searchsorted(docs, ids), len(docs) - 1)
        hit = true_at(docs.take(at) == ids)
        found[at.take(hit)] = contrib.take(hit)
    return found


def _numeric_range(q: wq.NumericRange, gen: Generation, reader) -> Match:
    """A date range (the date filter, ``التاريخ:[...]``), scored as a constant."""
    # A Whoosh Schema has no .get().
    field = gen.schema[q.fieldname] if q.fieldname in gen.schema else None  # noqa: SIM401
    if field is None or field.column_type is None:
        return _empty()
    start = None if q.start is None else field.prepare_number(q.start)
    end = None if q.end is None else field.prepare_number(q.end)
    docs, ordered = gen.by_value(q.fieldname)
    first = 0 if start is None else np.searchsorted(
        ordered, start, side="right" if q.startexcl else "left")
    last = len(ordered) if end is None else np.searchsorted(
        ordered, end, side="left" if q.endexcl else "right")
    if (last - first) * SORTED_RANGE < gen.doc_count_all:
        return _constant(np.sort(docs[first:max(first, last)]), q.boost)
    # A wide range: one pass over the documents' values.
    values, present = gen.numbers(q.fieldname)
    mask = gen.live & present
    if start is not None:
        mask &= values > start if q.startexcl else values >= start
    if end is not None:
        mask &= values < end if q.endexcl else values <= end
    return _constant(true_at(mask), q.boost)


#: A range holding fewer than 1/SORTED_RANGE of the documents is a slice of
#: them ordered by value, sorted back into document order; a wider one, a
#: pass over every document's value (then the cheaper of the two).
SORTED_RANGE = 2


def _term_range(q: wq.TermRange, gen: Generation, reader) -> Match:
    """A range of words (``source:[a TO c]``): every document holding one,
    scored as a constant, as Whoosh does."""
    if q.fieldname not in gen.schema:
        return _empty()
    field = gen.schema[q.fieldname]
    docs = [gen.term(q.fieldname, text)[0] for text in expand(q, gen, reader, field)]
    return _constant(unique_sorted(np.concatenate([_NO_DOCS, *docs])), q.boost)


def _expanded(q: wq.Query, gen: Generation, reader) -> Match:
    """Prefixes, wildcards, regular expressions and fuzzy terms: the OR of
    their bounded expansion, the terms' BM25F scores summed (Whoosh's with
    ``constantscore=False``; its default scores each expansion a document
    holds 1, as Lucene scores a prefix a constant).  The expansion is one
    term, their union (``Generation``'s ``Expansion``)."""
    return evaluate(_expansion(q, gen, reader), gen, reader)


_EXPANDABLE = (wq.Prefix, wq.Wildcard, wq.Regex, wq.FuzzyTerm)


def _expansion(q: wq.Query, gen: Generation, reader) -> wq.Query:
    """The terms ``q`` (a prefix, wildcard, regular expression or fuzzy
    term) is searched as, OR-ed; ``*`` alone as every document."""
    fieldname = q.fieldname
    if fieldname not in gen.schema:
        return wq.NullQuery
    text = getattr(q, "text", None)
    if (isinstance(q, wq.Prefix) and not text) or (
            isinstance(q, wq.Wildcard) and text and set(text) <= {"*"}):
        return wq.Every(fieldname, boost=q.boost)
    field = gen.schema[fieldname]
    texts = expand(q, gen, reader, field)
    if len(texts) <= 1:  # one term: Whoosh ignores the boost
        return wq.Term(fieldname, texts[0]) if texts else wq.NullQuery
    # One term (their union) with the boost: the same scores (up to
    # rounding), and a query holding it stays a plain sum of terms that
    # ``best`` prunes.
    return wq.Term(fieldname, texts, boost=q.boost)


def expand_terms(q: wq.Query, gen: Generation, reader) -> wq.Query:
    """``q`` with the prefixes, wildcards, regular expressions and fuzzy
    terms of its ORs replaced by the terms they are searched as: evaluated
    alike, and a prefix among words stays a sum of terms (``best``)."""
    if isinstance(q, _EXPANDABLE):
        return _expansion(q, gen, reader)
    if type(q) is wq.Or:
        return wq.Or([expand_terms(sub, gen, reader) for sub in q.subqueries], boost=q.boost)
    return q


def expand(q: wq.Query, gen: Generation, reader, field) -> Expansion:
    """The terms (their texts, sorted by their bytes) a prefix, wildcard, regular expression,
    fuzzy term or word range is searched as: its MAX_EXPANSIONS most
    frequent expansions among at most MAX_SCANNED_TERMS vocabulary entries
    (of each segment).

    The candidates and their document frequencies come from the segments'
    sorted term arrays (``Generation.span``), without a Whoosh term lookup
    per candidate; only fuzzy terms ask Whoosh's reader, whose automaton
    finds them.  A generation keeps the expansions it made (they depend on
    it alone), decoded: a page, its next page and the facets ask for the
    same ones."""
    def find() -> Expansion:
        found = _frequencies(q, gen, reader, field)
        if len(found) > MAX_EXPANSIONS:
            found = {t: found[t] for t in heapq.nsmallest(MAX_EXPANSIONS, found,
                                                          key=lambda t: (-found[t], t))}
        return Expansion((field.from_bytes(t) for t in sorted(found)), sum(found.values()))
    return gen.derived(_expansion_key(q), find)


def _expansion_key(q: wq.Query) -> tuple:
    """What ``expand``'s terms depend on, besides the generation."""
    if isinstance(q, wq.FuzzyTerm):
        return ("fuzzy", q.fieldname, q.text, q.maxdist, q.prefixlength)
    if isinstance(q, wq.TermRange):
        return ("range", q.fieldname, q.start, q.end, q.startexcl, q.endexcl)
    return (type(q).__name__, q.fieldname, q.text)


def _frequencies(q: wq.Query, gen: Generation, reader, field) -> dict[bytes, int]:
    fieldname = q.fieldname
    if isinstance(q, wq.FuzzyTerm):
        gen.charge(FUZZY_UNITS)
        terms = reader.terms_within(fieldname, q.text, q.maxdist, prefix=q.prefixlength)
        encoded = [t if isinstance(t, bytes) else field.to_bytes(t) for t in terms]
        return {t: reader.doc_frequency(fieldname, t) for t in encoded}
    if isinstance(q, wq.TermRange):
        start = field.to_bytes(q.start) if q.start else b""
        end = field.to_bytes(q.end) if q.end else None
        # b"\0" after the end: the end itself is inside the span.
        found = gen.span(fieldname, start, None if end is None else end + b"\0",
                         MAX_SCANNED_TERMS)
        if q.startexcl:
            found.pop(start, None)
        if q.endexcl and end is not None:
            found.pop(end, None)
        return found
    if isinstance(q, wq.Prefix):
        prefix = field.to_bytes(q.text)
        return gen.span_frequent(fieldname, prefix, _after(prefix), MAX_SCANNED_TERMS,
                                 MAX_EXPANSIONS)
    if isinstance(q, wq.Wildcard):
        literal = field.to_bytes(re.split(r"[*?\[]", q.text, maxsplit=1)[0])
        rest = rest_pattern(q.text, field)
        if rest is not None:
            return gen.span_matching(fieldname, literal, _after(literal), MAX_SCANNED_TERMS, rest)
        pattern = re.compile(fnmatch.translate(q.text))
    else:  # Regex
        pattern, literal = re.compile(q.text), b""
    found = gen.span(fieldname, literal, _after(literal), MAX_SCANNED_TERMS)
    return {t: n for t, n in found.items() if pattern.match(field.from_bytes(t))}


def rest_pattern(text: str, field) -> re.Pattern | None:
    """What a wildcard of ``*`` only asks of a term after its literal start
    (which the span of terms it scans already gives): its other literals in
    order, the last at the end unless the wildcard ends with ``*``, searched
    by flat.py's ``span_matching`` over one term per line.  None for ``?``
    and ``[...]``, for a wildcard whose start is all it asks, and for a field
    whose terms are not the UTF-8 of their text."""
    if "?" in text or "[" in text or field.to_bytes("ا") != "ا".encode():
        return None
    literals = [part for part in text.split("*")[1:] if part]
    if not literals:
        return None
    first, *others = literals
    open_end = text.endswith("*")
    tail = glob_tail(others, "[^\n]", open_end)
    return re.compile((re.escape(first) + tail + ("" if open_end else "(?=\n)")).encode())


def _after(prefix: bytes) -> bytes | None:
    """The smallest bytes above every term that starts with ``prefix``
    (None: no bound)."""
    stem = prefix.rstrip(b"\xff")
    return stem[:-1] + bytes([stem[-1] + 1]) if stem else None


_HANDLERS = {
    wq.Term: _term,
    wq.Or: _or,
    wq.And: _and,
    wq.AndNot: _and_not,
    wq.AndMaybe: _and_maybe,
    wq.Require: _require,
    wq.Not: _not,
    wq.Every: _every,
    PrefixPhrase: _prefix_phrase,
    wq.Phrase: _phrase,
    wq.DateRange: _numeric_range,
    wq.NumericRange: _numeric_range,
    wq.TermRange: _term_range,
    wq.Prefix: _expanded,
    wq.Wildcard: _expanded,
    wq.Regex: _expanded,
    wq.FuzzyTerm: _expanded,
}
