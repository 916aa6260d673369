"""The query set of bench/scale.py: one query of every kind per sampled headline.

Both engines answer exactly these queries.  They come from headlines of real
(round 0) articles of the synthetic archive, so every query finds something
at every size; words are picked as bench/corpus.py picks them (content words,
no query syntax by accident).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import timedelta
from itertools import pairwise

from corpus import is_content, span_of, words

#: Query kinds, in report order.
KINDS = ("word1", "words2_4", "phrase2", "prefix", "date", "source", "newest")
KIND_LABELS = {
    "word1": "1 word",
    "words2_4": "2-4 words",
    "phrase2": '"2-word phrase"',
    "prefix": "prefix (word*)",
    "date": "2-4 words + date range",
    "source": "2-4 words + source filter",
    "newest": "2-4 words, newest first",
}
#: A week around the sampled article's date.
DATE_WINDOW_DAYS = 3
#: Leading articles/conjunctions a person would not type before a prefix.
_LEADS = ("وال", "بال", "فال", "كال", "ال", "لل")


@dataclass
class Query:
    kind: str
    q: str
    date_from: str = ""
    date_to: str = ""
    source: str = ""
    sort: str = "relevance"

    def as_dict(self) -> dict:
        return asdict(self)

    def tsv(self) -> str:
        """One line of the Lucene harness's query file."""
        return (f"{self.kind}\t{self.q}\t{self.date_from}\t{self.date_to}\t{self.source}\t"
                f"{self.sort}")


def prefix_of(word: str) -> str:
    """``word`` without a leading article, cut by one letter, as ``stem*``."""
    for lead in _LEADS:
        if word.startswith(lead) and len(word) - len(lead) >= 4:
            word = word[len(lead):]
            break
    return word[:max(3, len(word) - 1)] + "*"


def usable(base) -> bool:
    ws = words(base.headline)
    return len(ws) >= 3 and any(is_content(w) for w in ws) and base.date and base.source


def queries_for(base, rng: random.Random) -> list[Query]:
    """Every kind from one article's headline, date and source."""
    ws = words(base.headline)
    content = [w for w in ws if is_content(w)]

    def span() -> str:
        return " ".join(span_of(rng, ws, 2, 4))

    pairs = [(a, b) for a, b in pairwise(ws) if is_content(a) and is_content(b)]
    a, b = rng.choice(pairs or list(pairwise(ws)))
    day = base.date.date()
    return [
        Query("word1", rng.choice(content)),
        Query("words2_4", span()),
        Query("phrase2", f'"{a} {b}"'),
        Query("prefix", prefix_of(rng.choice(content))),
        Query("date", span(), (day - timedelta(days=DATE_WINDOW_DAYS)).isoformat(),
              (day + timedelta(days=DATE_WINDOW_DAYS)).isoformat()),
        Query("source", span(), source=base.source),
        Query("newest", span(), sort="newest"),
    ]


def make_queries(base: list, n: int, seed: int) -> list[Query]:
    """``n`` articles' worth of queries (``n`` of every kind), fixed seed."""
    rng = random.Random(seed + 1)
    order = list(range(len(base)))
    rng.shuffle(order)
    picked = [base[i] for i in order if usable(base[i])][:n]
    return [q for art in picked for q in queries_for(art, rng)]
