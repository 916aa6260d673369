"""The user's own archive format: one plain-text article per file.

    headline
    تاريخ النشر: 26th, September 2023 GMT
    body paragraph, one per line
    اقرأ أيضاً                      <- inline teaser: the next line is another
    headline of another article        article's headline (a link, not body text)
    more body paragraphs
    المصدر | source
    كلمات دلالية: keywords
    إقرأ أيضاً:                     <- trailing block: complete other articles
    headline
    paragraphs...

A "read also" marker before the footer (source/keywords lines) is a teaser; one
after the footer opens a block of complete articles, each indexed on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.article import Article
from indexer.dates import parse_date

_MARKS = "\u064B-\u065F\u0670\u0640\u200C-\u200F\u061C"
# اقرأ أيضاً / إقرأ أيضا: / اقرا ايضا … with any hamza, tanween, tatweel, colon.
READ_ALSO_RE = re.compile(
    rf"^[اأإآ][{_MARKS}]*ق[{_MARKS}]*ر[{_MARKS}]*[أاء][{_MARKS}]*\s+"
    rf"[اأإ][{_MARKS}]*ي[{_MARKS}]*ض[{_MARKS}]*ا[{_MARKS}]*\s*[:：.]?\s*$"
)
DATE_RE = re.compile(rf"^ت[{_MARKS}]*ا[{_MARKS}]*ر[{_MARKS}]*ي[{_MARKS}]*خ"
                     r"\s+النشر\s*[:：|]?\s*(.*)$")
SOURCE_RE = re.compile(r"^المصدر\s*[|:：]\s*(.*)$")
KEYWORDS_RE = re.compile(r"^(?:كلمات\s+دلالية|الكلمات\s+الدلالية|كلمات\s+مفتاحية|الوسوم)"
                         r"\s*[:：|]\s*(.*)$")
# Separators only (items are stripped): "\s*sep\s*" is quadratic on long runs of spaces.
KEYWORD_SPLIT_RE = re.compile(r"[،,؛;|#]")
_EDGE_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"

#: A line longer than this (in words) is a paragraph, not a headline.  Where
#: the format expects a headline (line 1, the line after a "read also"
#: marker) such a line is kept as body text: taken for a headline or a
#: teaser, a scraped paragraph would vanish from the body's search.
HEADLINE_MAX_WORDS = 30


def _is_headline(line: str) -> bool:
    return len(line.split()) <= HEADLINE_MAX_WORDS


@dataclass
class _Draft:
    """An article being assembled line by line."""

    headline: str = ""
    date_text: str = ""
    body: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    source: str = ""
    keywords: list[str] = field(default_factory=list)


def clean_source(value: str) -> str:
    """``الخليج الجديد + متابعاتالمصدر: الخليج الجديد`` -> ``الخليج الجديد``.

    Scrapers glue a second "المصدر:" onto the line; the last one names the
    source.  Otherwise the first of "+"-joined sources is the primary one.
    """
    if "المصدر" in value:
        value = re.split(r"المصدر\s*[:：|]", value)[-1]
    return value.split("+")[0].strip(" \t-–|:")


def split_keywords(value: str) -> list[str]:
    """Keywords separated by commas/،/|; a line without separators stays whole
    (``خليفة حفتر الشرق الليبي`` cannot be split without guessing)."""
    return [k for k in (part.strip() for part in KEYWORD_SPLIT_RE.split(value)) if k]


def _clean_lines(text: str) -> list[str]:
    return [line.strip().strip(_EDGE_CONTROLS).strip() for line in text.split("\n")]


def parse_text_article(text: str, path: str, article_id: str) -> list[Article]:
    """Parse one file into its article plus the articles of any trailing block.

    Returns [] when the file holds no headline; the caller reports it.
    """
    lines = [line for line in _clean_lines(text) if line]
    if not lines:
        return []
    main = _Draft(headline=lines[0]) if _is_headline(lines[0]) else _Draft(body=[lines[0]])
    embedded: list[_Draft] = []
    in_footer = False  # after the source/keywords lines
    i = 1
    while i < len(lines):
        line = lines[i]
        current = embedded[-1] if embedded else main
        if READ_ALSO_RE.match(line):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            titled = bool(following) and _is_headline(following)
            if in_footer or embedded:
                # Trailing block: the next line is the headline of a full article,
                # or its first paragraph when it has none.
                if following:
                    embedded.append(_Draft(headline=following if titled else ""))
            elif titled:
                main.related.append(following)
            i += 2 if titled else 1  # a paragraph is read next as body text
            continue
        if m := DATE_RE.match(line):
            if not current.date_text:
                current.date_text = m.group(1).strip()
        elif m := SOURCE_RE.match(line):
            current.source = clean_source(m.group(1))
            in_footer = True
        elif m := KEYWORDS_RE.match(line):
            current.keywords = split_keywords(m.group(1))
            in_footer = True
        else:
            current.body.append(line)
        i += 1
    drafts = [main, *embedded]
    articles = []
    for n, draft in enumerate(drafts):
        articles.append(
            Article(
                id=article_id if n == 0 else f"{article_id}~{n}",
                headline=draft.headline,
                body="\n".join(draft.body),
                path=path,
                date=parse_date(draft.date_text) if draft.date_text else None,
                date_text=draft.date_text,
                source=draft.source if n == 0 or draft.source else "",
                keywords=draft.keywords,
                related=draft.related,
                parent="" if n == 0 else article_id,
            )
        )
    return articles
