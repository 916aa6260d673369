"""``arshif index --update --backend opensearch``: new and changed files
upserted into the live index, removed files' articles deleted, by file.

Every article in the index keeps the path and the size and modification
time (``signature``) of the file it came from.  A file whose size or time
changed, and a new file, is read again with the build's own code
(indexer/writer.py's ``Builder``); its articles are sent under their ids
(an upsert), and its previous articles that it no longer gives are
deleted; an unchanged file is not read.  The articles of a file under the
given sources that is gone are deleted; files indexed from folders not
given this time are kept.  An article of a read file that repeats one kept
from an unchanged file is reported as a duplicate.  Then the stories and
the completion table are made again from all articles
(search/cluster/derived.py).

Unlike a rebuild, an update changes the live index in place (that is what
spares it reading the unchanged files): searches see its changes as they
are refreshed.  It marks the index while it works; an update that was
interrupted leaves the mark, and the next update refuses to start: the
index may then hold a file half-updated, and only a rebuild is sure.

What the embedded update does beyond this (docs/scale-out.md): it records
every input's duplicates, so that when the first copy of an article goes,
the copy a rebuild would keep takes its place; the cluster index records
only what it holds, so such a copy comes back only with a rebuild.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.article import Reject
from indexer.decode import MAX_FILE_BYTES, path_text
from indexer.readers.archive import FilePart, FileResult, file_signature
from indexer.settings import IndexSettings
from indexer.summary import Summary
from indexer.writer import Builder, NothingToIndex, Reading, checked_sources, input_items
from search.cluster.build import (
    BATCH_DOCS,
    BulkWriter,
    build_cluster_index,
    document_id,
    indexes_behind,
)
from search.cluster.connection import ClusterConfig, ClusterError, describe
from search.cluster.derived import derive
from search.cluster.mapping import DocumentMaker

_READ = ["path", "signature", "content_key", "seq"]


@dataclass
class _Held:
    """What the index holds of one file."""

    signature: str
    ids: dict[str, str] = field(default_factory=dict)  # _id -> content key


class _Recording:
    """The bulk writer, noting the ``_id`` of every article sent."""

    def __init__(self, bulk: BulkWriter):
        self.bulk, self.written = bulk, set()

    def add_document(self, **doc) -> None:
        self.written.add(document_id(doc["id"]))
        self.bulk.add_document(**doc)


def update_cluster_index(
    sources: Iterable[Path],
    config: ClusterConfig,
    fmt: str = "auto",
    mapping: dict | None = None,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult, Summary], None] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    follow_symlinks: bool = False,
    client=None,
    batch: int = BATCH_DOCS,
    source_names: dict | None = None,
) -> Summary:
    """Update the index behind ``config.alias`` from ``sources`` (a build
    when there is none yet).  Raises as ``build_cluster_index`` does."""
    started = time.perf_counter()
    given = [Path(s) for s in sources]
    sources = checked_sources(given)
    client = client or config.client()
    try:
        behind = indexes_behind(client, config.alias)
    except ClusterError:
        raise
    except Exception as exc:
        raise ClusterError(describe(exc, config)) from None
    if not behind:
        return build_cluster_index(sources, config, fmt, mapping, on_start=on_start,
                                   on_file=on_file, max_file_bytes=max_file_bytes,
                                   follow_symlinks=follow_symlinks, client=client, batch=batch,
                                   source_names=source_names)
    name = behind[-1]
    try:
        return _update(client, name, sources, given, Reading(
            fmt, mapping, [s for s in sources if s.is_dir()], max_file_bytes),
            follow_symlinks, on_start, on_file, batch, source_names, started)
    except (ClusterError, NothingToIndex):
        raise
    except Exception as exc:
        raise ClusterError(describe(exc, config)) from None


def _update(client, name: str, sources: list[Path], given: list[Path], reading: Reading,
            follow_symlinks: bool, on_start, on_file, batch: int, source_names,
            started: float) -> Summary:
    from opensearchpy import helpers

    meta = client.indices.get_mapping(index=name)[name]["mappings"]["_meta"]["arshif"]
    if meta.get("updating"):
        raise ClusterError(f"the last --update of {name} was interrupted: the index may hold "
                           "a file half-updated; rebuild it (`arshif index` without --update)")
    if "derived" not in meta:
        raise ClusterError(f"{name} was built by an older arshif: rebuild it once")
    settings = IndexSettings.from_dict(meta["settings"])
    held: dict[str, _Held] = {}
    last_seq = -1
    for hit in helpers.scan(client, index=name, size=1000,
                            query={"_source": _READ, "query": {"match_all": {}}}):
        source = hit["_source"]
        found = held.setdefault(source["path"], _Held(source.get("signature", "")))
        found.ids[hit["_id"]] = source.get("content_key", "")
        last_seq = max(last_seq, source["seq"])
    items = input_items(sources, reading, follow_symlinks)
    if on_start:
        on_start(len(items))
    walk: dict[str, list] = {}
    for item in items:
        walk.setdefault(_path_of(item), []).append(item)
    unchanged = {path for path, its in walk.items()
                 if path in held and not isinstance(its[0], Reject)
                 and _signature(its[0]) == held[path].signature}
    gone = [path for path in held if path not in walk and _inside(path, sources)]
    summary = Summary(update=True)
    set_meta(client, name, updating=True)
    maker = DocumentMaker(settings)
    maker.seq = last_seq + 1  # new articles after the others, as a rebuild orders them
    bulk = BulkWriter(client, name, maker, summary, batch)
    writer = _Recording(bulk)
    builder = Builder(writer, summary, settings)
    replaced = {path for path in walk if path in held and path not in unchanged}
    builder.seen_keys = {key for path, found in held.items()
                         if path not in replaced and path not in gone
                         for key in found.ids.values()}
    for path, its in walk.items():
        if path in unchanged:
            summary.files += 1
            summary.files_unchanged += 1
            if on_file:
                on_file(FileResult(path), summary)
            continue
        builder.add_items(its, reading, on_file)
    bulk.flush()
    written = summary.indexed
    stale = [_id for path in [*replaced, *gone] for _id in held[path].ids
             if _id not in writer.written]
    client.indices.refresh(index=name)
    if client.count(index=name)["count"] <= len(stale):
        set_meta(client, name, updating=False)
        raise NothingToIndex(f"no article found in {', '.join(map(str, given))}: the update "
                             f"would remove all {len(stale)} articles; the index is unchanged",
                             summary)
    for start in range(0, len(stale), batch):
        client.bulk(body=[{"delete": {"_index": name, "_id": _id}}
                          for _id in stale[start:start + batch]])
    summary.added, summary.removed = written, len(stale)
    names = source_names or {}
    if written or stale or meta.get("source_names", {}) != names:
        derive(client, name, maker, bulk.send, {"source_names": names, "updating": False})
        bulk.flush()
    else:
        summary.unchanged = True
        set_meta(client, name, updating=False)
    client.indices.refresh(index=name)
    summary.indexed = client.count(index=name)["count"]
    summary.generation = name
    summary.elapsed = time.perf_counter() - started
    return summary


def set_meta(client, name: str, **values) -> None:
    meta = client.indices.get_mapping(index=name)[name]["mappings"]["_meta"]
    meta["arshif"].update(values)
    client.indices.put_mapping(index=name, body={"_meta": meta})


def _path_of(item) -> str:
    """The path an input's articles carry (indexer/readers/archive.py)."""
    if isinstance(item, Reject):
        return item.path
    return path_text(item.path if isinstance(item, FilePart) else item)


def _signature(item) -> str | None:
    try:
        return file_signature(item.path if isinstance(item, FilePart) else item)
    except OSError:
        return None


def _inside(path: str, sources: list[Path]) -> bool:
    """Whether ``path`` is one of the given sources or under one of them."""
    return any(path == str(s) or path.startswith(str(s) + os.sep) for s in sources)
