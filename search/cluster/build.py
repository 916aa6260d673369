"""``arshif index --backend opensearch``: a rebuild into a new OpenSearch
index, published by moving the alias in one atomic step.

The archive is read, deduplicated, counted and analyzed by the embedded
build's own code (indexer/writer.py's ``Builder``, the readers,
search/cluster/mapping.py's documents over indexer/schema.py's); only the
writer differs: documents go to the bulk API in batches.  A build that
fails or is interrupted deletes its new index, and the alias stays where it
was: searches never see a half-built index.  An article the cluster refuses
(a bulk item error of the article's own: a 4xx) is reported with the
cluster's reason, like any other rejected record, and not counted as
indexed.  An item the cluster could not take for its own reasons (a busy
queue, a shard without its node: 429 or 5xx) is sent again, and a build
whose items still fail stops without publishing; before the alias moves, the
new index must hold every article the build counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from indexer import store
from indexer.decode import MAX_FILE_BYTES
from indexer.readers.archive import FileResult
from indexer.settings import IndexSettings
from indexer.summary import Summary
from indexer.writer import (
    Builder,
    NothingToIndex,
    Reading,
    checked_sources,
    input_items,
)
from search.cluster import files
from search.cluster.connection import (
    PASSING_STATUSES,
    TIMEOUT_S,
    ClusterConfig,
    ClusterError,
    describe,
)
from search.cluster.derived import derive
from search.cluster.mapping import DocumentMaker, index_body
from search.settings import SearchSettings

#: Documents per bulk request (a few MB of Arabic news).
BATCH_DOCS = 500
REJECTED = "rejected by OpenSearch"
#: A bulk item failed for the cluster's reasons, not the article's
#: (connection.py's PASSING_STATUSES): sent again up to RETRIES times,
#: BACKOFF_S (doubling) apart.
RETRIES = 5
BACKOFF_S = 0.5
#: How long one bulk request waits for a shard that has no active copy (its
#: node left: a new index has no replica until it is built) before its items
#: fail with 503 and are sent again: with RETRIES, a node that comes back
#: within about three minutes loses the build nothing.  Under the client's
#: own request timeout (connection.py's TIMEOUT_S).
SHARD_WAIT = "30s"
#: OpenSearch's limit on a document id, in bytes.
MAX_ID_BYTES = 512


def document_id(article_id: str) -> str:
    """The ``_id`` of an article: its own id, or for an id past OpenSearch's
    limit a digest (the ``id`` field still holds the whole id)."""
    if len(article_id.encode("utf-8")) <= MAX_ID_BYTES:
        return article_id
    return "sha256:" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()


class BulkWriter:
    """Whoosh's ``add_document`` over the bulk API: documents are analyzed
    and sent in batches; refused items are taken back out of the summary
    and reported with their reason."""

    def __init__(self, client, index: str, maker: DocumentMaker, summary: Summary,
                 batch: int = BATCH_DOCS):
        self.client, self.index, self.maker, self.summary = client, index, maker, summary
        self.batch = batch
        self.pending: list[tuple[dict, dict]] = []  # (action, document)
        self.articles: dict[str, tuple[str, bool]] = {}  # _id -> (path, embedded), this batch

    def add_document(self, **doc) -> None:
        """One article, as the embedded index's document (``Builder`` makes it)."""
        out = self.maker.make(doc)
        _id = document_id(out["id"])
        self.articles[_id] = (doc["path"], bool(doc["parent"]))
        self.send(_id, out)

    def send(self, _id: str, document: dict) -> None:
        """One document as the cluster indexes it (an article sent again
        with its story, search/cluster/derived.py, comes in here)."""
        self.pending.append(({"index": {"_index": self.index, "_id": _id}}, document))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        pending, delay = self.pending, BACKOFF_S
        for attempt in range(RETRIES + 1):
            if not pending:
                break
            if attempt:
                time.sleep(delay)
                delay *= 2
            # With request_timeout given, opensearch-py sends ``timeout`` to
            # the cluster (alone, it would take it as its own socket timeout).
            answer = self.client.bulk(body=[part for pair in pending for part in pair],
                                      timeout=SHARD_WAIT, request_timeout=TIMEOUT_S)
            again = []
            for pair, item in zip(pending, answer["items"] if answer.get("errors") else (),
                                  strict=False):
                outcome = next(iter(item.values()))
                if "error" not in outcome:
                    continue
                if outcome.get("status") in PASSING_STATUSES:
                    again.append(pair)
                else:
                    self._refused(outcome["_id"], outcome["error"])
            pending = again
        if pending:
            raise ClusterError(f"OpenSearch did not take {len(pending)} articles after "
                               f"{RETRIES} retries (the cluster is busy or a node is "
                               "missing): nothing published")
        self.pending, self.articles = [], {}

    def _refused(self, _id: str, error) -> None:
        reason = (f"{REJECTED}: {error.get('type', 'error')}: {error.get('reason', '')}"
                  if isinstance(error, dict) else f"{REJECTED}: {error}")
        if _id not in self.articles:  # sent again, once taken: not the article's fault
            raise ClusterError(f"article {_id} was taken, then {reason}: nothing published")
        path, embedded = self.articles[_id]
        s = self.summary
        s.indexed -= 1
        s.embedded -= embedded
        s.records_rejected += 1
        s.reasons[REJECTED] += 1
        s.report.append({"kind": "rejected", "path": path, "record": _id, "reason": reason})


