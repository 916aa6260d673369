"""Write articles into a new index generation and publish it.

``build_index`` is the whole rebuild: read every file, drop duplicates, write
a new generation beside the live one, and swap only when everything
succeeded.  With ``update=True`` it starts from a copy of the live generation
and re-reads only new and changed files.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import manifest, parallel, store
from indexer.article import Reject
from indexer.decode import MAX_FILE_BYTES, path_text
from indexer.readers.archive import (
    FilePart,
    FileResult,
    file_parts,
    file_signature,
    iter_files,
    read_file,
)
from indexer.schema import build_schema, to_document
from indexer.segment import ArshifWriter, SegmentSeries, publish_segments
from indexer.settings import IndexSettings
from indexer.summary import FileFacts, Summary, count_file


class _Builder:
    """State of a one-process build: the writer, what is already in, and the summary."""

    def __init__(self, writer, summary: Summary, seen_keys: set[str], settings: IndexSettings):
        self.writer = writer
        self.summary = summary
        self.seen_keys = seen_keys
        self.settings = settings

    def add_file(self, result: FileResult) -> None:
        facts = FileFacts.of(result)
        fresh = count_file(self.summary, facts, self.seen_keys)
        for article, fact, new in zip(result.articles, facts.articles, fresh, strict=True):
            if new:
                self.writer.add_document(**to_document(article, result.signature, fact.key,
                                                       self.settings))


class NothingToIndex(store.StoreError):
    """A build that would publish an index without a single article: the
    previous index stays live and the user is told why (a typo in a source
    path, an empty folder, a folder of unreadable files)."""

    def __init__(self, message: str, summary: Summary | None = None):
        super().__init__(message)
        self.summary = summary  # what was read, for --rejects; None if nothing was


def build_index(
    sources: Iterable[Path],
    home: Path,
    fmt: str = "auto",
    mapping: dict | None = None,
    jobs: int = 1,
    update: bool = False,
    settings: IndexSettings | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    follow_symlinks: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult, Summary], None] | None = None,
) -> Summary:
    """Build (or with ``update``, refresh) the index at ``home`` and publish it.

    Raises NothingToIndex, before taking the lock, for a source that does not
    exist, and after reading, instead of publishing, when the new generation
    would hold no article.  An update that changes nothing publishes nothing
    (``Summary.unchanged``): the live generation stays.

    Each writing process holds a segment's words in memory until it writes
    the segment, and starts a new one past ``segment.SEGMENT_WORDS`` words:
    about 1.1 GB for 57k articles in one process, 0.75 GB for each of two,
    never much more (indexer/segment.py).

    ``on_file`` is called once per input file, for progress.  With ``jobs``
    > 1 the articles stay in the worker processes: its FileResult carries
    only the path and rejects, and its Summary is a running count in the
    order files finish.  The returned Summary is the same as with one job.

    Only regular files are read; a symlink that leaves the sources is
    reported unless ``follow_symlinks``; a file read whole over
    ``max_file_bytes``, or a JSON Lines line over it, is reported
    (indexer/readers/archive.py).
    """
    started = time.perf_counter()
    given = [Path(s) for s in sources]
    for source in given:
        if not os.path.exists(source):
            raise NothingToIndex(f"no such file or folder: {source}")
    # Absolute paths: ``--update`` recognises files by path, whatever the cwd.
    sources = [Path(os.path.abspath(s)) for s in given]
    reading = _Reading(fmt, mapping, [s for s in sources if s.is_dir()], max_file_bytes)
    summary = Summary()
    with store.build_lock(home):
        store.remove_leftovers(home)
        live = store.current_dir(home)
        tmp = store.new_generation(home)
        store.checkpoint("start")
        try:
            copied = update and live is not None
            if copied:
                settings = manifest.settings_of(manifest.verify(live))
                shutil.copytree(live, tmp, dirs_exist_ok=True)
                (tmp / manifest.NAME).unlink()
                ix = whoosh_index.open_dir(str(tmp))
            else:
                settings = settings or IndexSettings()
                ix = whoosh_index.create_in(str(tmp), build_schema(settings))
            items = [part for item in iter_files(sources, follow_symlinks)
                     for part in ([item] if isinstance(item, Reject)
                                  else file_parts(item, fmt, max_bytes=max_file_bytes))]
            if on_start:
                on_start(len(items))
            if jobs > 1 and not copied:
                _build_in_parallel(ix, items, jobs, reading, settings, summary, on_file)
            else:
                known_files = _stored_state(ix) if copied else None
                _build_in_one_process(ix, items, known_files, sources, reading, settings,
                                      summary, on_file)
            summary.elapsed = time.perf_counter() - started
            ix.close()
            _check_not_empty(tmp, summary, given)
            if copied and not (summary.indexed or summary.removed):
                shutil.rmtree(tmp, ignore_errors=True)
                summary.unchanged, summary.generation = True, live.name
                return summary
            summary.generation = tmp.with_suffix("").name
            manifest.write(tmp, settings, {"sources": [str(s) for s in sources],
                                           "summary": summary.as_dict()})
            store.publish(home, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return summary


def _check_not_empty(gen: Path, summary: Summary, sources: list[Path]) -> None:
    """Raise NothingToIndex when the generation in ``gen`` has no live article."""
    ix = whoosh_index.open_dir(str(gen))
    try:
        articles = ix.doc_count()
    finally:
        ix.close()
    if articles:
        return
    where = ", ".join(str(s) for s in sources) or "(no source given)"
    if summary.removed:
        detail = f"the update would remove all {summary.removed} articles"
    else:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in summary.reasons.most_common(3))
        detail = (f"{summary.files} files read, {summary.files_rejected} rejected"
                  + (f" ({reasons})" if reasons else ""))
    raise NothingToIndex(f"no article found in {where}: {detail}; the live index is unchanged",
                         summary)


@dataclass(frozen=True)
class _Reading:
    """How to read the input files (``read_file``'s options)."""

    fmt: str
    mapping: dict | None
    roots: list[Path]  # folders among the sources: one-article ids are relative to them
    max_bytes: int = MAX_FILE_BYTES  # the largest file read whole, or JSON Lines line


def _build_in_one_process(ix, items, known_files, sources, reading: _Reading,
                          settings: IndexSettings, summary: Summary, on_file) -> None:
    """Read and write every item in this process; ``known_files`` (an update)
    is what the copied generation holds, see ``_stored_state``.

    A full build writes successive segments of bounded size (indexer/segment.py);
    an update adds one segment with one writer, which also deletes the
    changed files' old articles.
    """
    known, seen_keys = known_files or ({}, set())
    writer = ArshifWriter(ix) if known_files is not None else SegmentSeries(ix)
    builder = _Builder(writer, summary, seen_keys, settings)
    try:
        for item in items:
            result = _read(item, reading, known, summary, builder)
            if result is not None:
                builder.add_file(result)
            store.checkpoint("file")
            if on_file:
                on_file(result or FileResult(str(item)), summary)
        if known_files is not None:
            _remove_vanished(builder, known, items, sources)
    except BaseException:
        writer.cancel()
        raise
    store.checkpoint("commit")
    if known_files is None:
        segments = writer.finish()
        store.checkpoint("segments")  # on disk, not listed: a kill here publishes nothing
        publish_segments(ix, segments)
    else:
        # An update adds a small segment and merges only the small ones
        # (Whoosh's MERGE_SMALL): re-merging the whole index rewrote every
        # posting of a 57k-article archive to add a few files.  The search
        # reads any number of segments, each with its flat postings.
        writer.commit(merge=True)


def _build_in_parallel(ix, items, jobs: int, reading: _Reading, settings: IndexSettings,
                       summary: Summary, on_file) -> None:
    """Write ``jobs`` contiguous parts of ``items`` in parallel (indexer/parallel.py)."""
    parts = [parallel.Part(part) for part in parallel.split_items(items, jobs)]
    # Files and articles read so far, for progress only: which articles are
    # copies of others is known when every part is counted, at the end.
    progress = Summary()
    done = 0

    def file_done(facts: FileFacts) -> None:
        nonlocal done
        done += 1
        progress.files += facts.part == 0
        progress.indexed += len(facts.articles)
        store.checkpoint("file")
        if done == len(items):  # all read: the workers now write their segments
            store.checkpoint("commit")
        if on_file:
            on_file(FileResult(facts.path, rejects=facts.rejects), progress)

    if parts:
        parallel.write_parts(ix, parts, reading.fmt, reading.mapping, reading.roots, settings,
                             file_done, reading.max_bytes)
    else:
        store.checkpoint("commit")
    parallel.count_and_publish_segments(ix, parts, summary)


def _read(item, reading: _Reading, known, summary, builder) -> FileResult | None:
    """Read one input; in update mode skip unchanged files, drop stale articles."""
    if isinstance(item, Reject):
        return FileResult(item.path, rejects=[item])
    # Stored paths are path_text's (a name that is not UTF-8 has escapes).
    real = item.path if isinstance(item, FilePart) else item
    path = path_text(real)
    first = not isinstance(item, FilePart) or item.number == 0
    if path in known:
        try:
            signature = file_signature(real)
        except OSError:
            signature = None
        if signature == known[path][0]:
            if first:  # a file read in parts is counted once
                summary.files += 1
                summary.files_unchanged += 1
            return None
        if first:
            _remove_file(builder, known, path)
    return read_file(item, reading.fmt, reading.mapping, reading.roots, reading.max_bytes)


def _remove_file(builder: _Builder, known: dict, path: str) -> None:
    builder.summary.removed += builder.writer.delete_by_term("path", path)
    builder.seen_keys.difference_update(known[path][1])


def _stored_state(ix) -> tuple[dict[str, tuple[str, set[str]]], set[str]]:
    """Per input file its signature and content keys; every content key."""
    known: dict[str, tuple[str, set[str]]] = {}
    keys: set[str] = set()
    with ix.searcher() as searcher:
        for doc in searcher.all_stored_fields():
            entry = known.setdefault(doc["path"], (doc.get("signature", ""), set()))
            entry[1].add(doc.get("content_key", ""))
            keys.add(doc.get("content_key", ""))
    return known, keys


def _remove_vanished(builder, known, items, sources) -> None:
    """--update: articles of files that are gone from the given sources."""
    present = {path_text(i.path if isinstance(i, FilePart) else i)
               for i in items if not isinstance(i, Reject)}
    shown_sources = [Path(path_text(s)) for s in sources]
    for path in list(known):
        # Path containment, not a string prefix: ``A2/x.txt`` is not in ``A``.
        if path not in present and any(Path(path).is_relative_to(s) for s in shown_sources):
            _remove_file(builder, known, path)
