"""Reader for TREC/CLEF-style SGML: one or many <DOC>…</DOC> per file.

Real files are not XML: ANT has raw "&" (S&P, Dolce&Gabbana) and stray "<"
in its text, so an XML parser rejects them.  Tags are instead found by name
with regular expressions, which is all this flat, never-nested format needs.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from indexer.article import Article, Reject
from indexer.readers.records import build_article, resolve_mapping

__all__ = ["SGML_NAMES", "read_sgml"]

#: Tags tried, in order, for each field when not mapped (case-insensitive).
SGML_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("docno",),
    "headline": ("title", "headline", "head"),
    "body": ("text", "body"),
    "date": ("time", "date", "date_time"),
    "source": ("src", "source"),
    "keywords": ("keywords",),
    "url": ("url",),
    "author": ("author", "byline"),
}

# <DOC> or <DOC id="…" type="story"> (Gigaword style), but not <DOCNO>.
# Attributes never hold "<": with [^>]* a run of "<DOC <DOC …" without any ">"
# would be scanned to the end of the file from every "<DOC" (quadratic).  The same
# bound is used in every tag pattern below, and leading whitespace is bounded.
_DOC_OPEN = re.compile(r"<DOC(?:\s[^<>]*)?>", re.IGNORECASE)
_DOC_CLOSE = re.compile(r"</DOC\s*>", re.IGNORECASE)
_ID_ATTR = re.compile(r"""\bid\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
# Any tag at the start of a line: where an unclosed field ends.
_NEXT_TAG = re.compile(r"^[^\S\n]*</?[A-Za-z_]+(?:\s[^<>]*)?>", re.MULTILINE)
# Paragraph markup inside <TEXT> (Gigaword, some TREC sets).
_PARAGRAPH_TAG = re.compile(r"\s{0,64}</?P(?:\s[^<>]*)?>\s*", re.IGNORECASE)


def read_sgml(
    path: str | os.PathLike, text: str, mapping: Mapping[str, Any] | None = None
) -> Iterator[Article | Reject]:
    """Articles from an SGML file's text (already decoded).

    id is the DOCNO (or the DOC's id attribute), else ``path#n``.  A DOC with
    no body text becomes a Reject naming the DOC, and the rest of the file is
    still read.
    """
    path_s = str(path)
    names = resolve_mapping(mapping, SGML_NAMES)
    opens = list(_DOC_OPEN.finditer(text))
    if not opens:
        yield Reject(path_s, "no <DOC> element found")
        return
    for n, match in enumerate(opens, 1):
        end = opens[n].start() if n < len(opens) else len(text)
        doc = text[match.end():end]
        close = _DOC_CLOSE.search(doc)
        if close:
            doc = doc[: close.start()]
        values = {field: _field(doc, tags) for field, tags in names.items()}
        if not values["id"]:
            attr = _ID_ATTR.search(match.group(0))
            values["id"] = attr.group(1) if attr else ""
        if "<" in values["body"]:
            values["body"] = _PARAGRAPH_TAG.sub("\n", values["body"])
        label = f"DOC {n}" + (f" ({values['id'].strip()})" if values["id"].strip() else "")
        yield build_article(values, path_s, n, label)


def _field(doc: str, tags: tuple[str, ...]) -> str:
    """Text of the first of ``tags`` present in ``doc`` with non-empty content."""
    for tag in tags:
        value = _tag_text(doc, tag)
        if value.strip():
            return value
    return ""


def _tag_text(doc: str, tag: str) -> str:
    """Content of <tag>…</tag> ('' if absent), its character references as
    written: indexer/readers/archive.py decodes every format's.

    An opening tag without its closing tag runs to the next tag at the start
    of a line (or the end of the DOC), so a truncated file still yields text.
    """
    closing, opening = _patterns(tag)
    # The first opening tag, then its closing tag: linear.  (One regex
    # "<tag>(.*?)</tag>" would rescan the rest of the DOC from every unclosed
    # opening tag: quadratic.)
    m = opening.search(doc)
    if not m:
        return ""
    close = closing.search(doc, m.end())
    if close:
        value = doc[m.end():close.start()]
    else:
        rest = doc[m.end():]
        nxt = _NEXT_TAG.search(rest)
        value = rest[: nxt.start()] if nxt else rest
    return value


@functools.lru_cache(maxsize=64)
def _patterns(tag: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled closing and opening patterns for one tag name, built once per name."""
    name = re.escape(tag)
    closing = re.compile(rf"</{name}\s*>", re.IGNORECASE)
    return closing, re.compile(rf"<{name}(?:\s[^<>]*)?>", re.IGNORECASE)
