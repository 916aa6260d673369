"""Index-time choices, stored with each generation (indexer/manifest.py).

An index is searched with the analysis it was built with: the schema
(pickled by Whoosh) carries the analyzers, and the manifest carries these
settings and their fingerprint, so a build with other choices, or code whose
rules or word lists changed, is noticed when the index opens.  The defaults
are the measured best (docs/quality.md, scripts/ablation.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from indexer.analysis import ArabicAnalyzer


@dataclass(frozen=True)
class IndexSettings:
    #: ``ArabicAnalyzer`` parameters (empty: its defaults).
    analyzer: dict = field(default_factory=dict)
    #: Extra views of the article text (headline + body), queried beside the
    #: stemmed ``body``: field -> stemmer.  ``body_exact`` (normalized,
    #: unstemmed) makes the very form typed count extra, which the stemmed
    #: field cannot tell (``الوزير`` / ``وزيرة``); ``body_skel`` (stem without
    #: long vowels) lets spelling and transliteration variants meet
    #: (``ليفربول`` / ``ليفيربول``).  Neither stored nor positional, to keep
    #: the index small.  View names start with ``body_`` (indexer/schema.py).
    views: dict = field(default_factory=lambda: (
        {"body_exact": "none", "body_skel": "skeleton"}))
    #: The headline is indexed as the first section of ``body`` too (the
    #: stored body stays the body): a query word found in the headline and
    #: the text then counts once, saturated, as BM25F would, not twice.
    headline_in_body: bool = True

    def __post_init__(self):
        if any(not name.startswith("body_") for name in self.views):
            raise ValueError("view fields are named body_<view>")

    def make_analyzer(self) -> ArabicAnalyzer:
        return ArabicAnalyzer(**self.analyzer)

    def as_dict(self) -> dict:
        """Plain data for the manifest (every analyzer parameter spelled out)."""
        return {"analyzer": self.make_analyzer().settings(), "views": dict(self.views),
                "headline_in_body": self.headline_in_body}

    @classmethod
    def from_dict(cls, data: dict) -> IndexSettings:
        analyzer = dict(data["analyzer"])
        analyzer["rules"] = tuple(analyzer.get("rules", ()))
        return cls(analyzer=analyzer, views=data["views"],
                   headline_in_body=data["headline_in_body"])

    def fingerprint(self) -> str:
        """A digest of the whole analysis these settings give: the main
        analyzer's and each view's fingerprint, and the layout choices."""
        base = self.make_analyzer()
        parts = {"analyzer": base.fingerprint(), "headline_in_body": self.headline_in_body,
                 "views": {name: base.view(stemmer).fingerprint()
                           for name, stemmer in sorted(self.views.items())}}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]
