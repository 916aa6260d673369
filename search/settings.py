"""Search-time choices, passed to the engine (index-time ones are stored
with the index: indexer/settings.py).  The defaults are the measured best:
docs/quality.md has the table behind each, made by scripts/ablation.py with
these same settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SearchSettings:
    #: BM25F: a low k1 (term frequency saturates fast: matching more of the
    #: query's words beats repeating one) and full length normalization.
    k1: float = 0.5
    b: float = 1.0
    #: Fields searched when the query names none, with their query boosts
    #: (fields missing from the index are skipped).  ``body`` also indexes the
    #: headline; ``body_exact`` / ``body_skel`` are its unstemmed and
    #: vowel-less views (indexer/schema.py).
    field_boosts: dict = field(default_factory=lambda: (
        {"headline": 0.75, "body": 1.0, "keywords": 1.0, "body_exact": 0.3, "body_skel": 0.3}))
    #: Plain words are OR-ed: AND finds almost nothing for a question.
    conjunctive: bool = False
    #: Views that match MORE documents than the stemmed fields (the skeleton
    #: conflates much as a root would): added only to OR-ed queries of at
    #: least ``min_widening_terms`` words, so a one-word search finds that word.
    widening_views: tuple[str, ...] = ("body_skel",)
    min_widening_terms: int = 2
