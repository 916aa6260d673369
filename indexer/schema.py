"""The Whoosh schema: which fields are indexed, stored and sortable, and why."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time

from whoosh import fields, query
from whoosh.util.times import datetime_to_long

from indexer.analysis import SECTION_BREAK, ArabicAnalyzer
from indexer.article import Article
from indexer.dates import parse_user_date
from indexer.formats import WordCounts, WordPositions
from indexer.normalize import normalize_text
from indexer.settings import IndexSettings


def _text(analyzer: ArabicAnalyzer, stored: bool = False, phrase: bool = True) -> fields.TEXT:
    """A TEXT field whose postings come from ``analyzer.index_terms`` (indexer/formats.py)."""
    field = fields.TEXT(analyzer=analyzer, stored=stored, phrase=phrase)
    fmt = WordPositions if phrase else WordCounts
    field.format = fmt(field_boost=field.format.field_boost)
    return field


class DateField(fields.DATETIME):
    """Whoosh's DATETIME, indexed as one term per value.

    arshif filters and sorts by date from its doc values
    (indexer/docvalues.py); the tiered terms Whoosh adds for fast ranges
    (eight a date) would only make its term index bigger.  Whoosh's own
    range queries still work, a term at a time.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shift_step = 0

    # A date in a query is read as the filters read one (2023, 2023-09,
    # 2023-09-26, or any form the archive reader knows) and stands for the
    # days it covers.  Whoosh's own reader takes any run of digits as a
    # timestamp (``2015-01..2015-03`` is a minute of 20 January), ignores
    # ``{`` ``}`` (exclusive bounds) and drops a date it cannot read in
    # silence: here such a date is a clause marked with BadDate (Whoosh's
    # ``error_query``), and the search says it is not a date instead of
    # searching without it.
    def parse_query(self, fieldname, qstring, boost=1.0):
        try:
            first, last = parse_user_date(qstring), parse_user_date(qstring, end=True)
        except ValueError:
            return query.error_query(BadDate(qstring))
        return query.NumericRange(fieldname, _day_start(first), _day_end(last), boost=boost)

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        if start is None and end is None:
            return query.Every(fieldname, boost=boost)
        try:
            # An excluded bound excludes every day it covers: {2015 to 2018}
            # is 2016 and 2017, >2018-06 is from July.
            low = high = None
            if start is not None:
                low = (_day_end(parse_user_date(start, end=True)) if startexcl
                       else _day_start(parse_user_date(start)))
            if end is not None:
                high = (_day_start(parse_user_date(end)) if endexcl
                        else _day_end(parse_user_date(end, end=True)))
        except ValueError:
            return query.error_query(BadDate(f"{start or ''} to {end or ''}".strip()))
        return query.NumericRange(fieldname, low, high, startexcl, endexcl, boost=boost)


def _day_start(day: date) -> int:
    return datetime_to_long(datetime.combine(day, time.min))


def _day_end(day: date) -> int:
    return datetime_to_long(datetime.combine(day, time.max))


class BadDate(ValueError):
    """A date typed in a query that the date field cannot read; its text is
    what was typed."""


def build_schema(settings: IndexSettings) -> fields.Schema:
    analyzer = settings.make_analyzer()
    return fields.Schema(
        # sortable: a column, so ranked ids are read without loading stored fields.
        id=fields.ID(stored=True, unique=True, sortable=True),
        headline=_text(analyzer, stored=True),
        body=_text(analyzer, stored=True),
        keywords=_text(analyzer, stored=True),
        # Exact (unanalyzed) source name: filters and facet counts.
        source=fields.ID(stored=True, sortable=True),
        date=DateField(stored=True, sortable=True),
        # Year and month as terms: facet counts and the timeline histogram.
        year=fields.ID(sortable=True),
        month=fields.ID(sortable=True),
        date_text=fields.STORED(),
        # Shown on the article page: a link to the original and the byline.
        url=fields.STORED(),
        author=fields.STORED(),
        related=fields.STORED(),
        parent=fields.STORED(),
        # The input file: ``--update`` deletes and re-adds a changed file's articles.
        path=fields.ID(stored=True),
        signature=fields.STORED(),
        # Normalized headline+body: the same article in several files is
        # indexed once (read from the stored fields by --update, never searched).
        content_key=fields.STORED(),
        **{name: _text(analyzer.view(stemmer), phrase=False)
           for name, stemmer in settings.views.items()},
    )


def content_key(article: Article) -> str:
    """Identity of an article's content, insensitive to spelling variants."""
    text = normalize_text(article.headline) + "\n" + normalize_text(article.body)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def body_views(schema: fields.Schema) -> list[str]:
    """The views of ``body`` in a schema (``IndexSettings.views``): fields
    named ``body_<view>``, indexed from the same text as ``body``."""
    return [name for name in schema.names() if name.startswith("body_")]


#: Between an article's keywords in its ``keywords`` field.
KEYWORD_JOIN = "، "


def to_document(article: Article, signature: str, key: str, settings: IndexSettings) -> dict:
    """The Whoosh document for one article."""
    doc = {
        "id": article.id,
        "headline": article.headline,
        "body": article.body,
        "keywords": KEYWORD_JOIN.join(article.keywords),
        "source": article.source,
        "date_text": article.date_text,
        "related": json.dumps(article.related, ensure_ascii=False),
        "parent": article.parent,
        "url": article.url,
        "author": article.author,
        "path": article.path,
        "signature": signature,
        "content_key": key,
    }
    if settings.headline_in_body and article.headline.strip():
        doc["body"] = article.headline + SECTION_BREAK + article.body
        doc["_stored_body"] = article.body  # Whoosh: store this, index "body"
    for name in settings.views:
        doc[name] = doc["body"]
    if article.date is not None:
        doc["date"] = article.date
        doc["year"] = f"{article.date.year:04d}"
        doc["month"] = f"{article.date.year:04d}-{article.date.month:02d}"
    return doc
