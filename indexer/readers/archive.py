"""Walk the archive folders and turn every file into articles or rejects.

The readers' entry points: ``iter_files`` finds files (recursively, safe
against symlink loops); ``read_file`` decodes one (per-file encoding
detection), decides its format by content and dispatches to the format's
reader.  Every file yields either articles or a reject with a reason: nothing
is lost silently.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.article import Article, Reject
from indexer.decode import (
    MAX_FILE_BYTES,
    UnreadableFile,
    clean_id,
    clean_text,
    decode_bytes,
    file_kind,
    open_regular,
    path_text,
    read_text,
    too_large,
    unescape_references,
)
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


def iter_files(sources: Iterable[Path], follow_symlinks: bool = False
               ) -> Iterator[Path | Reject]:
    """Every regular file under ``sources`` in a stable order (each folder's
    files by name, then its subfolders by name), and a Reject for each entry
    that is not read.

    Only regular files are yielded: named pipes, sockets and devices are
    reported (by their type, from ``stat``: they are never opened).  Each real
    folder is read once (symlink loops end), hidden files and folders are
    skipped, unreadable folders reported.  A symlink whose target lies
    outside the given sources is reported and skipped unless
    ``follow_symlinks``: a link to ``/`` or ``/dev/zero`` must not pull in
    what the user did not point at.  The walk keeps its own stack, so any
    depth of folders is fine.
    """
    sources = [Path(s) for s in sources]
    roots = [os.path.realpath(s) for s in sources]
    for source in sources:
        try:
            st = os.stat(source)
        except OSError as exc:
            missing = exc.errno in (errno.ENOENT, errno.ENOTDIR)
            yield Reject(path_text(source), "no such file or folder" if missing
                         else f"unreadable: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(source, roots, follow_symlinks)
        elif stat.S_ISREG(st.st_mode):
            yield source
        else:
            yield Reject(path_text(source), f"not a regular file ({file_kind(st.st_mode)})")


def _walk(top: Path, roots: list[str], follow_symlinks: bool) -> Iterator[Path | Reject]:
    seen: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                yield Reject(path_text(folder), "symlink loop: folder already read")
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as listing:
                entries = sorted((e for e in listing if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as exc:
            yield Reject(path_text(folder), f"unreadable folder: {exc.strerror or exc}")
            continue
        folders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    target = os.path.realpath(path)
                    if not follow_symlinks and not _inside(target, roots):
                        yield Reject(path_text(path), "symlink to outside the given folders "
                                     f"({path_text(target)}): not read; --follow-symlinks "
                                     "reads it")
                        continue
                mode = entry.stat(follow_symlinks=True).st_mode
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    yield Reject(path_text(path), "symlink loop: the link leads to itself")
                else:
                    yield Reject(path_text(path), f"unreadable: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(mode):
                folders.append(path)
            elif stat.S_ISREG(mode):
                yield path
            else:
                yield Reject(path_text(path), f"not a regular file ({file_kind(mode)})")
        stack.extend(reversed(folders))


def _inside(target: str, roots: list[str]) -> bool:
    """``target`` (a real path) is one of ``roots`` or inside one of them."""
    for root in roots:
        try:
            if os.path.commonpath([target, root]) == root:
                return True
        except ValueError:  # different drives (Windows)
            continue
    return False


def _text_id(path: Path, roots: list[Path]) -> str:
    """The id of a one-article file: its path below the archive root, no suffix."""
    for root in roots:
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        if rel.parts:
            return clean_id(path_text(rel.with_suffix("").as_posix())) or "_"
    return clean_id(path_text(path.stem)) or "_"


def file_parts(path: Path, fmt: str = "auto", part_bytes: int = PART_BYTES,
               max_bytes: int = MAX_FILE_BYTES) -> list:
    """``path`` itself, or, for a JSON Lines file over ``part_bytes`` (or over
    ``max_bytes``, when that is smaller) in UTF-8, its parts (``FilePart``),
    each ending at a line end.  The file is scanned in bounded chunks: a line
    of any length is never held in memory here."""
    part_bytes = max(1, min(part_bytes, max_bytes))
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= part_bytes:
                return [path]
            head = fh.read(_HEAD_BYTES)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return [path]
            sample = head[:head.rfind(b"\n") + 1].decode("utf-8", errors="replace")
            if fmt == "auto" and not sample and head.lstrip().startswith(b"{"):
                # A first line longer than the head: an object that long is a
                # JSON Lines record (read in parts, it is reported if too long).
                sample = "{}\n{}\n"
            if (fmt if fmt != "auto" else detect_format(path_text(path), sample)) != "jsonl":
                return [path]
            parts, start, line = [], 0, 1
            while start < size:
                end = _line_end(fh, min(start + part_bytes, size), size)
                parts.append(FilePart(path, len(parts), end >= size, start, end, line))
                start, line = end, line + _count_lines(fh, start, end)
            return parts
    except (UnreadableFile, OSError):
        return [path]  # read_file reports it


_SCAN_BYTES = 1 << 20


def _line_end(fh, pos: int, size: int) -> int:
    """The offset just after the first line end at or after ``pos`` (or ``size``)."""
    fh.seek(pos)
    while pos < size:
        chunk = fh.read(min(_SCAN_BYTES, size - pos))
        if not chunk:
            break
        found = chunk.find(b"\n")
        if found >= 0:
            return pos + found + 1
        pos += len(chunk)
    return size


def _count_lines(fh, start: int, end: int) -> int:
    fh.seek(start)
    lines = 0
    while start < end:
        chunk = fh.read(min(_SCAN_BYTES, end - start))
        if not chunk:
            break
        lines += chunk.count(b"\n")
        start += len(chunk)
    return lines


def read_file(path: Path | FilePart, fmt: str = "auto", mapping: dict | None = None,
              roots=(), max_bytes: int = MAX_FILE_BYTES) -> FileResult:
    """Read one file, or part of one, into a FileResult (never raises for bad
    content).  A file read whole must be at most ``max_bytes``; in a part of a
    JSON Lines file, a line over ``max_bytes`` is reported."""
    part = path if isinstance(path, FilePart) else None
    path = part.path if part else path
    # The name as shown and stored: a file name that is not UTF-8 is written
    # with escapes (indexer.decode.path_text), never as surrogates.
    shown = path_text(path)
    result = FileResult(shown, part=part.number if part else 0,
                        last=part.last if part else True)
    mapping = mapping or {}
    too_long: list[Reject] = []
    try:
        result.signature = file_signature(path)
        if part is None:
            text = read_text(path, max_bytes)
        else:
            text, too_long = _read_part(part, max_bytes)
    except (UnreadableFile, OSError) as exc:
        reason = (str(exc) if isinstance(exc, UnreadableFile)
                  else f"unreadable: {exc.strerror or exc}")
        result.rejects.append(Reject(shown, reason))
        return result
    result.rejects.extend(too_long)
    file_id = _text_id(path, list(roots))
    # The readers are given the shown name: they put it in ids and rejects.
    kind = "jsonl" if part else detect_format(shown, text) if fmt == "auto" else fmt
    if part:
        items = read_jsonl(shown, mapping, text=text, first_line=part.line, whole=False)
    elif kind == "text":
        items = parse_text_article(text, shown, file_id)
        if not items:
            result.rejects.append(Reject(shown, "no headline"))
            return result
    elif kind == "sgml":
        items = read_sgml(shown, text, mapping)
    elif kind == "json":
        items = read_json(shown, mapping, text=text)
    elif kind == "jsonl":
        items = read_jsonl(shown, mapping, text=text)
    elif kind == "csv":
        items = read_csv(shown, mapping, text=text)
    else:  # pragma: no cover - detect_format returns one of the above
        raise ValueError(f"unknown format {kind!r}")
    record_prefix = f"{shown}#"
    for number, item in enumerate(items, 1):
        if isinstance(item, Article) and item.id.startswith(record_prefix):
            # Records without an id of their own: name them by the file's path
            # below the archive root, not by an absolute path.
            item.id = f"{file_id}#{item.id[len(record_prefix):]}"
        if isinstance(item, Reject):
            result.rejects.append(item)
            continue
        item = _cleaned(item, shown, f"{file_id}#{number}")
        if not item.body.strip():
            result.rejects.append(Reject(shown, "empty body", item.id))
        elif not any(ch.isalnum() for ch in item.body):
            # Only diacritics, zero-width marks or punctuation: no query could
            # ever find it, so it would be lost silently if "indexed".
            result.rejects.append(Reject(shown, "empty body: no letters or digits", item.id))
        else:
            result.articles.append(item)
    if not result.articles and not result.rejects and not part:
        result.rejects.append(Reject(shown, "no articles found"))
    return result


def _cleaned(article: Article, shown: str, fallback_id: str) -> Article:
    """``article`` with every field writable as UTF-8 (indexer.decode.clean_text:
    no lone surrogates, noncharacters or control characters), its text's HTML
    character references decoded (``unescape_references``), and an id that
    works as a URL.  One place for every format: no reader has to get each
    field right for the build to survive any value."""
    def text(value: str) -> str:
        return clean_text(unescape_references(value))

    def line(value: str) -> str:  # one line: a decoded &nbsp; is a space like any other
        return " ".join(text(value).split())

    def lines(values: list[str]) -> list[str]:
        return [v for v in map(line, values) if v]

    return replace(
        article,
        id=clean_id(article.id) or clean_id(fallback_id),
        parent=clean_id(article.parent) if article.parent else "",
        headline=line(article.headline),
        body=text(article.body),
        date_text=text(article.date_text),
        source=line(article.source),
        keywords=lines(article.keywords),
        related=lines(article.related),
        url=clean_text(article.url),
        author=line(article.author),
        path=shown,
    )


def _read_part(part: FilePart, max_bytes: int) -> tuple[str, list[Reject]]:
    """The text of a part of a JSON Lines file, and a Reject for each line
    over ``max_bytes`` (left out, its line number kept).  Read a line at a
    time with a bounded ``readline``: one line of any length never fills
    memory."""
    rejects: list[Reject] = []
    chunks: list[bytes] = []
    line = part.line
    with open_regular(part.path) as fh:
        fh.seek(part.start)
        remaining = part.end - part.start
        while remaining > 0:
            data = fh.readline(min(remaining, max_bytes + 1))
            if not data:
                break  # the file was cut meanwhile
            remaining -= len(data)
            if len(data) > max_bytes and not data.endswith(b"\n"):
                while remaining > 0 and not data.endswith(b"\n"):  # skip the rest
                    data = fh.readline(min(remaining, _SCAN_BYTES))
                    if not data:
                        break
                    remaining -= len(data)
                rejects.append(Reject(path_text(part.path), too_large(max_bytes, "line"),
                                      f"line {line}"))
                data = b"\n"
            chunks.append(data)
            line += 1
    data = b"".join(chunks)
    if not data.strip():
        return "", rejects
    return decode_bytes(data), rejects
