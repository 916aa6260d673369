"""The Whoosh schema: which fields are indexed, stored and sortable, and why."""

from __future__ import annotations

import hashlib
import json

from whoosh import fields

from indexer.analysis import SECTION_BREAK, ArabicAnalyzer
from indexer.article import Article
from indexer.formats import WordCounts, WordPositions
from indexer.normalize import normalize_text

#: The headline is indexed as the first line of ``body`` too (the stored body
#: stays the body): a query word found in the headline and the text then
#: counts once, saturated, as BM25F would, instead of twice.
HEADLINE_IN_BODY = True

#: Extra views of the article text (headline + body), queried beside the
#: stemmed ``body`` (weights in ``search.query.DEFAULT_FIELD_BOOSTS``): field ->
#: stemmer.  ``body_exact`` (normalized, unstemmed) makes the very form typed
#: count extra, which the stemmed field cannot tell (``الوزير`` / ``وزيرة``);
#: ``body_skel`` (stem without long vowels) lets spelling and transliteration
#: variants meet (``ليفربول`` / ``ليفيربول``).  Neither stored nor positional
#: (a quoted phrase is an AND of its words there: search.query), to keep the
#: index small.  Measured in docs/quality.md; an empty dict turns them off.
TEXT_VIEWS = {"body_exact": "none", "body_skel": "skeleton"}


def _text(analyzer: ArabicAnalyzer, stored: bool = False, phrase: bool = True) -> fields.TEXT:
    """A TEXT field whose postings come from ``analyzer.index_terms`` (indexer/formats.py)."""
    field = fields.TEXT(analyzer=analyzer, stored=stored, phrase=phrase)
    fmt = WordPositions if phrase else WordCounts
    field.format = fmt(field_boost=field.format.field_boost)
    return field


def build_schema(analyzer: ArabicAnalyzer | None = None) -> fields.Schema:
    analyzer = analyzer or ArabicAnalyzer()
    return fields.Schema(
        # sortable: a column, so ranked ids are read without loading stored fields.
        id=fields.ID(stored=True, unique=True, sortable=True),
        headline=_text(analyzer, stored=True),
        body=_text(analyzer, stored=True),
        keywords=_text(analyzer, stored=True),
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
        **{name: _text(analyzer.view(stemmer), phrase=False)
           for name, stemmer in TEXT_VIEWS.items()},
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
    if HEADLINE_IN_BODY and article.headline.strip():
        doc["body"] = article.headline + SECTION_BREAK + article.body
        doc["_stored_body"] = article.body  # Whoosh: store this, index "body"
    for name in TEXT_VIEWS:
        doc[name] = doc["body"]
    if article.date is not None:
        doc["date"] = article.date
        doc["year"] = f"{article.date.year:04d}"
        doc["month"] = f"{article.date.year:04d}-{article.date.month:02d}"
    return doc
