"""The scale bench's generator, queries and Lucene harness (bench/scale.py).

The generator must be deterministic (same seed, same bytes), give each size
as a prefix of the larger ones, and write well-formed articles; the Lucene
harness must index the archive and answer the query file.  Timing is not
asserted here: that is what the bench itself reports.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
CORPORA = BENCH.parent.parent / "shared" / "corpora"
ONE_DAY = CORPORA / "saudinewsnet" / "dataset" / "2015-07-21.json"

sys.path.insert(0, str(BENCH))
synth = pytest.importorskip("synth")
scale_queries = pytest.importorskip("scale_queries")


@pytest.fixture(scope="module")
def base():
    if not ONE_DAY.is_file():
        pytest.skip(f"shared corpora not found ({ONE_DAY})")
    return synth.read_base([ONE_DAY])[:20]


def lines_of(files: list[Path]) -> list[dict]:
    return [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines()]


def test_same_seed_same_bytes(base, tmp_path):
    one = synth.write_archive(base, 60, tmp_path / "a", seed=7, shard=10)
    two = synth.write_archive(base, 60, tmp_path / "b", seed=7, shard=10)
    other = synth.write_archive(base, 60, tmp_path / "c", seed=8, shard=10)
    assert [f.read_bytes() for f in one] == [f.read_bytes() for f in two]
    assert [f.read_bytes() for f in one] != [f.read_bytes() for f in other]


def test_smaller_size_is_a_prefix(base, tmp_path):
    big = synth.write_archive(base, 60, tmp_path / "big", seed=7, shard=10)
    small = synth.write_archive(base, 30, tmp_path / "small", seed=7, shard=10)
    assert [f.read_bytes() for f in small] == [f.read_bytes() for f in big[:3]]


def test_shape(base, tmp_path):
    files = synth.write_archive(base, 60, tmp_path, seed=7, shard=10)
    recs = lines_of(files)
    assert len(files) == 6 and len(recs) == 60
    assert len({r["id"] for r in recs}) == 60
    assert all(set(r) == {"id", "headline", "body", "date", "source"} for r in recs)
    assert all(r["headline"] and r["body"] for r in recs)
    # every article differs from every other (no engine drops a duplicate)
    assert len({(r["headline"], r["body"]) for r in recs}) == 60


def test_variants_are_shuffled_copies(base, tmp_path):
    recs = lines_of(synth.write_archive(base, 40, tmp_path, seed=7, shard=10))
    originals = {(b.headline, b.body) for b in base if not b.duplicate}
    firsts, seconds = recs[:20], recs[20:]
    assert len({(r["headline"], r["body"]) for r in firsts} & originals) == len(originals)
    for r in seconds:  # one extra paragraph, dated 364 days earlier than round 0
        assert r["body"].count("\n\n") >= 1
        assert r["date"] < "2015"


def test_queries_deterministic_every_kind(base):
    one = scale_queries.make_queries(base, 3, seed=7)
    two = scale_queries.make_queries(base, 3, seed=7)
    assert one == two
    assert [q.kind for q in one[:7]] == list(scale_queries.KINDS)
    assert all(q.tsv().count("\t") == 5 for q in one)
    assert scale_queries.prefix_of("الاقتصادية") == "اقتصادي*"


@pytest.mark.slow
def test_lucene_harness_indexes_and_answers(base, tmp_path):
    """Needs Java 17+ and Maven (which fetches Lucene from Maven Central once)."""
    if not (shutil.which("java") and shutil.which("mvn")):
        pytest.skip("java or mvn not found")
    import scale

    java = scale.build_lucene()
    src = tmp_path / "src"
    synth.write_archive(base, 20, src, seed=7, shard=10)
    out = subprocess.run(["java", *java, "index", str(tmp_path / "ix"), str(src)],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.splitlines()[-1])["indexed"] == 20
    word = max(base[0].headline.split(), key=len)
    queries = [scale_queries.Query("word1", word), scale_queries.Query("prefix", word[:3] + "*")]
    (tmp_path / "q.tsv").write_text("".join(q.tsv() + "\n" for q in queries), "utf-8")
    proc = subprocess.run(["java", *java, "serve", str(tmp_path / "ix"), str(tmp_path / "q.tsv")],
                          input="run 0 2\nquit\n", capture_output=True, text=True, check=True)
    ready, answer = (json.loads(line) for line in proc.stdout.splitlines())
    assert ready["docs"] == 20
    assert len(answer["ms"]) == 2 and all(h >= 1 for h in answer["hits"])


def test_fastest_build_is_compared_and_the_highest_memory_kept():
    """Builds run several times: the fastest run's figures are compared, every
    run's time is listed, and the memory target is held to the highest peak."""
    import scale
    import scale_report

    runs = [{"elapsed_s": 20.0, "rate": 100.0, "peak_memory_mb": 900.0},
            {"elapsed_s": 16.0, "rate": 125.0, "peak_memory_mb": 800.0}]
    best = scale.fastest(runs)
    assert (best["elapsed_s"], best["rate"]) == (16.0, 125.0)
    assert best["runs_elapsed_s"] == [20.0, 16.0]
    assert best["peak_memory_mb"] == 900.0
    assert scale_report.run_times(best) == "20.0, 16.0"
    assert runs[1]["peak_memory_mb"] == 800.0  # the runs themselves are left as they were


def test_tree_sampler_sums_the_memory_of_a_process_and_its_children():
    """The build's peak memory is the sum over its process tree: a parent and
    a child each holding 64 MB count as at least 128 MB.  The processes say
    when their memory is touched, so the sample is taken after that."""
    import stats

    hold = ("import sys, subprocess; block = bytearray(64 << 20); "
            "child = subprocess.Popen([sys.executable, '-c', "
            "\"import sys; block = bytearray(64 << 20); print('ready', flush=True); "
            "sys.stdin.read()\"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True); "
            "child.stdout.readline(); print('ready', flush=True); sys.stdin.read(); "
            "child.stdin.close(); child.wait()")
    parent = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        sampler = stats.TreeSampler(parent.pid)
        sampler.sample()
        assert sampler.peak_procs == 2
        assert sampler.peak_rss_kb >= 128 * 1024
        assert stats.rss_kb(parent.pid) >= 64 * 1024
    finally:
        parent.stdin.close()
        parent.wait(30)
    assert stats.rss_kb(parent.pid) == 0  # gone (reaped): no figure, no error
