"""A real three-node cluster (tests/opensearch_node.py's ``Cluster``): one
node killed with ``kill -9`` under a 20-client search load and during a
rebuild.  Searches keep answering, the rebuild publishes every article, and
the cluster is green again once the node is back (docs/scale-out.md).

Every step waits for an event, never for a time: the rebuild starts once
the load has answered LOAD_BEFORE searches, the node is killed as the
rebuild's first bulk batch comes back, and restarted once the load has
answered LOAD_DURING more searches without it.  The time limits below only
stop a hung test; nothing is asserted about speed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import date, timedelta

import pytest

from search.backend import Request
from search.cluster.backend import ClusterBackend
from search.cluster.build import build_cluster_index
from search.cluster.connection import ClusterConfig, ClusterError

pytestmark = [pytest.mark.opensearch, pytest.mark.slow]

ARTICLES = 3000
BATCH = 100  # 30 bulk batches: the kill comes after the first
CLIENTS = 20
LOAD_BEFORE = 200  # searches answered before the rebuild starts
LOAD_DURING = 300  # searches answered with the node dead, before it is restarted
#: Only a hang stops at these (seconds): the whole test takes a few minutes.
HANG_S = 900

#: The articles' and queries' vocabulary.
VOCABULARY = ("الاقتصاد النفط الحبوب القمح روسيا الطاقة الشمسية الانتخابات البرلمان زلزال "
              "السياحة السعودية البطالة الوظائف السيارات الكهربائية ميناء جدة الشحن قطر "
              "كأس العالم الأسواق المال المصارف الذهب الأسعار التضخم الزراعة المياه الأمطار "
              "الجامعات الطلاب المستشفيات الأطباء الصادرات الواردات الاستثمار الشركات")
WORDS = VOCABULARY.split()
SOURCES = ("العربية", "الجزيرة", "الرياض", "عكاظ")
QUERIES = [Request(q="النفط"), Request(q="الاقتصاد الطاقة"), Request(q='"كأس العالم"'),
           Request(q="الانتخ*"), Request(q="الذهب -الأسعار"), Request(q="الزراعة", sort="newest"),
           Request(q="المياه", sources=("الجزيرة",)), Request(q="التضخم", page=2)]


def write_archive(folder, n: int):
    """``n`` distinct articles as JSON Lines (the same ones on every run)."""
    rng = random.Random(15)
    folder.mkdir()
    path = folder / "articles.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "id": f"a{i:05d}", "title": " ".join(rng.choices(WORDS, k=6)),
                "text": " ".join(rng.choices(WORDS, k=60)) + f" العدد {i}",
                "date": (date(2020, 1, 1) + timedelta(days=i % 1000)).isoformat(),
                "source": SOURCES[i % len(SOURCES)]}, ensure_ascii=False) + "\n")
    return folder


@pytest.fixture(scope="module")
def cluster():
    """Three nodes, started for this module; skips with the reason where Java
    or the distribution is missing (a failure in CI, which has both)."""
    from tests.opensearch_node import Cluster, running

    with running(Cluster(3)) as nodes:
        yield nodes


class Load:
    """CLIENTS threads searching through one backend, as a server's threads do."""

    def __init__(self, backend: ClusterBackend):
        self.backend = backend
        self.answered = self.partial = 0
        self.failures: list[str] = []
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                        for n in range(CLIENTS)]

    def _client(self, n: int) -> None:
        for i in range(n, 10**9):
            if self.stopping.is_set():
                return
            try:
                result = self.backend.search(QUERIES[i % len(QUERIES)])
            except ClusterError as exc:
                with self.changed:
                    self.failures.append(str(exc))
                continue
            with self.changed:
                self.answered += 1
                self.partial += result.partial
                self.changed.notify_all()

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def wait_answered(self, n: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.answered >= n, timeout=HANG_S), (
                f"the load hangs: {self.answered} answered, failures {self.failures[:3]}")

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(HANG_S)


class Retries(logging.Handler):
    """What was sent again, from the warnings logged for it: by the client,
    to another node (opensearch-py's ``opensearch`` logger), and by arshif,
    after a pause (search/cluster/backend.py's ``arshif.cluster`` logger),
    for an answer without some shards or for a failure."""

    LOGGERS = ("opensearch", "arshif.cluster")

    def __init__(self):
        super().__init__(logging.WARNING)
        self.counts = {"failovers": 0, "retried_partial": 0, "retried_failed": 0}

    def emit(self, record):
        message = record.getMessage()
        if record.name == "opensearch":
            self.counts["failovers"] += "has failed for" in message
        elif "answered without" in message:
            self.counts["retried_partial"] += 1
        else:
            self.counts["retried_failed"] += 1

    def attach(self) -> Retries:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def detach(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)


