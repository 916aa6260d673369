"""Walk the archive folders and turn every file into articles or rejects.

The readers' entry points: ``iter_files`` finds files (recursively, safe
against symlink loops); ``read_file`` decodes one (per-file encoding
detection), decides its format by content and dispatches to the format's
reader.  Every file yields either articles or a reject with a reason: nothing
is lost silently.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.article import Article, Reject
from indexer.decode import UnreadableFile, decode_bytes, read_text
from indexer.readers.detect import detect_format
from indexer.readers.records import read_csv, read_json, read_jsonl
from indexer.readers.sgml import read_sgml
from indexer.readers.text import parse_text_article

FORMATS = ("auto", "text", "json", "jsonl", "csv", "sgml")


#: A JSON Lines file larger than this is read in parts of about this size,
#: each ending at a line end: read whole, a multi-gigabyte file would be held
#: in memory at once, and would be one process's work however many ``--jobs``.
PART_BYTES = 32 * 2**20
#: What is read of a large file to decide its format.
_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FilePart:
    """Whole lines of a large JSON Lines file, read on their own."""

    path: Path
    number: int  # 0 for the file's first part
    last: bool
    start: int  # byte offsets in the file
    end: int
    line: int  # the number of its first line in the file

    def __str__(self) -> str:
        return str(self.path)


@dataclass
class FileResult:
    """What one input file (or part of one) gave: articles, and rejects (of
    the file or its records)."""

    path: str
    articles: list[Article] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    signature: str = ""  # size and mtime, for ``arshif index --update``
    part: int = 0  # which part of a large file (FilePart.number)
    last: bool = True  # the file's last part (or the whole file)


def file_signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def iter_files(sources: Iterable[Path]) -> Iterator[Path | Reject]:
    """Every candidate file under ``sources`` in a stable order.

    Follows symlinks but visits each real directory once (symlink loops end),
    skips hidden files and folders, and reports unreadable folders.
    """
    for source in sources:
        source = Path(source)
        if source.is_file():
            yield source
            continue
        if not source.exists():
            yield Reject(str(source), "no such file or folder")
            continue
        seen: set[tuple[int, int]] = set()
        errors: list[OSError] = []
        for root, dirs, files in os.walk(source, followlinks=True, onerror=errors.append):
            st = os.stat(root)
            if (st.st_dev, st.st_ino) in seen:
                dirs[:] = []
                yield Reject(root, "symlink loop: folder already read")
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(root) / name
            while errors:
                err = errors.pop()
                yield Reject(str(err.filename or root), f"unreadable folder: {err.strerror}")


def _text_id(path: Path, roots: list[Path]) -> str:
    """The id of a one-article file: its path below the archive root, no suffix."""
    for root in roots:
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        if rel.parts:
            return rel.with_suffix("").as_posix()
    return path.stem


def file_parts(path: Path, fmt: str = "auto", part_bytes: int = PART_BYTES) -> list:
    """``path`` itself, or, for a JSON Lines file over ``part_bytes`` in
    UTF-8, its parts (``FilePart``), each ending at a line end."""
    try:
        size = path.stat().st_size
        if size <= part_bytes:
            return [path]
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return [path]  # read_file reports it
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [path]
    sample = head[:head.rfind(b"\n") + 1].decode("utf-8", errors="replace")
    if (fmt if fmt != "auto" else detect_format(path, sample)) != "jsonl":
        return [path]
    parts, start, line = [], 0, 1
    with open(path, "rb") as fh:
        while start < size:
            fh.seek(min(start + part_bytes, size))
            fh.readline()  # on to the end of the line
            end = min(fh.tell(), size)
            fh.seek(start)
            lines = fh.read(end - start).count(b"\n")
            parts.append(FilePart(path, len(parts), end >= size, start, end, line))
            start, line = end, line + lines
    return parts


def read_file(path: Path | FilePart, fmt: str = "auto", mapping: dict | None = None,
              roots=()) -> FileResult:
    """Read one file, or part of one, into a FileResult (never raises for bad
    content)."""
    part = path if isinstance(path, FilePart) else None
    path = part.path if part else path
    result = FileResult(str(path), part=part.number if part else 0,
                        last=part.last if part else True)
    mapping = mapping or {}
    try:
        result.signature = file_signature(path)
        text = read_text(path) if part is None else _read_part(part)
    except (UnreadableFile, OSError) as exc:
        reason = (str(exc) if isinstance(exc, UnreadableFile)
                  else f"unreadable: {exc.strerror or exc}")
        result.rejects.append(Reject(str(path), reason))
        return result
    kind = "jsonl" if part else detect_format(path, text) if fmt == "auto" else fmt
    if part:
        items = read_jsonl(path, mapping, text=text, first_line=part.line, whole=False)
    elif kind == "text":
        items = parse_text_article(text, str(path), _text_id(path, list(roots)))
        if not items:
            result.rejects.append(Reject(str(path), "no headline"))
            return result
    elif kind == "sgml":
        items = read_sgml(path, text, mapping)
    elif kind == "json":
        items = read_json(path, mapping, text=text)
    elif kind == "jsonl":
        items = read_jsonl(path, mapping, text=text)
    elif kind == "csv":
        items = read_csv(path, mapping, text=text)
    else:  # pragma: no cover - detect_format returns one of the above
        raise ValueError(f"unknown format {kind!r}")
    record_prefix = f"{path}#"
    for item in items:
        if isinstance(item, Article) and item.id.startswith(record_prefix):
            # Records without an id of their own: name them by the file's path
            # below the archive root, not by an absolute path.
            item.id = f"{_text_id(path, list(roots))}#{item.id[len(record_prefix):]}"
        if isinstance(item, Reject):
            result.rejects.append(item)
        elif not item.body.strip():
            result.rejects.append(Reject(str(path), "empty body", item.id))
        elif not any(ch.isalnum() for ch in item.body):
            # Only diacritics, zero-width marks or punctuation: no query could
            # ever find it, so it would be lost silently if "indexed".
            result.rejects.append(Reject(str(path), "empty body: no letters or digits", item.id))
        else:
            result.articles.append(item)
    if not result.articles and not result.rejects and not part:
        result.rejects.append(Reject(str(path), "no articles found"))
    return result


def _read_part(part: FilePart) -> str:
    with open(part.path, "rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.end - part.start)
    if not data.strip():
        return ""
    return decode_bytes(data)
