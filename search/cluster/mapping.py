"""The OpenSearch index arshif writes: its settings, mappings and documents.

arshif analyzes the text itself (indexer/analysis.py) and sends the terms:
each searchable field holds its terms separated by spaces, indexed with
OpenSearch's core ``whitespace`` analyzer, so the index holds exactly the
terms, term frequencies, field lengths and positions of the embedded index
(docs/scale-out.md says why).  Sections of a field (the headline and the
body in ``body``) are values of an array, with SECTION_GAP positions between
them as in the embedded index.  The original text is kept apart
(``text.*``, not indexed) for display and highlighting; the term strings
are left out of ``_source``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

import numpy as np

from indexer import minhash
from indexer.analysis import SECTION_GAP, ArabicAnalyzer
from indexer.article import Article
from indexer.schema import KEYWORD_JOIN, to_document
from indexer.settings import IndexSettings
from search.settings import SearchSettings

#: Fields indexed with positions (phrases), as in indexer/schema.py.
POSITIONAL = ("headline", "body", "keywords")
SIMILARITY = "arshif_bm25"


def analyzed_fields(settings: IndexSettings) -> list[str]:
    return [*POSITIONAL, *settings.views]


def index_body(settings: IndexSettings, search: SearchSettings, shards: int,
               replicas: int, source_names: dict | None = None) -> dict:
    """Settings and mappings of a new index, with the analysis fingerprint
    in ``_meta``: an index of another analysis is refused when opened.
    ``source_names`` (indexer/sources.py, what the embedded build keeps in
    its manifest) go in ``_meta`` too, so the source filter matches display
    names and hits show them (search/sources.py), as on the embedded index."""
    text = {"type": "text", "analyzer": "whitespace", "similarity": SIMILARITY, "norms": True}
    properties = {name: {**text, "position_increment_gap": SECTION_GAP} for name in POSITIONAL}
    # The views are not positional (indexer/schema.py): frequencies only.
    properties.update({name: {**text, "index_options": "freqs"} for name in settings.views})
    properties.update({
        "id": {"type": "keyword"},
        "source": {"type": "keyword"},
        "date": {"type": "date", "format": "strict_date_optional_time"},
        "year": {"type": "keyword"},
        "month": {"type": "keyword"},
        "path": {"type": "keyword"},
        # The order articles were written in: ties are broken by it, as the
        # embedded index breaks them by document number.
        "seq": {"type": "long"},
        "text": {"type": "object", "enabled": False},
        "date_text": {"type": "keyword", "index": False, "doc_values": False},
        "related": {"type": "keyword", "index": False, "doc_values": False},
        "parent": {"type": "keyword", "index": False, "doc_values": False},
        # Shown on the article page (index format 6): the original's address, the byline.
        "url": {"type": "keyword", "index": False, "doc_values": False},
        "author": {"type": "keyword", "index": False, "doc_values": False},
        "signature": {"type": "keyword", "index": False, "doc_values": False},
        "content_key": {"type": "keyword", "index": False, "doc_values": False},
        # Stories (indexer/stories.py): each article's story, named by its
        # leader's id (a story of one is named by its own id), set once all
        # articles are in (search/cluster/derived.py); results are collapsed
        # on it.  ``day`` orders a story's members as the embedded index does
        # (by day, then id); ``minhash`` is the article's signature
        # (indexer/minhash.py), kept for regrouping after an update.
        "story": {"type": "keyword"},
        "day": {"type": "integer"},
        "minhash": {"type": "binary"},
    })
    return {
        "settings": {
            "index": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                # Refreshed once at the end of a build, not every second.
                "refresh_interval": "-1",
                "similarity": {SIMILARITY: {"type": "BM25", "k1": search.k1, "b": search.b}},
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"arshif": {"fingerprint": settings.fingerprint(),
                                 "settings": settings.as_dict(),
                                 "source_names": source_names or {},
                                 "built_at": datetime.now().isoformat(timespec="seconds")}},
            "_source": {"excludes": analyzed_fields(settings)},
            "properties": properties,
        },
    }


class DocumentMaker:
    """Articles as the documents arshif sends, analyzed by the same
    analyzers as the embedded index."""

    def __init__(self, settings: IndexSettings):
        self.settings = settings
        self.analyzer: ArabicAnalyzer = settings.make_analyzer()
        self.views = {name: self.analyzer.view(stemmer)
                      for name, stemmer in settings.views.items()}
        self.seq = 0

    @staticmethod
    def body_terms(analyzer: ArabicAnalyzer, text: str) -> str:
        """The terms of ``text`` as the ``body`` field holds them (more like this)."""
        return " ".join(term for words in analyzer.index_sections(text) for term in words)

    def make(self, doc: dict, seq: int | None = None, story: str | None = None,
             signature: str | None = None) -> dict:
        """The cluster's document for the embedded index's document ``doc``
        (indexer/schema.py's ``to_document``: the headline already a section
        of ``body``, the views' text, the date's year and month).

        A new article takes the next ``seq``, is a story of its own and gets
        its story signature; an article sent again (``remake``) keeps its
        ``seq``, its ``signature`` (base64) and is given its ``story``."""
        body = doc.get("_stored_body", doc["body"])
        if signature is None:
            values = minhash.signature(body)
            signature = base64.b64encode(values.tobytes()).decode("ascii")
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        out = {
            "id": doc["id"], "source": doc["source"], "path": doc["path"], "seq": seq,
            "date_text": doc["date_text"], "related": doc["related"], "parent": doc["parent"],
            "url": doc["url"], "author": doc["author"],
            "signature": doc["signature"], "content_key": doc["content_key"],
            "text": {"headline": doc["headline"], "body": body, "keywords": doc["keywords"]},
            "story": story or doc["id"], "minhash": signature,
        }
        for name in POSITIONAL:
            out[name] = [" ".join(words) for words in self.analyzer.index_sections(doc[name])]
        for name, view in self.views.items():
            out[name] = " ".join(term for words in view.index_sections(doc[name])
                                 for term in words)
        if "date" in doc:
            out["date"] = doc["date"].isoformat()
            out["year"], out["month"] = doc["year"], doc["month"]
            out["day"] = doc["date"].toordinal()
        return out

    def remake(self, source: dict, story: str) -> dict:
        """An indexed article's document again, from its ``_source`` (which
        lacks the terms), with another ``story``: the terms are analyzed
        again from the original text, as the build analyzed them."""
        text = source.get("text") or {}
        keywords = text.get("keywords", "")
        article = Article(
            id=source["id"], headline=text.get("headline", ""), body=text.get("body", ""),
            path=source.get("path", ""),
            date=datetime.fromisoformat(source["date"]) if source.get("date") else None,
            date_text=source.get("date_text", ""), source=source.get("source", ""),
            keywords=keywords.split(KEYWORD_JOIN) if keywords else [],
            related=related_list(source), parent=source.get("parent", ""),
            url=source.get("url", ""), author=source.get("author", ""))
        doc = to_document(article, source.get("signature", ""), source.get("content_key", ""),
                          self.settings)
        return self.make(doc, seq=source["seq"], story=story, signature=source["minhash"])


def stored_fields(source: dict) -> dict:
    """A hit's ``_source`` as the embedded index's stored fields (what
    search/engine.py builds hits and articles from)."""
    text = source.get("text") or {}
    doc = {"id": source["id"], "headline": text.get("headline", ""),
           "body": text.get("body", ""), "keywords": text.get("keywords", ""),
           "source": source.get("source", ""), "date_text": source.get("date_text", ""),
           "related": source.get("related") or "[]", "parent": source.get("parent", ""),
           "url": source.get("url", ""), "author": source.get("author", "")}
    if source.get("date"):
        doc["date"] = datetime.fromisoformat(source["date"])
    return doc


def related_list(doc: dict) -> list[str]:
    return json.loads(doc.get("related") or "[]")


def signature_of(source: dict) -> np.ndarray:
    """An article's story signature (indexer/minhash.py) from its ``_source``."""
    return np.frombuffer(base64.b64decode(source["minhash"]), dtype=minhash.EMPTY.dtype)