class KillAfterFirstBatch:
    """The rebuild's client; once its first bulk batch is answered, ``kill``
    is called with the new index's name (in the rebuild's thread, so the
    rebuild goes on only once the node is dead)."""

    def __init__(self, client, kill):
        self.client, self.kill, self.batches = client, kill, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def bulk(self, body, **params):
        answer = self.client.bulk(body=body, **params)
        self.batches += 1
        if self.batches == 1:
            self.kill(body[0]["index"]["_index"])
        return answer


def test_a_node_killed_under_load_during_a_rebuild(cluster, tmp_path):
    archive = write_archive(tmp_path / "archive", ARTICLES)
    config = ClusterConfig.resolve(",".join(cluster.urls), env={}, shards=3, replicas=1)
    client = config.client()
    first = build_cluster_index([archive], config, batch=BATCH)
    assert first.indexed == ARTICLES
    assert cluster.health("?wait_for_status=green&timeout=300s", 330)["status"] == "green"
    shards = client.cat.shards(index=first.generation, format="json")
    assert sorted(s["prirep"] for s in shards) == ["p"] * 3 + ["r"] * 3
    assert len({s["node"] for s in shards}) == 3  # spread over the three nodes

    retries = Retries().attach()
    load = Load(ClusterBackend(config)).start()
    killed, figures = {}, {}
    try:
        load.wait_answered(LOAD_BEFORE)

        def kill(new_index: str) -> None:
            # A node holding a primary of the index being built: its shard has
            # no other copy until the build ends.
            rows = client.cat.shards(index=new_index, format="json")
            victim_name = next(r["node"] for r in rows if r["prirep"] == "p")
            victim = next(n for n in cluster.nodes if n.name == victim_name)
            with load.changed:
                answered = load.answered
            victim.kill()
            with load.changed:
                killed.update(node=victim, answered=answered, at=time.monotonic())
                load.changed.notify_all()

        outcome: dict = {}

        def rebuild() -> None:
            try:
                outcome["summary"] = build_cluster_index(
                    [archive], config, batch=BATCH,
                    client=KillAfterFirstBatch(config.client(), kill))
            except BaseException as exc:  # reported by the main thread
                outcome["error"] = exc
            finally:
                with load.changed:
                    outcome["done"] = True
                    load.changed.notify_all()

        builder = threading.Thread(target=rebuild, daemon=True)
        builder.start()
        with load.changed:
            load.changed.wait_for(lambda: "at" in killed or "done" in outcome, HANG_S)
        assert "at" in killed, f"the rebuild ended before its first batch: {outcome}"
        load.wait_answered(killed["answered"] + LOAD_DURING)  # searching without the node
        with load.changed:
            figures["failed_while_down"] = len(load.failures)
        victim = killed["node"]
        figures["s_down"] = round(time.monotonic() - killed["at"], 1)
        restarted = time.monotonic()
        victim.launch()
        victim.wait_ready(nodes=3)
        figures["s_restart_to_ready"] = round(time.monotonic() - restarted, 1)
        builder.join(HANG_S)
        assert not builder.is_alive(), "the rebuild hangs"
        figures["s_restart_to_rebuilt"] = round(time.monotonic() - restarted, 1)
        health = cluster.health("?wait_for_status=green&timeout=300s", 330)
        figures["s_restart_to_green"] = round(time.monotonic() - restarted, 1)
    finally:
        load.stop()
        retries.detach()

    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert health["status"] == "green" and not health["timed_out"], health
    assert load.failures == [] and load.partial == 0
    # No article lost: the published index holds every one of them.
    assert summary.indexed == ARTICLES
    assert sorted(client.indices.get_alias(name=config.alias)) == [summary.generation]
    assert not client.indices.exists(index=first.generation)
    held = client.search(index=config.alias, body={
        "size": ARTICLES, "_source": ["id"], "query": {"match_all": {}}})["hits"]["hits"]
    assert sorted(h["_source"]["id"] for h in held) == [f"a{i:05d}" for i in range(ARTICLES)]
    figures.update(answered=load.answered, answered_while_down=LOAD_DURING,
                   retried=load.backend.retried, **retries.counts, victim=victim.name)
    print(f"\ncluster kill: {figures}")  # the figures docs/scale-out.md quotes (pytest -s)
