"""How the index groups its articles into stories, and how precisely.

    .venv/bin/python scripts/story_groups.py INDEX [--labels scripts/data/story_pairs.tsv]
    .venv/bin/python scripts/story_groups.py INDEX --dump PAIRS.txt   # to label them
    .venv/bin/python scripts/story_groups.py INDEX --recall [--recall-labels FILE]
    .venv/bin/python scripts/story_groups.py INDEX --recall --dump PAIRS.txt

Prints the number of articles and stories, the distribution of the
stories' sizes, and the precision of a sample of grouped pairs: SAMPLE
pairs of articles of the same story (uniform over all such pairs, a fixed
seed), each labelled by a reader in ``--labels`` (tab-separated: the two
ids, 1 if the two articles report the same story or event with small
edits, else 0, and a short reason).  ``--dump`` writes the sampled pairs'
headlines, sources, dates and bodies for labelling.  Exits 1 when a sampled
pair has no label or the precision is under 95 %.  docs/stories.md has the
figures on the shared corpora.

``--recall`` measures the other side: of the pairs of articles that are
one story, the share the index groups.  Its sample does not come from the
groups (nor from the MinHash signatures): the candidates are the pairs of
dated articles of different sources at most MAX_DAYS days apart whose
normalized bodies share a run of RUN_WORDS words (a run found in more than
COMMON articles is boilerplate and links none), or whose headlines share
HEADLINE_SHARE of their words (at least HEADLINE_MIN of them).  RECALL_SAMPLE
of them are drawn uniformly (a fixed seed) and labelled by a reader in
``--recall-labels`` (the same format); the recall is the share of the pairs
labelled 1 that the index puts in one story.  ``--dump`` with ``--recall``
writes those pairs without saying whether they are grouped.  Pairs the
candidates cannot find (a story rewritten in other words and headline,
or printed more than MAX_DAYS days later) are not counted.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer import manifest, minhash, store, stories
from indexer.normalize import normalize_text

SAMPLE = 200
SEED = 14
LABELS = Path(__file__).resolve().parent / "data" / "story_pairs.tsv"
#: Size classes of the distribution.
SIZES = [(2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, None)]

RECALL_SAMPLE = 200
RECALL_LABELS = Path(__file__).resolve().parent / "data" / "story_recall_pairs.tsv"
#: A shared run of this many words is rarely chance: it is a quoted
#: sentence, which is what an edited copy keeps (and a rewrite may not).
RUN_WORDS = 12
#: A run printed in more articles than this is boilerplate (a byline, an
#: agency's closing formula), not a story: larger than the largest story.
COMMON = 30
#: Headlines sharing this share of the longer one's distinct words, and at
#: least HEADLINE_MIN words, are candidates even when the bodies differ.
HEADLINE_SHARE = 0.6
HEADLINE_MIN = 3
#: Headline words in more headlines than this (``في``, ``المملكة``) are
#: counted in the share but link no pair on their own.
HEADLINE_COMMON = 2000
_WORD = re.compile(r"\w+")
_P = np.uint64(0x100000001B3)


def load(home: Path):
    """(stories, id per docnum, searcher) of the live generation."""
    ix = manifest.open_current(home)
    searcher = ix.searcher()
    ids = {docnum: fields["id"] for docnum, fields in searcher.iter_docs()}
    return stories.Stories(store.current_dir(home)), ids, searcher


def sample_pairs(found: stories.Stories, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` distinct pairs of documents of one story, uniform over all
    such pairs (a story of k articles has k(k-1)/2)."""
    sizes = found.sizes(np.arange(len(found)))
    weights = sizes * (sizes - 1) // 2
    grouped = np.flatnonzero(weights)
    rng = random.Random(seed)
    total = int(weights[grouped].sum())
    picked: set[tuple[int, int]] = set()
    cumulative = np.cumsum(weights[grouped])
    while len(picked) < min(n, total):
        story = int(grouped[np.searchsorted(cumulative, rng.randrange(total), side="right")])
        a, b = sorted(rng.sample(found.members(story).tolist(), 2))
        picked.add((a, b))
    return sorted(picked, key=lambda pair: (rng.random(), pair))


def _day(value) -> int | None:
    if isinstance(value, datetime.datetime):
        return value.date().toordinal()
    if isinstance(value, datetime.date):
        return value.toordinal()
    return None


