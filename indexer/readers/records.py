"""Readers for structured exports: JSON, JSON Lines and CSV.

Each reader yields one Article per usable record and one Reject per record
(or file) that cannot be indexed, so a broken line costs one article, not the
file.  Field names differ between archives; ``mapping`` maps our field names
to the file's, and sensible defaults cover common exports (SaudiNewsNet uses
title / content / date_extracted).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any

from indexer.article import Article, Reject
from indexer.dates import parse_date
from indexer.decode import UnreadableFile, clean_id, clean_text, read_text

__all__ = [
    "DEFAULT_NAMES",
    "FIELDS",
    "build_article",
    "read_csv",
    "read_json",
    "read_jsonl",
    "resolve_mapping",
    "split_keywords",
]

#: Our field names, the keys a ``mapping`` may use.
FIELDS = ("id", "headline", "body", "date", "source", "keywords", "url", "author")

#: Names tried, in order, when a field is not mapped.  The first one present
#: in a record wins.
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "headline": ("headline", "title"),
    "body": ("body", "text", "content"),
    "date": ("date", "published", "date_extracted", "time"),
    "source": ("source",),
    "keywords": ("keywords",),
    "url": ("url", "link"),
    "author": ("author", "byline"),
}

# Separators only: a leading "\s*" made split() quadratic on long runs of spaces.
_KEYWORD_SPLIT = re.compile(r"[,،;؛|]")

# A body of 128 KiB+ is rare but legal; csv's default limit would raise.
if csv.field_size_limit() < 16 * 1024 * 1024:
    csv.field_size_limit(16 * 1024 * 1024)

PathLike = str | os.PathLike


def resolve_mapping(
    mapping: Mapping[str, Any] | None, defaults: Mapping[str, tuple[str, ...]] = DEFAULT_NAMES
) -> dict[str, tuple[str, ...]]:
    """Merge a user mapping over the defaults; names are lower-cased.

    A mapped field uses only the mapped name(s): if the user says the headline
    is in "titre", silently falling back to "title" would hide a typo.  Unknown
    field names raise ValueError for the same reason.
    """
    names = {f: tuple(n.lower() for n in defaults.get(f, ())) for f in FIELDS}
    for field, value in (mapping or {}).items():
        if field not in FIELDS:
            raise ValueError(f"unknown field in mapping: {field!r} "
                             f"(expected one of {', '.join(FIELDS)})")
        if isinstance(value, str):
            value = (value,)
        names[field] = tuple(str(v).strip().lower() for v in value)
    return names


def split_keywords(value: Any) -> list[str]:
    """Keywords from a list or from a string separated by commas/،/;/|."""
    if isinstance(value, (list, tuple)):
        items: Iterable[str] = (_as_text(v) for v in value)
    else:
        items = _KEYWORD_SPLIT.split(_as_text(value))
    out = []
    for item in items:
        item = " ".join(clean_text(item).split())
        if item:
            out.append(item)
    return out


def build_article(
    values: Mapping[str, Any], path: str, number: int, where: str
) -> Article | Reject:
    """Make an Article from field values already picked from a record.

    ``values`` maps our field names to raw values (missing = absent).
    ``number`` is the 1-based record number used for a fallback id;
    ``where`` (e.g. "line 17") locates the record in a Reject.
    """
    body = clean_text(_as_text(values.get("body"))).strip()
    if not body:
        return Reject(path, "empty body", where)
    article_id = clean_id(_as_text(values.get("id"))) or f"{path}#{number}"
    headline = " ".join(clean_text(_as_text(values.get("headline"))).split())
    date_text = " ".join(clean_text(_as_text(values.get("date"))).split())
    return Article(
        id=article_id,
        headline=headline,
        body=body,
        path=path,
        date=parse_date(date_text) if date_text else None,
        date_text=date_text,
        source=" ".join(clean_text(_as_text(values.get("source"))).split()),
        keywords=split_keywords(values.get("keywords")),
        url=_web_address(values.get("url")),
        author=" ".join(clean_text(_as_text(values.get("author"))).split()),
    )


def _web_address(value: Any) -> str:
    """An http(s) address, or "": the article page links to it, so nothing
    else (a ``javascript:`` URL, a file path) is kept."""
    text = "".join(clean_text(_as_text(value)).split())
    return text if re.match(r"https?://[^/]", text, re.IGNORECASE) else ""


def read_json(
    path: PathLike, mapping: Mapping[str, Any] | None = None, text: str | None = None
) -> Iterator[Article | Reject]:
    """Articles from a JSON file: an array of objects, or one object.

    An object that is not itself an article but wraps a single list of
    objects (``{"articles": [...]}``) is read as that list.  ``text`` may
    be passed when the caller has already decoded the file.
    """
    path_s = str(path)
    names = resolve_mapping(mapping)
    text = yield from _text_or_reject(path, text)
    if text is None:
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Reject(path_s, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, [[[[… 100k deep
        yield Reject(path_s, f"invalid JSON: {_json_problem(exc)}")
        return
    if isinstance(data, dict):
        data = _unwrap(data, names)
    if not isinstance(data, list):
        yield Reject(path_s, f"JSON holds {type(data).__name__}, "
                             "expected an array of objects or an object")
        return
    if not data:
        yield Reject(path_s, "no records in file")
        return
    for n, obj in enumerate(data, 1):
        where = f"record {n}"
        if not isinstance(obj, dict):
            yield Reject(path_s, f"not a JSON object ({type(obj).__name__})", where)
            continue
        yield build_article(_pick(_lower_keys(obj), names), path_s, n, where)


def read_jsonl(
    path: PathLike, mapping: Mapping[str, Any] | None = None, text: str | None = None,
    first_line: int = 1, whole: bool = True,
) -> Iterator[Article | Reject]:
    """Articles from JSON Lines: one object per line; blank lines are skipped.

    A line that is not valid JSON becomes a Reject naming its line number and
    reading continues.  The fallback id is the line number.  ``text`` may be
    a part of a file (``whole=False``) whose first line is ``first_line``:
    an empty part is not an empty file.
    """
    path_s = str(path)
    names = resolve_mapping(mapping)
    text = yield from _text_or_reject(path, text)
    if text is None:
        return
    n = 0
    # split("\n"), not splitlines(): JSON strings may hold raw U+2028 etc.
    for lineno, line in enumerate(text.split("\n"), first_line):
        line = line.strip()
        if not line:
            continue
        n += 1
        where = f"line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Reject(path_s, f"invalid JSON: {exc.msg} (column {exc.colno})", where)
            continue
        except (ValueError, RecursionError) as exc:  # a 5000-digit number, deep nesting
            yield Reject(path_s, f"invalid JSON: {_json_problem(exc)}", where)
            continue
        if not isinstance(obj, dict):
            yield Reject(path_s, f"not a JSON object ({type(obj).__name__})", where)
            continue
        yield build_article(_pick(_lower_keys(obj), names), path_s, lineno, where)
    if n == 0 and whole:
        yield Reject(path_s, "no records in file")


def read_csv(
    path: PathLike,
    mapping: Mapping[str, Any] | None = None,
    text: str | None = None,
    delimiter: str | None = None,
) -> Iterator[Article | Reject]:
    """Articles from a CSV/TSV file with a header row.

    Short rows get empty values for the missing columns.  A row with extra
    non-empty cells is rejected: an unquoted delimiter has shifted its columns,
    so its fields cannot be trusted.  The delimiter is guessed from the header
    line unless given (tab for .tsv files).
    """
    path_s = str(path)
    names = resolve_mapping(mapping)
    text = yield from _text_or_reject(path, text)
    if text is None:
        return
    if delimiter is None:
        delimiter = "\t" if path_s.lower().endswith(".tsv") else guess_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        yield Reject(path_s, f"no CSV header row{': ' + str(exc) if str(exc) else ''}")
        return
    columns = [h.strip().strip('"').strip().lower() for h in header]
    index = {}
    for i, name in enumerate(columns):
        index.setdefault(name, i)
    positions = {f: [index[n] for n in names[f] if n in index] for f in FIELDS}
    if not positions["body"]:
        wanted = ", ".join(names["body"])
        yield Reject(path_s, f"no body column in CSV header (expected one of: {wanted})")
        return

    # An unclosed quote makes csv read the rest of the file into one field:
    # the rows after it would vanish inside that record's body, unreported.
    unclosed = '"' in text and _ends_inside_quotes(text, delimiter)
    total_lines = text.count("\n") + (not text.endswith("\n"))
    n = 0
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Reject(path_s, f"unreadable CSV row: {exc}", f"line {start}")
            start = reader.line_num + 1
            continue
        where = f"line {start}"
        start = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # blank line
        n += 1
        if len(row) > len(columns) and any(c.strip() for c in row[len(columns):]):
            yield Reject(
                path_s, f"row has {len(row)} fields but the header has {len(columns)}", where
            )
            continue
        if unclosed and reader.line_num >= total_lines:
            yield Reject(path_s, f"unclosed quote: this row runs to the end of the file "
                                 f"(lines {where[5:]}-{total_lines})", where)
            continue
        values = {}
        for field, cols in positions.items():
            for i in cols:
                if i < len(row) and row[i].strip():
                    values[field] = row[i]
                    break
        yield build_article(values, path_s, n, where)
    if n == 0:
        yield Reject(path_s, "no records in file")


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    """True when the file ends inside a quoted field (as strict csv reports it)."""
    try:
        for _ in csv.reader(io.StringIO(text), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def guess_delimiter(text: str) -> str:
    """The delimiter of a CSV file, judged from its first non-blank line.

    csv.Sniffer is slow and easily confused by Arabic prose; a header row is
    short and the delimiter is simply its most frequent candidate.
    """
    header = next((line for line in text.split("\n") if line.strip()), "")
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])  # ties: earlier candidate wins
    return best if counts[best] else ","


def _text_or_reject(path: PathLike, text: str | None) -> Generator[Reject, None, str | None]:
    """Decode the file unless text was given; on failure yield a Reject.

    Used as ``text = yield from _text_or_reject(...)``: returns the text, or
    None after yielding the Reject.
    """
    if text is not None:
        return text
    try:
        return read_text(path)
    except UnreadableFile as exc:
        yield Reject(str(path), exc.reason)
        return None


def _lower_keys(obj: dict) -> dict:
    """Case-insensitive keys: exports say "Title" as often as "title"."""
    out: dict = {}
    for key, value in obj.items():
        out.setdefault(str(key).lower(), value)
    return out


def _pick(obj: dict, names: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """For each field, the first candidate name present with a non-empty value.

    Non-empty matters: a record with an empty "body" but a full "content"
    should use the content.
    """
    values = {}
    for field, candidates in names.items():
        for name in candidates:
            value = obj.get(name)
            if value is not None and value != "" and value != []:
                values[field] = value
                break
    return values


def _unwrap(data: dict, names: Mapping[str, tuple[str, ...]]) -> Any:
    """``{"articles": [{...}, ...]}`` -> the list; an article object -> [it]."""
    lowered = _lower_keys(data)
    if not any(name in lowered for name in names["body"]):
        lists = [v for v in data.values()
                 if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if len(lists) == 1:
            return lists[0]
    return [data]


def _json_problem(exc: Exception) -> str:
    """What json.loads choked on, when it was not a syntax error."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split(";")[0]


_END = object()


def _as_text(value: Any) -> str:
    """A JSON value as text: lists become lines, null and objects nothing."""
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        # Flattened with a stack, not recursion: [[[…"x"…]]] 900 deep is valid
        # JSON and raised RecursionError, which stopped the whole build.
        parts, stack = [], [iter(value)]
        while stack:
            item = next(stack[-1], _END)
            if item is _END:
                stack.pop()
            elif isinstance(item, (list, tuple)):
                stack.append(iter(item))
            elif text := _as_text(item):
                parts.append(text)
        return "\n".join(parts)
    if isinstance(value, bool):
        return ""
    return str(value)
