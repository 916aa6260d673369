"""How the index groups its articles into stories, and how precisely.

    .venv/bin/python scripts/story_groups.py INDEX [--labels scripts/data/story_pairs.tsv]
    .venv/bin/python scripts/story_groups.py INDEX --dump PAIRS.txt   # to label them

Prints the number of articles and stories, the distribution of the
stories' sizes, and the precision of a sample of grouped pairs: SAMPLE
pairs of articles of the same story (uniform over all such pairs, a fixed
seed), each labelled by a reader in ``--labels`` (tab-separated: the two
ids, 1 if the two articles report the same story or event with small
edits, else 0, and a short reason).  ``--dump`` writes the sampled pairs'
headlines, sources, dates and bodies for labelling.  Exits 1 when a sampled
pair has no label or the precision is under 95 %.  docs/stories.md has the
figures on the shared corpora.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer import manifest, minhash, store, stories

SAMPLE = 200
SEED = 14
LABELS = Path(__file__).resolve().parent / "data" / "story_pairs.tsv"
#: Size classes of the distribution.
SIZES = [(2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, None)]


def load(home: Path):
    """(stories, id per docnum, searcher) of the live generation."""
    ix = manifest.open_current(home)
    searcher = ix.searcher()
    ids = {docnum: fields["id"] for docnum, fields in searcher.iter_docs()}
    return stories.Stories(store.current_dir(home)), ids, searcher


def sample_pairs(found: stories.Stories, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` distinct pairs of documents of one story, uniform over all
    such pairs (a story of k articles has k(k-1)/2)."""
    sizes = np.array([found.size(s) for s in range(len(found))])
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
    args = parser.parse_args()
    found, ids, searcher = load(args.index)
    sizes = Counter(found.size(s) for s in range(len(found)))
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


if __name__ == "__main__":
    sys.exit(main())