def words(text: str) -> list[str]:
    """The normalized words of a text (the analyzer's normalizer)."""
    return _WORD.findall(normalize_text(text or ""))


def candidate_pairs(docs: dict[int, dict]) -> dict[tuple[int, int], str]:
    """The pairs of documents (``docs``: docnum -> stored fields) that may be
    one story, found without the signatures: dated, of different sources, at
    most MAX_DAYS days apart, sharing a body run of RUN_WORDS words ("run")
    or most of their headline words ("headline"; "run+headline": both)."""
    info = {n: (f.get("source"), _day(f.get("date"))) for n, f in docs.items()}
    dated = sorted(n for n, (_, day) in info.items() if day is not None)

    def fits(a: int, b: int) -> bool:
        (sa, da), (sb, db) = info[a], info[b]
        return sa != sb and abs(da - db) <= stories.MAX_DAYS

    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    # Runs: a 64-bit polynomial hash of every RUN_WORDS-word window.
    vocabulary: dict[str, int] = {}
    hashes, owners = [], []
    for n in dated:
        ids = np.array([vocabulary.setdefault(w, len(vocabulary) + 1)
                        for w in words(docs[n].get("body"))], dtype=np.uint64)
        if len(ids) < RUN_WORDS:
            continue
        h = np.zeros(len(ids) - RUN_WORDS + 1, dtype=np.uint64)
        for k in range(RUN_WORDS):
            h = h * _P + ids[k:len(ids) - RUN_WORDS + 1 + k]
        h = np.unique(h)
        hashes.append(h)
        owners.append(np.full(len(h), n, dtype=np.int64))
    if hashes:
        h, o = np.concatenate(hashes), np.concatenate(owners)
        order = np.argsort(h, kind="stable")
        h, o = h[order], o[order]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        ends = np.r_[starts[1:], len(h)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if 2 <= end - start <= COMMON:
                for a, b in itertools.combinations(sorted(o[start:end].tolist()), 2):
                    if fits(a, b):
                        found[a, b].add("run")
    # Headlines: the pairs linked by a word (each word's headlines in date
    # order, so that only pairs within MAX_DAYS are enumerated), then their
    # shared words counted.
    heads = {n: set(words(docs[n].get("headline"))) for n in dated}
    postings: dict[str, list[int]] = defaultdict(list)
    for n in sorted(dated, key=lambda n: info[n][1]):
        for w in heads[n]:
            postings[w].append(n)
    linked: set[tuple[int, int]] = set()
    for members in postings.values():
        if len(members) > HEADLINE_COMMON:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if info[b][1] - info[a][1] > stories.MAX_DAYS:
                    break
                if info[a][0] != info[b][0]:
                    linked.add((min(a, b), max(a, b)))
    for a, b in linked:
        both = len(heads[a] & heads[b])  # the common words too, though they link none
        if both >= HEADLINE_MIN and both >= HEADLINE_SHARE * max(len(heads[a]), len(heads[b])):
            found[a, b].add("headline")
    return {pair: "+".join(sorted(how, reverse=True)) for pair, how in found.items()}


def sample_candidates(candidates: dict[tuple[int, int], str], n: int,
                      seed: int) -> list[tuple[int, int]]:
    """``n`` candidate pairs drawn uniformly with a fixed seed."""
    pairs = sorted(candidates)
    return random.Random(seed).sample(pairs, min(n, len(pairs)))


def recall(pairs: list[tuple[int, int]], labelled: list[int],
           story: np.ndarray) -> tuple[int, int]:
    """(grouped, one story): of the pairs labelled 1, how many the index
    groups (``story``: the story number of each document)."""
    positive = [(a, b) for (a, b), label in zip(pairs, labelled, strict=True) if label == 1]
    return sum(int(story[a] == story[b]) for a, b in positive), len(positive)


def read_labels(path: Path) -> dict[tuple[str, str], tuple[int, str]]:
    labels = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        a, b, label, reason = line.split("\t", 3)
        labels[tuple(sorted((a, b)))] = (int(label), reason)
    return labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--dump", type=Path, help="write the sampled pairs for labelling")
    parser.add_argument("--sample", type=int, default=SAMPLE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--recall", action="store_true",
                        help="measure the recall on candidate pairs found without the groups")
    parser.add_argument("--recall-labels", type=Path, default=RECALL_LABELS)
    parser.add_argument("--recall-sample", type=int, default=RECALL_SAMPLE)
    args = parser.parse_args()
    found, ids, searcher = load(args.index)
    if args.recall:
        return main_recall(args, found, ids, searcher)
    sizes = Counter(found.sizes(np.arange(len(found))).tolist())
    grouped = sum(k * v for k, v in sizes.items() if k > 1)
    print(f"articles: {len(ids):,}  stories: {len(found):,}  "
          f"stories of 2+ articles: {sum(v for k, v in sizes.items() if k > 1):,} "
          f"holding {grouped:,} articles ({grouped / max(1, len(ids)):.1%})")
    print("story size  stories")
    for low, high in SIZES:
        count = sum(v for k, v in sizes.items() if k >= low and (high is None or k <= high))
        label = f"{low}" if low == high else f"{low}-{high}" if high else f"{low}+"
        print(f"{label:>10}  {count:,}")
    print(f"largest: {max(sizes)} articles")
    pairs = sample_pairs(found, args.sample, args.seed)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for n, (a, b) in enumerate(pairs, 1):
                da, db = searcher.stored_fields(a), searcher.stored_fields(b)
                sim = minhash.similarity(*(minhash.signature(d.get("body", "")) for d in (da, db)))
                out.write(f"== {n}\t{da['id']}\t{db['id']}\testimated jaccard {sim:.2f}\n")
                for d in (da, db):
                    out.write(f"-- {d.get('source')} {d.get('date')} | {d.get('headline')}\n"
                              f"{' '.join(d.get('body', '').split())[:600]}\n")
        print(f"{len(pairs)} pairs -> {args.dump}")
        return 0
    labels = read_labels(args.labels)
    missing = [(ids[a], ids[b]) for a, b in pairs if tuple(sorted((ids[a], ids[b]))) not in labels]
    if missing:
        print(f"{len(missing)} sampled pairs have no label in {args.labels}, e.g. {missing[0]}")
        return 1
    right = sum(labels[tuple(sorted((ids[a], ids[b])))][0] for a, b in pairs)
    precision = right / len(pairs)
    print(f"precision: {right}/{len(pairs)} sampled pairs are one story = {precision:.1%}")
    return 0 if precision >= 0.95 else 1


def main_recall(args, found: stories.Stories, ids: dict[int, str], searcher) -> int:
    docs = dict(searcher.iter_docs())
    candidates = candidate_pairs(docs)
    kinds = Counter(candidates.values())
    print(f"candidate pairs: {len(candidates):,} ("
          + ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items())) + ")")
    pairs = sample_candidates(candidates, args.recall_sample, args.seed)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for n, (a, b) in enumerate(pairs, 1):
                # Nothing here tells whether the index groups the pair: the
                # reader labels the articles, not the grouping.
                out.write(f"== {n}\t{ids[a]}\t{ids[b]}\t{candidates[a, b]}\n")
                for d in (docs[a], docs[b]):
                    body = " ".join((d.get("body") or "").split())
                    out.write(f"-- {d.get('source')} {d.get('date')} | {d.get('headline')} "
                              f"[{len(words(body))} words]\n{body[:700]}\n")
        print(f"{len(pairs)} pairs -> {args.dump}")
        return 0
    labels = read_labels(args.recall_labels)
    keys = [tuple(sorted((ids[a], ids[b]))) for a, b in pairs]
    missing = [key for key in keys if key not in labels]
    if missing:
        print(f"{len(missing)} sampled pairs have no label in {args.recall_labels}, "
              f"e.g. {missing[0]}")
        return 1
    grouped, positive = recall(pairs, [labels[key][0] for key in keys], found.story)
    print(f"sampled candidate pairs: {len(pairs)}, of one story: {positive}")
    print(f"recall: {grouped}/{positive} pairs of one story are grouped = "
          f"{grouped / max(1, positive):.1%}")
    for (a, b), key in zip(pairs, keys, strict=True):
        if labels[key][0] == 1 and found.story[a] != found.story[b]:
            print(f"missed ({candidates[a, b]}): {key[0]} {key[1]}  {labels[key][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
