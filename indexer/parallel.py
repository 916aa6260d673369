"""``arshif index --jobs N``: N processes each read, analyze and write a part.

Not Whoosh's ``MpWriter``: it pickles every document from the parent to its
workers and merges their postings serially at the end, which leaves little
to gain over one process.  Here the walked input files are cut into N
contiguous parts of about equal work.  Each worker process reads its part and
writes it as its own segment of the new generation (or several, past
``segment.SEGMENT_WORDS`` words: indexer/segment.py), so reading, analysis and
posting writing all run in parallel and no document crosses a process
boundary.  The parent then lists the N segments in one TOC: no merge (that
would be serial again); Whoosh searches several segments.

A worker only knows its own part, so it only drops duplicates within it.  It
sends, per file, the facts counting needs (content keys in order) and the
segment and document number of each article it wrote.  The parent replays those
facts in walk order with the same counting as a one-process build
(``indexer.summary.count_file``), and marks as deleted the copies written by
a later part of an article an earlier part already holds.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import traceback
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import segment, store
from indexer.article import Reject
from indexer.decode import MAX_FILE_BYTES
from indexer.readers.archive import FilePart, FileResult, read_file
from indexer.schema import to_document
from indexer.segment import SegmentSeries, publish_segments
from indexer.settings import IndexSettings
from indexer.summary import FileFacts, Summary, count_file

#: How often the parent looks at its workers while no message comes (s).
POLL_SECONDS = 0.5


class WorkerDied(RuntimeError):
    """A worker process ended without finishing its part (killed, out of memory)."""


@dataclass
class Part:
    """One worker's share: input items in walk order, and what it wrote."""

    items: list
    # Per file its facts and, per article, (segment, document) or None (a duplicate).
    files: list[tuple[FileFacts, list[tuple[int, int] | None]]] = field(default_factory=list)
    segments: list = field(default_factory=list)  # Whoosh segments the worker wrote


#: What reading a file costs beyond its bytes, in bytes of text: opening,
#: decoding and detecting a file takes about as long as reading ~1 KB of text,
#: so parts cut by size alone give the worker with many small files the most
#: work (figures in docs/performance.md).
FILE_COST_BYTES = 1_000


def split_items(items: list, parts: int) -> list[list]:
    """Cut ``items`` into at most ``parts`` contiguous, non-empty runs of about
    equal work: text size plus FILE_COST_BYTES a file."""
    cumulative = list(accumulate(_size(item) + FILE_COST_BYTES for item in items))
    total = cumulative[-1] if cumulative else 0
    bounds = [0]
    for k in range(1, parts):
        cut = bisect_left(cumulative, total * k / parts) + 1
        bounds.append(min(max(cut, bounds[-1]), len(items)))
    bounds.append(len(items))
    return [items[a:b] for a, b in pairwise(bounds) if b > a]


def _size(item) -> int:
    if isinstance(item, Reject):
        return 0
    if isinstance(item, FilePart):
        return item.end - item.start
    try:
        return item.stat().st_size
    except OSError:
        return 0


def write_parts(ix, parts: list[Part], fmt: str, mapping: dict | None, roots: list[Path],
                settings: IndexSettings, on_file: Callable[[FileFacts], None],
                max_bytes: int = MAX_FILE_BYTES) -> None:
    """Write every part into ``ix``'s folder as its own segments, in parallel;
    ``on_file`` is called here (the parent) for each file a worker finished."""
    # fork: workers inherit the schema and analyzer without pickling, and
    # indexer.store's at-fork hook drops the build lock in them.
    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    workers = [
        context.Process(target=_write_part, daemon=True, name=f"arshif-index-{number}",
                        args=(number, len(parts), part.items, ix.storage.folder, fmt, mapping,
                              roots, settings, messages, max_bytes))
        for number, part in enumerate(parts)
    ]
    for worker in workers:
        worker.start()
    try:
        _collect(parts, workers, messages, on_file)
        for worker in workers:
            worker.join()
    except BaseException:
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.join()
        raise
    finally:
        messages.close()


def _collect(parts: list[Part], workers, messages, on_file) -> None:
    """Receive the workers' per-file facts and final segments."""
    finished: set[int] = set()
    while len(finished) < len(workers):
        try:
            kind, number, *payload = messages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            _check_alive(workers, finished)
            continue
        if kind == "file":
            facts, docnums = payload
            parts[number].files.append((facts, docnums))
            on_file(facts)
        elif kind == "done":
            parts[number].segments = payload[0]
            finished.add(number)
        else:  # "failed": the worker's exception, re-raised here
            error, trace = payload
            raise error from WorkerDied(f"index worker {number} failed:\n{trace}")


def _check_alive(workers, finished: set[int]) -> None:
    for number, worker in enumerate(workers):
        if number not in finished and worker.exitcode not in (None, 0):
            raise WorkerDied(f"index worker {number} died (exit code {worker.exitcode})")


def ignore_interrupts() -> None:
    """In a build's child process: Ctrl-C reaches the whole process group,
    and the parent stops its children, so they need not each print a
    KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _write_part(number: int, jobs: int, items: list, folder: str, fmt: str,
                mapping: dict | None, roots: list[Path], settings: IndexSettings,
                messages, max_bytes: int) -> None:
    """Worker process: read ``items``, write them as new segments of the
    index in ``folder`` (not yet listed in its TOC: the parent does that)."""
    ignore_interrupts()
    try:
        ix = whoosh_index.open_dir(folder)
        # _lk=False: the parent's build lock already makes this the only build;
        # Whoosh's own write lock would let only one worker in.
        # The processes share the machine's memory: each gets its share of
        # the words one process may hold (indexer/segment.py).
        series = SegmentSeries(ix, max(1, segment.SEGMENT_WORDS // jobs))
        seen: set[str] = set()
        for item in items:
            result = _read(item, fmt, mapping, roots, max_bytes)
            facts = FileFacts.of(result)
            docnums: list[tuple[int, int] | None] = []
            for article, fact in zip(result.articles, facts.articles, strict=True):
                if fact.key in seen:
                    docnums.append(None)
                    continue
                seen.add(fact.key)
                docnums.append(series.add_document(**to_document(article, result.signature,
                                                                  fact.key, settings)))
            messages.put(("file", number, facts, docnums))
            store.checkpoint("part-file")
        messages.put(("done", number, series.finish()))
    except Exception as exc:  # sent to the parent, which re-raises it
        messages.put(("failed", number, _picklable(exc), traceback.format_exc()))


def _read(item, fmt, mapping, roots, max_bytes) -> FileResult:
    if isinstance(item, Reject):
        return FileResult(item.path, rejects=[item])
    return read_file(item, fmt, mapping, roots, max_bytes)


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # any exception type may fail to pickle
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def count_and_publish_segments(ix, parts: list[Part], summary: Summary, recorder) -> None:
    """Count every file in walk order into ``summary`` (and ``recorder``:
    indexer/inputs.py), delete the later copies of articles found in two
    parts, and commit the parts' segments as the index's content (one new TOC)."""
    seen: set[str] = set()
    for part in parts:
        for facts, docnums in part.files:
            fresh = count_file(summary, facts, seen)
            recorder.add(facts, fresh)
            for new, where in zip(fresh, docnums, strict=True):
                if where is not None and not new:  # its first copy is in an earlier part
                    segment, docnum = where
                    part.segments[segment].delete_document(docnum)
    publish_segments(ix, [segment for part in parts for segment in part.segments])
