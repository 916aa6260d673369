"""``arshif index --update``: the index a rebuild of the same files would give.

A rebuild reads every file in walk order and keeps, of an article found in
several files, the first copy.  An update must keep the same copy: when the
file holding it is renamed, moved, changed or deleted, the copy to keep may
be in a file that did not change, or in one that now comes earlier.  So the
update walks the files in the same order and counts each one as a rebuild
would (``indexer.summary.count_file``): a file that did not change is
counted from the facts its generation recorded (indexer/inputs.py), the
others are read.  Each file then holds exactly the articles the count gives
it:

- a new or changed file: its old documents are deleted and its articles
  written;
- an unchanged file: its documents stay, except those whose first copy is
  now elsewhere (deleted); an article it now holds first and did not before
  (its first copy was elsewhere) is read from it and written;
- a file gone from the given folders: its documents are deleted.

Files the index holds from folders not given this time are kept as they
are, counted after the given folders' files.

New documents go to new segments (``SegmentSeries``, bounded memory like a
build); deletions are marked in the copied segments; then ``compact``
drops segments left empty, rewrites those with many deleted documents and
merges the small ones, so the index stays about the size a rebuild gives.
"""

from __future__ import annotations

from pathlib import Path

from whoosh.reading import SegmentReader

from indexer import segment, store
from indexer.article import Reject
from indexer.decode import path_text
from indexer.readers.archive import FilePart, FileResult, file_parts, file_signature, read_file
from indexer.schema import to_document
from indexer.segment import ArshifWriter, SegmentSeries, publish_segments
from indexer.summary import FileFacts, Summary, count_file

#: A segment with more than this share of its documents deleted is
#: rewritten without them: deleted documents take space (and count in
#: Whoosh's statistics) until their segment is rewritten.
MAX_DELETED_SHARE = 0.1
#: Segments of fewer words than this are merged together at each update, so
#: updates do not pile up small segments (each has its own term dictionary).
SMALL_WORDS = segment.SEGMENT_WORDS // 8


class _Update:
    def __init__(self, ix, old: dict, reading, settings, summary: Summary, recorder):
        self.ix = ix
        #: Per file of the copied generation, the times the walk met it
        #: (indexer/inputs.py ``load``) not yet met by this walk.
        self.old = old
        self.reading = reading
        self.settings = settings
        self.summary = summary
        self.recorder = recorder
        self.searcher = ix.searcher()  # the copied generation, to find what to delete
        self.series = SegmentSeries(ix)
        self.seen: set[str] = set()
        self.replayed: set[str] = set()  # files counted from their record at their first part
        self.doomed: set[int] = set()  # document numbers in the copied generation
        self.real: dict[str, Path] = {}  # walked files: recorded path -> real path

    # -- walking ------------------------------------------------------------
    def item(self, item) -> FileResult | None:
        """Count and write one walked item; return what was read (None: nothing)."""
        if isinstance(item, Reject):
            result = FileResult(item.path, rejects=[item])
            self._add_read(result)
            return result
        # Recorded and stored paths are path_text's (a name that is not
        # UTF-8 has escapes); the file itself is opened by its real path.
        real = item.path if isinstance(item, FilePart) else item
        path = path_text(real)
        self.real[path] = real
        first = not isinstance(item, FilePart) or item.number == 0
        if not first:  # a file read in parts: its first part decided
            if path in self.replayed:
                return None
        else:
            self.replayed.discard(path)
            met = self.old.get(path)
            stored = met.pop(0) if met else None
            if stored is not None and self._reusable(path, stored):
                self._replay(path, stored)
                self.replayed.add(path)
                return None
            if path in self.old:
                self._delete_path(path)
        result = read_file(item, self.reading.fmt, self.reading.mapping, self.reading.roots,
                           self.reading.max_bytes)
        self._add_read(result)
        return result

    def _reusable(self, path: str, stored: list) -> bool:
        """Whether the recorded parts of ``path`` can stand for reading it:
        the file gave articles and has the same size and mtime.  Files that
        gave none (unreadable, binary…) are read again: their trouble may
        be gone without their size or mtime changing (permissions)."""
        if not any(facts.articles for facts, _ in stored):
            return False
        try:
            return file_signature(self._file(path)) == stored[0][0].signature
        except OSError:
            return False

    def outside(self, sources: list[Path], present: set[str]) -> None:
        """Files the copied generation holds that were not walked: deleted
        if they were in the given folders, else kept and counted."""
        shown_sources = [Path(path_text(s)) for s in sources]
        for path, met in self.old.items():
            if path in present:
                continue
            # Path containment, not a string prefix: ``A2/x.txt`` is not in ``A``.
            if any(Path(path).is_relative_to(s) for s in shown_sources):
                self._delete_path(path)
            else:
                for stored in met:
                    self._replay(path, stored)

    # -- one file -------------------------------------------------------------
    def _add_read(self, result: FileResult) -> None:
        facts = FileFacts.of(result)
        fresh = count_file(self.summary, facts, self.seen)
        for article, fact, new in zip(result.articles, facts.articles, fresh, strict=True):
            if new:
                self._write(article, result.signature, fact.key)
        self.recorder.add(facts, fresh)

    def _replay(self, path: str, stored: list) -> None:
        """Count an unchanged file from its recorded facts; delete the
        documents of articles it no longer holds first, write those it now
        does (read again for that)."""
        held_before = {f.key for facts, kept in stored
                       for f, k in zip(facts.articles, kept, strict=True) if k}
        held_now, gained = set(), set()
        for facts, _ in stored:  # what counting it would give, without counting yet
            for fact in facts.articles:
                if fact.key not in self.seen and fact.key not in held_now:
                    held_now.add(fact.key)
                    if fact.key not in held_before:
                        gained.add(fact.key)
        results = self._read_again(path, stored) if gained else None
        if gained and results is None:  # it changed after all: as a changed file
            self._delete_path(path)
            for result in self._read_all(path):
                self._add_read(result)
            return
        lost = held_before - held_now
        if lost:
            self._delete_path(path, lost)
        self.summary.files_unchanged += 1
        for number, (facts, _) in enumerate(stored):
            fresh = count_file(self.summary, facts, self.seen)
            self.recorder.add(facts, fresh)
            if results is None:
                continue
            result = results[number]
            for article, fact, new in zip(result.articles, facts.articles, fresh, strict=True):
                if new and fact.key in gained:
                    self._write(article, result.signature, fact.key)

    def _file(self, path: str) -> Path:
        """The real path of a recorded one (walked files are known by both)."""
        return self.real.get(path) or Path(path)

    def _read_all(self, path: str) -> list[FileResult]:
        reading = self.reading
        parts = file_parts(self._file(path), reading.fmt, max_bytes=reading.max_bytes)
        return [read_file(part, reading.fmt, reading.mapping, reading.roots, reading.max_bytes)
                for part in parts]

    def _read_again(self, path: str, stored: list) -> list[FileResult] | None:
        """The file's parts read again, or None if they are not what was recorded."""
        results = self._read_all(path)
        if len(results) != len(stored):
            return None
        for result, (facts, _) in zip(results, stored, strict=True):
            now = FileFacts.of(result)
            if (now.signature != facts.signature
                    or [f.key for f in now.articles] != [f.key for f in facts.articles]):
                return None
        return results

    def _write(self, article, signature: str, key: str) -> None:
        self.series.add_document(**to_document(article, signature, key, self.settings))
        self.summary.added += 1

    def _delete_path(self, path: str, keys: set[str] | None = None) -> None:
        """Delete the copied generation's documents of ``path`` (only those
        with one of ``keys`` as content key, if given)."""
        for docnum in self.searcher.document_numbers(path=path):
            if keys is None or self.searcher.stored_fields(docnum)["content_key"] in keys:
                self.doomed.add(docnum)

    # -- the new generation -------------------------------------------------
    def finish(self) -> list:
        """Mark the deletions; return the generation's segments (old and
        new) before compaction."""
        old_segments = []
        for sub, offset in self.searcher.leaf_searchers():
            seg = sub.reader().segment()
            for docnum in range(seg.doc_count_all()):
                if docnum + offset in self.doomed:
                    seg.delete_document(docnum)
            old_segments.append(seg)
        self.summary.removed = len(self.doomed)
        self.searcher.close()
        return old_segments + self.series.finish()

    def cancel(self) -> None:
        self.series.cancel()
        self.searcher.close()