def new_index_name(alias: str) -> str:
    return f"{alias}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def build_cluster_index(
    sources: Iterable[Path],
    config: ClusterConfig,
    fmt: str = "auto",
    mapping: dict | None = None,
    settings: IndexSettings | None = None,
    search_settings: SearchSettings | None = None,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult, Summary], None] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    follow_symlinks: bool = False,
    client=None,
    batch: int = BATCH_DOCS,
    source_names: dict | None = None,
) -> Summary:
    """Rebuild the index behind ``config.alias`` from ``sources``.

    ``source_names`` (indexer/sources.py) are kept in the index's ``_meta``,
    where the embedded build keeps them in its manifest.

    Raises NothingToIndex (nothing published) as the embedded build does,
    ClusterError when the cluster cannot be reached or refuses the index.
    """
    started = time.perf_counter()
    given = [Path(s) for s in sources]
    sources = checked_sources(given)
    reading = Reading(fmt, mapping, [s for s in sources if s.is_dir()], max_file_bytes)
    settings = settings or IndexSettings()
    client = client or config.client()
    summary = Summary()
    name = new_index_name(config.alias)
    try:
        previous = indexes_behind(client, config.alias)
        client.indices.create(index=name, body=index_body(
            settings, search_settings or SearchSettings(), config.shards, 0, source_names))
    except ClusterError:
        raise
    except Exception as exc:
        raise ClusterError(describe(exc, config)) from None
    try:
        files.create(client, name, config.replicas)
        items = input_items(sources, reading, follow_symlinks)
        if on_start:
            on_start(len(items))
        maker = DocumentMaker(settings)
        bulk = BulkWriter(client, name, maker, summary, batch)
        Builder(bulk, summary, settings).add_items(items, reading, on_file)
        bulk.flush()
        store.checkpoint("commit")
        client.indices.refresh(index=name)
        held = client.count(index=name)["count"]
        if not held:
            raise _nothing(summary, given)
        if held != summary.indexed:
            raise ClusterError(f"the new index holds {held} articles, the build counted "
                               f"{summary.indexed}: nothing published")
        # Stories span all articles: grouped once they are all in, as the
        # embedded build groups a generation once its segments are final.
        derive(client, name, maker, bulk.send)
        bulk.flush()
        store.checkpoint("stories")
        # Replicas are made once, from the finished index, not document by document.
        client.indices.put_settings(index=name, body={"index": {
            "refresh_interval": None, "number_of_replicas": config.replicas}})
        client.indices.refresh(index=name)
        actions = [{"remove": {"index": old, "alias": config.alias}} for old in previous]
        actions.append({"add": {"index": name, "alias": config.alias}})
        store.checkpoint("publish")
        client.indices.update_aliases(body={"actions": actions})
    except BaseException as exc:
        # If the cluster is gone, the unaliased index is never searched anyway.
        with contextlib.suppress(Exception):
            client.indices.delete(index=name, ignore_unavailable=True)
        with contextlib.suppress(Exception):
            files.delete(client, name)
        if isinstance(exc, Exception) and not isinstance(exc, store.StoreError | OSError):
            raise ClusterError(describe(exc, config)) from None
        raise
    for old in previous:  # no longer searched; a failure here leaves only disk to reclaim
        with contextlib.suppress(Exception):
            client.indices.delete(index=old, ignore_unavailable=True)
        with contextlib.suppress(Exception):
            files.delete(client, old)
    summary.generation = name
    summary.elapsed = time.perf_counter() - started
    return summary


def indexes_behind(client, alias: str) -> list[str]:
    """The indexes ``alias`` points to (none before the first build)."""
    from opensearchpy import NotFoundError

    try:
        return sorted(client.indices.get_alias(name=alias))
    except NotFoundError:
        if client.indices.exists(index=alias):
            raise ClusterError(f"{alias} is an index, not an alias: arshif publishes its "
                               "builds by moving an alias; choose another name "
                               "(ARSHIF_OPENSEARCH_INDEX)") from None
        return []


def _nothing(summary: Summary, sources: list[Path]) -> NothingToIndex:
    where = ", ".join(str(s) for s in sources) or "(no source given)"
    reasons = ", ".join(f"{reason}: {n}" for reason, n in summary.reasons.most_common(3))
    detail = (f"{summary.files} files read, {summary.files_rejected} rejected"
              + (f" ({reasons})" if reasons else ""))
    return NothingToIndex(f"no article found in {where}: {detail}; the live index is unchanged",
                          summary)
