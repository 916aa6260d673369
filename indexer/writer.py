"""Write articles into a new index generation and publish it.

``build_index`` is the whole rebuild: read every file, drop duplicates, write
a new generation beside the live one, and swap only when everything
succeeded.  With ``update=True`` it starts from the live generation's files
and re-reads only new and changed files, to the index a rebuild would give
(indexer/update.py).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import completions, inputs, manifest, parallel, store, stories, update as update_module
from indexer.article import Reject
from indexer.decode import MAX_FILE_BYTES
from indexer.readers.archive import FileResult, file_parts, iter_files, read_file
from indexer.schema import build_schema, to_document
from indexer.segment import SegmentSeries, publish_segments
from indexer.settings import IndexSettings
from indexer.summary import FileFacts, Summary, count_file


class Builder:
    """State of a one-process build: the writer, what is already in, and the summary.

    ``writer`` is anything with Whoosh's ``add_document(**fields)`` (the
    cluster backend's bulk writer too); ``recorder`` (``inputs.Recorder``)
    may be None where no input record is kept."""

    def __init__(self, writer, summary: Summary, settings: IndexSettings, recorder=None):
        self.writer = writer
        self.summary = summary
        self.seen_keys: set[str] = set()
        self.settings = settings
        self.recorder = recorder

    def add_items(self, items, reading: Reading, on_file=None) -> None:
        """Read each input item and add what it gave, in order; ``on_file``
        hears of each file once it is in (the progress line)."""
        for item in items:
            result = read_item(item, reading)
            self.add_file(result)
            store.checkpoint("file")
            if on_file:
                on_file(result, self.summary)

    def add_file(self, result: FileResult) -> None:
        facts = FileFacts.of(result)
        fresh = count_file(self.summary, facts, self.seen_keys)
        for article, fact, new in zip(result.articles, facts.articles, fresh, strict=True):
            if new:
                self.writer.add_document(**to_document(article, result.signature, fact.key,
                                                       self.settings))
        if self.recorder is not None:
            self.recorder.add(facts, fresh)


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
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult, Summary], None] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    follow_symlinks: bool = False,
    source_names: dict | None = None,
) -> Summary:
    """Build (or with ``update``, refresh) the index at ``home`` and publish it.

    Only regular files are read; a symlink that leaves the sources is
    reported unless ``follow_symlinks``; a file read whole over
    ``max_file_bytes``, or a JSON Lines line over it, is reported
    (indexer/readers/archive.py).

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

    ``source_names`` (indexer/sources.py: slug -> display name and URL) is
    written into the manifest, where search reads it; an update whose
    articles did not change still publishes when the names did.
    """
    started = time.perf_counter()
    given = [Path(s) for s in sources]
    sources = checked_sources(given)
    reading = Reading(fmt, mapping, [s for s in sources if s.is_dir()], max_file_bytes)
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
                old_inputs = inputs.load(live)
                _link_generation(live, tmp)
                ix = whoosh_index.open_dir(str(tmp))
            else:
                settings = settings or IndexSettings()
                ix = whoosh_index.create_in(str(tmp), build_schema(settings))
            items = input_items(sources, reading, follow_symlinks)
            if on_start:
                on_start(len(items))
            recorder = inputs.Recorder(tmp)
            try:
                if copied:
                    update_module.update(ix, items, old_inputs, sources, reading, settings,
                                         summary, on_file, recorder)
                elif jobs > 1:
                    _build_in_parallel(ix, items, jobs, reading, settings, summary, on_file,
                                       recorder)
                else:
                    _build_in_one_process(ix, items, reading, settings, summary, on_file,
                                          recorder)
            finally:
                recorder.close()
            summary.elapsed = time.perf_counter() - started
            ix.close()
            names = source_names or {}
            if copied and not (summary.added or summary.removed) \
                    and manifest.read(live).get("source_names", {}) == names:
                shutil.rmtree(tmp, ignore_errors=True)
                summary.unchanged, summary.generation = True, live.name
                return summary
            _check_not_empty(tmp, summary, given)
            _write_derived(tmp, jobs)
            summary.elapsed = time.perf_counter() - started  # the whole build, its end too
            summary.generation = tmp.with_suffix("").name
            manifest.write(tmp, settings, {"sources": [str(s) for s in sources],
                                           "summary": summary.as_dict(),
                                           "source_names": names})
            store.publish(home, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return summary


def _write_derived(gen: Path, jobs: int) -> None:
    """Write what spans the generation's segments, once they are final: its
    completions and its stories.  Both only read the segments and each
    writes its own file, so with ``jobs`` > 1 the completions are written
    by another process while this one groups the stories: they are the
    serial end of a build."""
    if jobs <= 1:
        completions.write_generation(gen)
        stories.write(gen)
        return
    # fork, as indexer/parallel.py's workers: indexer.store's at-fork hook
    # drops the build lock in the child.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                             initializer=parallel.ignore_interrupts) as pool:
        written = pool.submit(completions.write_generation, gen)
        stories.write(gen)
        written.result()  # its exception, if it failed, is raised here


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


def checked_sources(given: list[Path]) -> list[Path]:
    """The sources as absolute paths (``--update`` recognises files by path,
    whatever the cwd); NothingToIndex for one that does not exist."""
    for source in given:
        if not os.path.exists(source):
            raise NothingToIndex(f"no such file or folder: {source}")
    return [Path(os.path.abspath(s)) for s in given]


def input_items(sources: list[Path], reading: Reading, follow_symlinks: bool) -> list:
    """Every input of a build, in walk order: a file (or a part of a large
    one) to read, or a Reject (a file that cannot be read, with its reason)."""
    return [part for item in iter_files(sources, follow_symlinks)
            for part in ([item] if isinstance(item, Reject)
                         else file_parts(item, reading.fmt, max_bytes=reading.max_bytes))]


def read_item(item, reading: Reading) -> FileResult:
    """What one input gave: its articles and rejects."""
    if isinstance(item, Reject):
        return FileResult(item.path, rejects=[item])
    return read_file(item, reading.fmt, reading.mapping, reading.roots, reading.max_bytes)


@dataclass(frozen=True)
class Reading:
    """How to read the input files (``read_file``'s options)."""

    fmt: str
    mapping: dict | None
    roots: list[Path]  # folders among the sources: one-article ids are relative to them
    max_bytes: int = MAX_FILE_BYTES  # the largest file read whole, or JSON Lines line


def _build_in_one_process(ix, items, reading: Reading, settings: IndexSettings,
                          summary: Summary, on_file, recorder) -> None:
    """Read and write every item in this process, as successive segments of
    bounded size (indexer/segment.py)."""
    writer = SegmentSeries(ix)
    builder = Builder(writer, summary, settings, recorder)
    try:
        builder.add_items(items, reading, on_file)
    except BaseException:
        writer.cancel()
        raise
    store.checkpoint("commit")
    segments = writer.finish()
    store.checkpoint("segments")  # on disk, not listed: a kill here publishes nothing
    publish_segments(ix, segments)


def _build_in_parallel(ix, items, jobs: int, reading: Reading, settings: IndexSettings,
                       summary: Summary, on_file, recorder) -> None:
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
    parallel.count_and_publish_segments(ix, parts, summary, recorder)


def _link_generation(live: Path, tmp: Path) -> None:
    """Start an update's generation from the live one's files.

    Hard links, not copies: Whoosh never rewrites a segment's files (an
    update's deletions are listed in the new TOC), so the two generations
    can share them, and an update does not copy the whole index.  The files
    an update rewrites (manifest, checksum stamp, inputs) are left out, and
    each file a build writes is a new name.  The stories file is written
    anew: an update's articles may join or split stories.
    """
    for path in live.iterdir():
        if not path.is_file() or path.name in (manifest.NAME, manifest.STAMP, inputs.NAME,
                                               stories.NAME):
            continue
        try:
            os.link(path, tmp / path.name)
        except OSError:  # a file system without hard links
            shutil.copy2(path, tmp / path.name)