def update(ix, items: list, old: dict, sources: list[Path], reading, settings,
           summary: Summary, on_file, recorder) -> None:
    """Update the copied generation ``ix`` to the files ``items`` (see the module)."""
    summary.update = True
    job = _Update(ix, old, reading, settings, summary, recorder)
    try:
        present = set()
        for item in items:
            if not isinstance(item, Reject):
                present.add(path_text(item.path if isinstance(item, FilePart) else item))
            result = job.item(item)
            store.checkpoint("file")
            if on_file:
                on_file(result or FileResult(str(item)), summary)
        job.outside(sources, present)
    except BaseException:
        job.cancel()
        raise
    store.checkpoint("commit")
    segments = job.finish()
    if not (summary.added or summary.removed):
        return  # nothing changed: the caller keeps the live generation
    segments = compact(ix, segments)
    store.checkpoint("segments")
    publish_segments(ix, segments)


def words(ix, seg) -> int:
    """About how many words a segment's live documents hold, counted as a
    build counts them (``ArshifWriter.word_count``: the body's views share
    its words)."""
    reader = SegmentReader(ix.storage, ix.schema, seg)
    try:
        total = sum(reader.field_length(name) for name, field in ix.schema.items()
                    if field.scorable and not name.startswith("body_"))
    finally:
        reader.close()
    return total * seg.doc_count() // max(1, seg.doc_count_all())


def compact(ix, segments: list) -> list:
    """Drop segments without a live document, rewrite those with more than
    MAX_DELETED_SHARE deleted, and merge those under SMALL_WORDS words.

    Rewrites go through ``ArshifWriter.add_reader`` (Whoosh's merge: the
    live documents only), a group of at most ``segment.SEGMENT_WORDS``
    words at a time, so an update holds no more words than a build does.
    """
    kept, rewrite = [], []
    for seg in segments:
        if not seg.doc_count():
            continue  # every document deleted: its files go with the new TOC
        size = words(ix, seg)
        heavy = seg.deleted_count() > MAX_DELETED_SHARE * seg.doc_count_all()
        (rewrite if heavy or size < SMALL_WORDS else kept).append((size, seg))
    if len(rewrite) == 1 and not rewrite[0][1].has_deletions():
        return [seg for _, seg in kept + rewrite]  # one small segment: nothing to merge
    groups: list[list] = []
    total = 0
    for size, seg in sorted(rewrite, key=lambda pair: pair[0]):
        if not groups or total + size > segment.SEGMENT_WORDS:
            groups.append([])
            total = 0
        groups[-1].append(seg)
        total += size
    merged = []
    for group in groups:
        writer = ArshifWriter(ix, _lk=False)
        try:
            for seg in group:
                reader = SegmentReader(ix.storage, ix.schema, seg)
                try:
                    writer.add_reader(reader)
                finally:
                    reader.close()
            merged.append(writer.finish_segment())
        except BaseException:
            writer.cancel()
            raise
    return [seg for _, seg in kept] + merged
