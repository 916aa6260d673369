"""The Whoosh schema: which fields are indexed, stored and sortable, and why."""

from __future__ import annotations

import hashlib
import json

from whoosh import fields

from indexer.analysis import ArabicAnalyzer
from indexer.article import Article
from indexer.normalize import normalize_text

#: Fields searched by default, with their query-time boosts (BM25F weights are
#: set in ``search.rank``).  Chosen by measurement: see docs/quality.md.
TEXT_FIELDS = ("headline", "body", "keywords")

#: Unstemmed "exact" views: the same text normalized but not stemmed, queried
#: beside the stemmed field so a document with the very form typed scores
#: extra (the stemmed field alone cannot tell ``الوزير`` from ``وزيرة``).  Not
#: stored (the stemmed field stores the text).  Measured in
#: docs/quality.md; an empty dict turns them off.
EXACT_FIELDS = {"headline": "headline_exact", "body": "body_exact"}


def build_schema(analyzer: ArabicAnalyzer | None = None) -> fields.Schema:
    analyzer = analyzer or ArabicAnalyzer()
    return fields.Schema(
        # sortable: a column, so ranked ids are read without loading stored fields.
        id=fields.ID(stored=True, unique=True, sortable=True),
        headline=fields.TEXT(analyzer=analyzer, stored=True),
        body=fields.TEXT(analyzer=analyzer, stored=True),
        keywords=fields.TEXT(analyzer=analyzer, stored=True),
        # Exact (unanalyzed) source name: filters and facet counts.
        source=fields.ID(stored=True, sortable=True),
        date=fields.DATETIME(stored=True, sortable=True),
        # Year and month as terms: facet counts and the timeline histogram.
        year=fields.ID(sortable=True),
        month=fields.ID(sortable=True),
        date_text=fields.STORED(),
        related=fields.STORED(),
        parent=fields.STORED(),
        # The input file: ``--update`` deletes and re-adds a changed file's articles.
        path=fields.ID(stored=True),
        signature=fields.STORED(),
        # Normalized headline+body: the same article in several files is indexed once.
        content_key=fields.ID(stored=True),
        **{exact: fields.TEXT(analyzer=analyzer.exact())
           for exact in EXACT_FIELDS.values()},
    )


def content_key(article: Article) -> str:
    """Identity of an article's content, insensitive to spelling variants."""
    text = normalize_text(article.headline) + "\n" + normalize_text(article.body)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def to_document(article: Article, signature: str, key: str) -> dict:
    """The Whoosh document for one article."""
    doc = {
        "id": article.id,
        "headline": article.headline,
        "body": article.body,
        "keywords": "، ".join(article.keywords),
        "source": article.source,
        "date_text": article.date_text,
        "related": json.dumps(article.related, ensure_ascii=False),
        "parent": article.parent,
        "path": article.path,
        "signature": signature,
        "content_key": key,
    }
    for name, exact in EXACT_FIELDS.items():
        doc[exact] = doc[name]
    if article.date is not None:
        doc["date"] = article.date
        doc["year"] = f"{article.date.year:04d}"
        doc["month"] = f"{article.date.year:04d}-{article.date.month:02d}"
    return doc
