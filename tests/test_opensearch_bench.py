"""The pure parts of bench/opensearch_bench.py: its arguments, the rotation
of its runners and its report.  Nothing here starts a node or times
anything: the bench itself measures (docs/scale-out.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
osbench = pytest.importorskip("opensearch_bench")


def test_arguments():
    args = osbench.parse_args([])
    assert (args.size, args.heap, args.shards, args.embedded_jobs) == (58_000, "2g", 1, 1)
    assert osbench.parse_args(["--size", "1M", "--heap", "4g"]).size == 1_000_000
    with pytest.raises(SystemExit):
        osbench.parse_args(["--size", "1500"])  # not whole shards of the archive
    assert (args.nodes, args.replicas, args.out) == (1, 0, osbench.OUT)
    three = osbench.parse_args(["--nodes", "3", "--shards", "3", "--replicas", "1"])
    assert (three.nodes, three.shards, three.replicas) == (3, 3, 1)
    assert three.out.name == "opensearch-3nodes.json"
    with pytest.raises(SystemExit):
        osbench.parse_args(["--replicas", "1"])  # one node cannot hold a shard's replica


def test_runners_take_turns_and_every_query_is_timed_once_a_pass():
    queries = [{"kind": k, "q": str(i)} for i, k in enumerate(["word1", "phrase2"] * 5)]
    order: list[tuple[str, str]] = []

    def runner(name):
        return lambda q: order.append((name, q["q"])) or 1

    calls = {name: runner(name) for name in osbench.RUNNERS}
    out = osbench.run_passes(queries, calls, repeats=2, block=4)
    for name in osbench.RUNNERS:
        assert len(out[name]["ms"]) == 2 * len(queries)
        assert out[name]["kind"][:2] == ["word1", "phrase2"]
    timed = order[sum(osbench.WARM_PASSES.values()) * len(queries):]
    firsts = [timed[i][0] for i in range(0, len(timed), 4 * len(osbench.RUNNERS))]
    assert firsts[:3] == list(osbench.RUNNERS[:3])  # each block starts with the next runner


def _fake_result() -> dict:
    def per(ms):
        return {k: {"p50": ms, "p95": 2 * ms, "n": 2, "hits_mean": 5.0}
                for k in ("word1", "all")}

    build = {"indexed": 1000, "elapsed_s": 10.0, "rate": 100.0, "cpu_s": 9.0,
             "peak_memory_mb": 500.0, "size_bytes": 4_000_000}
    return {
        "started_at": "2025-01-01T00:00:00+00:00", "opensearch_version": "2.19.6",
        "machine": {"nproc": 2, "cpu": "cpu", "ram_gb": 24, "python": "3.11"},
        "params": {"size": 1000, "queries": 2, "repeats": 1, "block": 50, "heap": "2g",
                   "shards": 1, "processors": 2, "embedded_jobs": 1, "seed": 1},
        "build": {"embedded": build,
                  "opensearch": {**build, "rate": 50.0, "size_bytes": 6_000_000,
                                 "node_cpu_s": 3.0, "node_rss_after_build_mb": 2100.0,
                                 "segments": 4}},
        "search": {"embedded_ranked": per(1.0), "opensearch_ranked": per(4.0),
                   "embedded_searchbox": per(2.0), "opensearch_searchbox": per(3.0),
                   "agreement": {"word1": {"n": 2, "top10_shared": 0.9, "same_total": 2}},
                   "open_ms": {"embedded": 5.0, "opensearch": 6.0},
                   "memory_mb": {"this_process": 300.0, "node": 2200.0}},
    }


def test_report_shows_both_backends_and_their_ratios(tmp_path):
    text = osbench.markdown(_fake_result())
    assert "| build rate, articles/s | 100 | 50 | 0.50x |" in text
    assert "| index per article, KB | 4.00 | 6.00 | 1.50x |" in text
    assert ("| 1 word | 2 | 1.0 / 2.0 | 4.0 / 8.0 | 4.00x | 2.0 / 4.0 | 3.0 / 6.0 | 1.50x | "
            "90% | 2 / 2 |") in text
    out = tmp_path / "r.json"
    osbench.write(_fake_result(), out)
    assert out.with_suffix(".md").read_text("utf-8") == text
    assert osbench.parse_args(["--report", "--out", str(out)]).report


def test_report_of_a_cluster_names_its_nodes():
    res = _fake_result()
    res["params"].update(nodes=3, replicas=1)
    text = osbench.markdown(res)
    assert "| figure | embedded | OpenSearch (3 nodes) | OpenSearch / embedded |" in text
    assert "A cluster of 3 nodes" in text and "1 replica(s)" in text
    assert "CPU of the node during the build, s (sum over the nodes)" in text
    assert "batches of 500 to the nodes" in text and "the nodes 2,200 MB RSS" in text
