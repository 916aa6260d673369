"""Decide a file's format from its content.

File names can't be trusted: ANT's SGML files end in .txt exactly like the
user's own one-article-per-file archive, and exports get renamed.  Only CSV
honours the extension, because a CSV header is easy to miss by content alone.
"""

from __future__ import annotations

import json
import os
import re

__all__ = ["FORMATS", "detect_format"]

FORMATS = ("sgml", "json", "jsonl", "csv", "text")

#: Column names that make a delimited first line a CSV header.
_KNOWN_COLUMNS = frozenset({"title", "headline", "body", "text", "content"})

# <DOC> / <DOC id=…> near the top (after an optional XML declaration or
# comment); not <DOCNO>, not <!DOCTYPE html>.
_SGML_START = re.compile(r"<DOC[\s>]", re.IGNORECASE)
_SGML_LOOKAHEAD = 2000
# Looks like JSON even if broken, so the JSON reader reports the syntax error
# instead of the text reader indexing braces as an article.
_JSON_LIKE = re.compile(r'\A(?:\[\s*(?:[\[{"]|\]|\Z)|\{\s*(?:"|\}|\Z))')
_JSONL_SAMPLE_LINES = 10
_HEADER_CELL = re.compile(r"^[\w .\-]{1,40}$")
_DELIMITERS = (",", "\t", ";", "|")


def detect_format(path: str | os.PathLike, text: str) -> str:
    """Return "sgml", "json", "jsonl", "csv" or "text" for decoded ``text``."""
    head = text.lstrip("\ufeff \t\n\r\xa0")
    if head.startswith("<") and _SGML_START.search(head, 0, _SGML_LOOKAHEAD):
        return "sgml"
    if head[:1] in ("[", "{"):
        if _parses_as_json(head):
            return "json"
        if _looks_like_jsonl(head):
            return "jsonl"
        if _JSON_LIKE.match(head):
            return "json"
    if str(path).lower().endswith((".csv", ".tsv")) or _looks_like_csv_header(head):
        return "csv"
    return "text"


def _parses_as_json(text: str) -> bool:
    """True when the whole text is one JSON array or object."""
    try:
        return isinstance(json.loads(text), (list, dict))
    except (ValueError, RecursionError):  # JSONDecodeError; absurdly deep nesting
        return False


def _looks_like_jsonl(text: str) -> bool:
    """The first line is a JSON object and so are most of the first few.

    "Most", not "all": a JSON Lines file with one broken line is still JSON
    Lines, and the reader reports that line.
    """
    lines = []
    for line in text.split("\n"):
        if line.strip():
            lines.append(line)
            if len(lines) == _JSONL_SAMPLE_LINES:
                break
    good = [_is_json_object(line) for line in lines]
    if len(good) < 2 or not good[0]:
        return False  # a single object would have parsed as JSON
    return sum(good) * 2 >= len(good)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):  # also absurdly deep nesting
        return False


def _looks_like_csv_header(text: str) -> bool:
    """The first line splits on a delimiter into short names, one of them known."""
    first = text.split("\n", 1)[0].strip()
    for delimiter in _DELIMITERS:
        cells = [c.strip().strip("\"'").strip() for c in first.split(delimiter)]
        if len(cells) < 2:
            continue
        if all(_HEADER_CELL.match(c) for c in cells) and any(
            c.lower() in _KNOWN_COLUMNS for c in cells
        ):
            return True
    return False
