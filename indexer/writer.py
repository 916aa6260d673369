"""Write articles into a new index generation and publish it.

``build_index`` is the whole rebuild: read every file, drop duplicates, write
a new generation beside the live one, and swap only when everything
succeeded.  With ``update=True`` it starts from a copy of the live generation
and re-reads only new and changed files.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import store
from indexer.analysis import ArabicAnalyzer
from indexer.readers.archive import FileResult, file_signature, iter_files, read_file
from indexer.article import Reject
from indexer.schema import build_schema, content_key, to_document

BUILD_INFO = "arshif.json"


@dataclass
class Summary:
    """What a build did; every input file and record is counted exactly once."""

    files: int = 0  # input files seen
    files_unchanged: int = 0  # --update: same size and mtime as last time
    files_rejected: int = 0  # files that gave no article at all
    indexed: int = 0  # articles written (including embedded ones)
    embedded: int = 0  # of which came from "read also" blocks
    duplicates: int = 0  # articles already indexed from another file
    records_rejected: int = 0  # records rejected inside files that gave articles
    removed: int = 0  # --update: articles of deleted or changed files removed
    dates_missing: int = 0  # articles indexed without a date
    reasons: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    generation: str = ""
    report: list[dict] = field(default_factory=list)  # rejects, duplicates, date problems

    @property
    def rate(self) -> float:
        return self.indexed / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "report"}
        data["reasons"] = dict(self.reasons)
        data["articles_per_second"] = round(self.rate, 1)
        return data


def _reason_key(reason: str) -> str:
    """Group reasons for the summary ("unparseable date: 'x'" -> "unparseable date",
    "binary content, not text (32 control characters …)" -> "binary content, not text")."""
    return reason.split(":")[0].split(" (")[0]


class _Builder:
    """State of one build: the writer, what is already in, and the summary."""

    def __init__(self, writer, summary: Summary, seen_keys: set[str]):
        self.writer = writer
        self.summary = summary
        self.seen_keys = seen_keys

    def add_file(self, result: FileResult) -> None:
        s = self.summary
        s.files += 1
        for reject in result.rejects:
            s.reasons[_reason_key(reject.reason)] += 1
            s.report.append({"kind": "rejected", **reject.as_dict()})
        added = 0
        for article in result.articles:
            key = content_key(article)
            if key in self.seen_keys:
                s.duplicates += 1
                s.report.append(
                    {"kind": "duplicate", "path": article.path, "record": article.id,
                     "reason": "duplicate: same headline and body already indexed"}
                )
                continue
            self.seen_keys.add(key)
            self.writer.add_document(**to_document(article, result.signature, key))
            added += 1
            s.indexed += 1
            s.embedded += bool(article.parent)
            if article.date is None:
                s.dates_missing += 1
                s.report.append(
                    {"kind": "date", "path": article.path, "record": article.id,
                     "reason": article.date_problem}
                )
        if not result.articles:
            s.files_rejected += 1
        else:
            s.records_rejected += len(result.rejects)


def _write_build_info(gen: Path, summary: Summary, sources, analyzer: ArabicAnalyzer) -> None:
    info = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "analyzer": analyzer.version,
        "sources": [str(s) for s in sources],
        "summary": summary.as_dict(),
    }
    (gen / BUILD_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2), "utf-8")


def read_build_info(gen: Path) -> dict:
    try:
        return json.loads((gen / BUILD_INFO).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def build_index(
    sources: Iterable[Path],
    home: Path,
    fmt: str = "auto",
    mapping: dict | None = None,
    jobs: int = 1,
    update: bool = False,
    analyzer: ArabicAnalyzer | None = None,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult, Summary], None] | None = None,
    limitmb: int = 1024,
) -> Summary:
    """Build (or with ``update``, refresh) the index at ``home`` and publish it."""
    started = time.perf_counter()
    # Absolute paths: ``--update`` recognises files by path, whatever the cwd.
    sources = [Path(os.path.abspath(s)) for s in sources]
    roots = [s for s in sources if s.is_dir()]
    summary = Summary()
    with store.build_lock(home):
        store.remove_leftovers(home)
        live = store.current_dir(home)
        tmp = store.new_generation(home)
        store.checkpoint("start")
        try:
            if update and live is not None:
                shutil.copytree(live, tmp, dirs_exist_ok=True)
                ix = whoosh_index.open_dir(str(tmp))
                analyzer = ix.schema["body"].analyzer
                known, seen_keys = _stored_state(ix)
                writer = ix.writer(limitmb=limitmb, compound=False)
            else:
                analyzer = analyzer or ArabicAnalyzer()
                ix = whoosh_index.create_in(str(tmp), build_schema(analyzer))
                known, seen_keys = {}, set()
                writer = _new_writer(ix, jobs, limitmb)
            builder = _Builder(writer, summary, seen_keys)
            items = list(iter_files(sources))
            if on_start:
                on_start(len(items))
            try:
                for item in items:
                    result = _read(item, fmt, mapping, roots, known, summary, builder)
                    if result is not None:
                        builder.add_file(result)
                    store.checkpoint("file")
                    if on_file:
                        on_file(result or FileResult(str(item)), summary)
                if update:
                    _remove_vanished(builder, known, items, sources)
            except BaseException:
                writer.cancel()
                raise
            store.checkpoint("commit")
            writer.commit(optimize=True)
            summary.elapsed = time.perf_counter() - started
            summary.generation = tmp.with_suffix("").name
            _write_build_info(tmp, summary, sources, analyzer)
            ix.close()
            store.publish(home, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return summary


def _new_writer(ix, jobs: int, limitmb: int):
    if jobs > 1:
        # Whoosh's MpWriter analyzes in ``jobs`` processes; one final merge
        # (multisegment=False) leaves a single segment for fast searching.
        return ix.writer(procs=jobs, limitmb=limitmb, multisegment=False, compound=False)
    # compound=False: Whoosh reads a compound segment file wholly into memory
    # for every searcher it opens (about 1 GB per searcher at 58k articles, so
    # per server thread); separate files are memory-mapped instead.
    return ix.writer(limitmb=limitmb, compound=False)


def _read(item, fmt, mapping, roots, known, summary, builder) -> FileResult | None:
    """Read one input; in update mode skip unchanged files, drop stale articles."""
    if isinstance(item, Reject):
        return FileResult(item.path, rejects=[item])
    path = str(item)
    if path in known:
        try:
            signature = file_signature(item)
        except OSError:
            signature = None
        if signature == known[path][0]:
            summary.files += 1
            summary.files_unchanged += 1
            return None
        _remove_file(builder, known, path)
    return read_file(item, fmt, mapping, roots)


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
    present = {str(i) for i in items if not isinstance(i, Reject)}
    prefixes = [str(s) for s in sources]
    for path in list(known):
        if path not in present and any(path.startswith(p) for p in prefixes):
            _remove_file(builder, known, path)
