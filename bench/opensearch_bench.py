"""The two backends side by side: the embedded index and OpenSearch (one node,
or a cluster of ``--nodes`` on loopback), the same articles and the same
queries, in one run (docs/scale-out.md).

    .venv/bin/python bench/opensearch_bench.py [--size 58k] [--queries N] [--heap 2g]
                                               [--repeats N] [--block N] [--shards N]
                                               [--nodes N] [--replicas N]
                                               [--workdir DIR] [--keep] [--report]

1. Writes the synthetic archive of bench/synth.py (the shared corpora's real
   articles first, so 58k is the real news) and samples the queries of
   bench/scale_queries.py (seven kinds per sampled headline).
2. Builds the embedded index with ``arshif index --jobs 1`` (one Python
   process, as the cluster build is: it does not take ``--jobs`` yet).
3. Starts one OpenSearch node on loopback, or ``--nodes`` forming a cluster
   (tests/opensearch_node.py, each with a benchmark's heap and every core as
   its ``node.processors``), builds the same archive into it with
   ``arshif index --backend opensearch`` given every node's URL (1 primary
   shard, no replica by default), and reads the primaries' store size.
4. Times the same queries on four runners that take turns in blocks, in
   rotating order (as bench/scale_search.py does): each backend's ranked
   top 100 (``ranked_ids``) and its search box (``search``: top 10, snippets,
   facets), all from this process (the cluster's through HTTP).
5. Stops the nodes (always), prints and writes bench/results/opensearch.{json,md}
   (``opensearch-Nnodes.{json,md}`` for a cluster).

Needs Java 17+ and ``make opensearch``; the work folder is deleted at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, so bench/ is on sys.path and its helpers import directly;
# the repository (for tests/opensearch_node.py) goes after it.
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

import corpus as C  # noqa: E402
import scale_queries as Q  # noqa: E402
import scale_report as R  # noqa: E402
import synth  # noqa: E402
from scale import MAP, SEED, arshif_cli, dir_size, log, measure, parse_size, size_label  # noqa: E402
from scale_search import Arshif, timed  # noqa: E402
from stats import process_tree, rss_kb  # noqa: E402

#: The runners, in the order of the first turn.
RUNNERS = ("embedded_ranked", "opensearch_ranked", "embedded_searchbox", "opensearch_searchbox")
#: Untimed passes first: the node's JIT compiles hot code only after many
#: calls; the embedded backend's caches fill in one.
WARM_PASSES = {"embedded_ranked": 1, "embedded_searchbox": 1, "opensearch_ranked": 2,
               "opensearch_searchbox": 2}
ALIAS = "arshif-bench"
OUT = BENCH / "results" / "opensearch.json"


# -- the cluster side ----------------------------------------------------------------

class Cluster(Arshif):
    """bench/scale_search.py's two modes over the cluster backend: the same
    requests, ``ranked_ids`` and ``search`` of ``ClusterBackend``."""

    def __init__(self, url: str, alias: str):
        from search.backend import Request
        from search.cluster.backend import ClusterBackend
        from search.cluster.connection import ClusterConfig

        t0 = time.perf_counter()
        self.Request = Request
        self.engine = ClusterBackend(ClusterConfig(url=url, alias=alias))
        self.engine.summary()
        self.open_ms = round((time.perf_counter() - t0) * 1000, 1)


def tree_cpu_s(pid: int) -> float:
    """User+system CPU seconds of ``pid`` and its descendants so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as fh:
                rest = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15)
    return round(total / tick, 1)


def tree_rss_mb(pid: int) -> float:
    return round(sum(rss_kb(p) for p in process_tree(pid)) / 1024, 1)


def start_nodes(args) -> list:
    """The started nodes: one alone, or ``args.nodes`` forming a cluster."""
    from tests.opensearch_node import Cluster, Node

    processors = os.cpu_count() or 2
    if args.nodes == 1:
        return [Node(heap=args.heap, processors=processors, quick_start=False).start()]
    return Cluster(args.nodes, heap=args.heap, processors=processors,
                   quick_start=False).start().nodes


def nodes_url(nodes: list) -> str:
    return ",".join(node.url for node in nodes)


def nodes_cpu_s(nodes: list) -> float:
    return round(sum(tree_cpu_s(node.process.pid) for node in nodes), 1)


def nodes_rss_mb(nodes: list) -> float:
    return round(sum(tree_rss_mb(node.process.pid) for node in nodes), 1)


def build_embedded(src: Path, home: Path, work: Path, jobs: int) -> dict:
    maps = [a for f in MAP for a in ("--map", f"{f}={f}")]
    m = measure([*arshif_cli(), "index", str(src), "--format", "jsonl", *maps, "--jobs",
                 str(jobs), "--index", str(home), "--json", "-q"], work / "embedded-index.log")
    return _build_figures(json.loads(m.pop("stdout")), m, dir_size(home))


def build_cluster(src: Path, nodes: list, work: Path, shards: int, replicas: int) -> dict:
    """``arshif index --backend opensearch`` into ``nodes``; the node figures
    are sums over the nodes, the store the primaries' (a replica is a copy)."""
    maps = [a for f in MAP for a in ("--map", f"{f}={f}")]
    cmd = [*arshif_cli(), "index", str(src), "--format", "jsonl", *maps, "--backend",
           "opensearch", "--url", nodes_url(nodes), "--shards", str(shards),
           "--replicas", str(replicas), "--json", "-q"]
    saved = os.environ.get("ARSHIF_OPENSEARCH_INDEX")
    os.environ["ARSHIF_OPENSEARCH_INDEX"] = ALIAS
    node_cpu = nodes_cpu_s(nodes)
    try:
        m = measure(cmd, work / "opensearch-index.log")
    finally:
        if saved is None:
            os.environ.pop("ARSHIF_OPENSEARCH_INDEX", None)
        else:
            os.environ["ARSHIF_OPENSEARCH_INDEX"] = saved
    if replicas:  # the replicas are copied after the build: until then they cost too
        nodes[0].request("/_cluster/health?wait_for_status=green&timeout=600s", timeout=630)
    node_cpu = round(nodes_cpu_s(nodes) - node_cpu, 1)
    nodes[0].request(f"/{ALIAS}/_flush", "POST")
    stats = nodes[0].request(f"/{ALIAS}/_stats/store,docs,segments")["_all"]["primaries"]
    out = _build_figures(json.loads(m.pop("stdout")), m, stats["store"]["size_in_bytes"])
    out.update(node_cpu_s=node_cpu, docs=stats["docs"]["count"],
               segments=stats["segments"]["count"], shards=shards, replicas=replicas,
               node_rss_after_build_mb=nodes_rss_mb(nodes))
    return out


def _build_figures(summary: dict, m: dict, size_bytes: int) -> dict:
    return {"indexed": summary["indexed"], "duplicates": summary["duplicates"],
            "elapsed_s": round(summary["elapsed"], 2),
            "rate": round(summary["indexed"] / summary["elapsed"], 1),
            "size_bytes": size_bytes,
            "peak_memory_mb": max(m["tree_peak_rss_mb"], m["maxrss_mb"]), **m}


# -- searching ------------------------------------------------------------------------

def run_passes(queries: list[dict], calls: dict, repeats: int, block: int) -> dict:
    """Untimed passes (WARM_PASSES), then ``repeats`` timed passes in blocks,
    the runners in rotating order; per runner the kind, times and hits."""
    blocks = [(lo, min(lo + block, len(queries))) for lo in range(0, len(queries), block)]
    for name in RUNNERS:
        for _ in range(WARM_PASSES[name]):
            for lo, hi in blocks:
                timed(calls[name], queries, lo, hi)
    out = {name: {"kind": [], "ms": [], "cpu_ms": [], "hits": []} for name in RUNNERS}
    for rep in range(repeats):
        for b, (lo, hi) in enumerate(blocks):
            turn = (b + rep) % len(RUNNERS)
            for name in RUNNERS[turn:] + RUNNERS[:turn]:
                got = timed(calls[name], queries, lo, hi)
                rec = out[name]
                rec["kind"] += [q["kind"] for q in queries[lo:hi]]
                for key in ("ms", "cpu_ms", "hits"):
                    rec[key] += got[key]
    return out


def agreement(queries: list[dict], embedded: Arshif, cluster: Cluster) -> dict:
    """How far the two rankings agree, per kind: the share of the embedded
    top 10 that is in the cluster's top 10, and whether the totals match."""
    per: dict = {}
    for q in queries:
        a = [i for i, _, _ in embedded.engine.ranked_ids(embedded.request(q), 10)]
        b = {i for i, _, _ in cluster.engine.ranked_ids(cluster.request(q), 10)}
        ta = embedded.engine.search(embedded.request(q, per_page=1, highlight=False)).total
        tb = cluster.engine.search(cluster.request(q, per_page=1, highlight=False)).total
        rec = per.setdefault(q["kind"], {"n": 0, "top10_shared": 0.0, "same_total": 0})
        rec["n"] += 1
        rec["top10_shared"] += len(b.intersection(a)) / len(a) if a else 1.0
        rec["same_total"] += ta == tb
    for rec in per.values():
        rec["top10_shared"] = round(rec["top10_shared"] / rec["n"], 3)
    return per


def search_both(queries: list[dict], home: Path, nodes: list, args) -> dict:
    embedded = Arshif(str(home))
    cluster = Cluster(nodes_url(nodes), ALIAS)
    calls = {"embedded_ranked": embedded.ranked, "embedded_searchbox": embedded.searchbox,
             "opensearch_ranked": cluster.ranked, "opensearch_searchbox": cluster.searchbox}
    timings = run_passes(queries, calls, args.repeats, args.block)
    s = R.summarize({"timings": timings})
    s["agreement"] = agreement(queries, embedded, cluster)
    s["open_ms"] = {"embedded": embedded.open_ms, "opensearch": cluster.open_ms}
    s["memory_mb"] = {"this_process": round(rss_kb(os.getpid()) / 1024, 1),
                      "node": nodes_rss_mb(nodes)}
    return s


# -- the report -----------------------------------------------------------------------

def _ratio(a, b) -> str:
    r = R.ratio(a, b)
    return "" if r is None else f"{r:.2f}x"


def opensearch_label(params: dict) -> str:
    n = params.get("nodes", 1)
    return f"OpenSearch ({n} node{'s' if n != 1 else ''})"


def build_table(res: dict) -> list[str]:
    e, o = res["build"]["embedded"], res["build"]["opensearch"]
    jobs = res["params"]["embedded_jobs"]
    nodes = res["params"].get("nodes", 1)
    each = " (sum over the nodes)" if nodes > 1 else ""
    heap = res["params"]["heap"] + (" each" if nodes > 1 else "")

    def row(label, a, b, fmt="{:,.0f}", ratio=True):
        return (f"| {label} | {fmt.format(a)} | {fmt.format(b)} | "
                f"{_ratio(b, a) if ratio else ''} |")

    return [
        f"| figure | embedded | {opensearch_label(res['params'])} | OpenSearch / embedded |",
        "|---|---:|---:|---:|",
        row("articles indexed", e["indexed"], o["indexed"], ratio=False),
        row("build time, s", e["elapsed_s"], o["elapsed_s"], "{:,.1f}"),
        row("build rate, articles/s", e["rate"], o["rate"]),
        row(f"CPU of `arshif index`, s (user+sys; embedded `--jobs {jobs}`)",
            e["cpu_s"], o["cpu_s"]),
        f"| CPU of the node during the build, s{each} | - | {o['node_cpu_s']:,.0f} | |",
        row("peak memory of `arshif index`, MB (RSS)", e["peak_memory_mb"],
            o["peak_memory_mb"]),
        f"| node's memory after the build, MB (RSS; heap {heap}){each} | - | "
        f"{o['node_rss_after_build_mb']:,.0f} | |",
        row("index size, MB (OpenSearch: primaries' store, after flush)",
            e["size_bytes"] / 1e6, o["size_bytes"] / 1e6, "{:,.1f}"),
        row("index per article, KB", e["size_bytes"] / e["indexed"] / 1e3,
            o["size_bytes"] / o["indexed"] / 1e3, "{:.2f}"),
        f"| Lucene segments | - | {o['segments']} | |",
    ]


def latency_table(s: dict) -> list[str]:
    lines = ["| query kind | n | ranked p50 / p95 ms, embedded | ranked p50 / p95 ms, OpenSearch | "
             "ranked p95 ratio | search box p50 / p95 ms, embedded | "
             "search box p50 / p95 ms, OpenSearch | search box p95 ratio | "
             "top-10 shared | same total |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    agree = s.get("agreement", {})
    for kind in (*Q.KINDS, "all"):
        if kind not in s["embedded_ranked"]:
            continue
        er, orr = s["embedded_ranked"][kind], s["opensearch_ranked"][kind]
        es, os_ = s["embedded_searchbox"][kind], s["opensearch_searchbox"][kind]
        if kind == "all":
            n = sum(a["n"] for a in agree.values()) or 1
            shared = sum(a["top10_shared"] * a["n"] for a in agree.values()) / n
            same = sum(a["same_total"] for a in agree.values())
        else:
            a = agree.get(kind, {"n": 0, "top10_shared": 0.0, "same_total": 0})
            shared, same, n = a["top10_shared"], a["same_total"], a["n"]
        label = Q.KIND_LABELS.get(kind, "**all kinds**")
        lines.append(
            f"| {label} | {er['n']} | {er['p50']:.1f} / {er['p95']:.1f} | "
            f"{orr['p50']:.1f} / {orr['p95']:.1f} | {_ratio(orr['p95'], er['p95'])} | "
            f"{es['p50']:.1f} / {es['p95']:.1f} | {os_['p50']:.1f} / {os_['p95']:.1f} | "
            f"{_ratio(os_['p95'], es['p95'])} | {shared:.0%} | {same} / {n} |")
    return lines


def markdown(res: dict) -> str:
    m, p = res["machine"], res["params"]
    s = res["search"]
    the_nodes = "the nodes" if p.get("nodes", 1) > 1 else "the node"
    lines = [
        f"# The embedded index and OpenSearch side by side, {res['started_at']}", "",
        (f"`bench/opensearch_bench.py`: {p['size']:,} articles of bench/synth.py's archive "
         f"(seed {p['seed']}), {p['queries']} queries of every kind "
         f"({p['queries'] * len(Q.KINDS)} in all), {p['repeats']} timed passes in blocks of "
         f"{p['block']}. {_nodes_text(p.get('nodes', 1))} of OpenSearch "
         f"{res.get('opensearch_version', '?')} on loopback: heap {p['heap']}"
         f"{' each' if p.get('nodes', 1) > 1 else ''}, node.processors {p['processors']}, "
         f"{p['shards']} primary shard(s), "
         f"{p.get('replicas', 0)} replica(s). Machine: {m['nproc']} cores, {m['cpu']}, "
         f"{m['ram_gb']} GB RAM, "
         f"Python {m['python']}, {m.get('java')}; load at start {m.get('loadavg_at_start')}. "
         f"Code: {m.get('commit')}."), "",
        "## Building", "", *build_table(res), "",
        ("Both builds are one `arshif index` process that reads and analyzes the articles "
         "in Python; the embedded one writes the index itself, the cluster one sends bulk "
         f"batches of 500 to {the_nodes}, which "
         f"{'index' if p.get('nodes', 1) > 1 else 'indexes'} them on the same cores."), "",
        "## Searching", "",
        ("Warm, wall clock, from one Python process: each backend's ranked top 100 "
         "(`ranked_ids`) and its search box (`search`: top 10 stories, snippets, facets, "
         "timeline, \"did you mean\"); the cluster's through HTTP on loopback. The four "
         "runners take turns in "
         "blocks. Ratios are OpenSearch / embedded. \"top-10 shared\": the share of the "
         "embedded top 10 in the cluster's top 10; \"same total\": queries whose match "
         "counts agree."), "",
        *latency_table(s), "",
        (f"Open: embedded {s['open_ms']['embedded']:.0f} ms, OpenSearch "
         f"{s['open_ms']['opensearch']:.0f} ms. Memory after searching: this process "
         f"(the embedded index open, the client) {s['memory_mb']['this_process']:,.0f} MB, "
         f"{the_nodes} {s['memory_mb']['node']:,.0f} MB RSS."), "",
    ]
    return "\n".join(lines)


def _nodes_text(n: int) -> str:
    return "One node" if n == 1 else f"A cluster of {n} nodes"


def write(res: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", "utf-8")
    out.with_suffix(".md").write_text(markdown(res), "utf-8")


# -- main -----------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="58k",
                    help="articles, a multiple of 1,000 (default %(default)s)")
    ap.add_argument("--queries", type=int, default=40,
                    help="headlines sampled; each gives one query of every kind "
                         "(default %(default)s)")
    ap.add_argument("--repeats", type=int, default=2, help="timed passes (default %(default)s)")
    ap.add_argument("--block", type=int, default=50, help="queries per turn (default %(default)s)")
    ap.add_argument("--heap", default="2g",
                    help="the node's JVM heap, -Xms and -Xmx (default %(default)s)")
    ap.add_argument("--shards", type=int, default=1,
                    help="primary shards of the cluster index (default %(default)s)")
    ap.add_argument("--nodes", type=int, default=1,
                    help="OpenSearch nodes on loopback, each with --heap (default %(default)s)")
    ap.add_argument("--replicas", type=int, default=0,
                    help="replicas of each shard, made after the build and awaited "
                         "(default %(default)s)")
    ap.add_argument("--embedded-jobs", type=int, default=1,
                    help="--jobs of the embedded build (default %(default)s: one process, "
                         "as the cluster build)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the work folder is made (default: the system temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (archive, index)")
    ap.add_argument("--shard", type=int, default=synth.SHARD, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=None,
                    help="the JSON result (default bench/results/opensearch.json, "
                         "opensearch-Nnodes.json with --nodes N)")
    ap.add_argument("--report", action="store_true",
                    help="only rewrite the markdown beside --out from its JSON")
    args = ap.parse_args(argv)
    args.size = parse_size(args.size)
    if args.size <= 0 or args.size % args.shard:
        ap.error(f"--size must be a positive multiple of {args.shard}")
    if args.nodes < 1 or args.shards < 1 or args.replicas < 0:
        ap.error("--nodes and --shards must be at least 1, --replicas at least 0")
    if args.replicas >= args.nodes:
        ap.error(f"--replicas {args.replicas} needs more than {args.nodes} node(s): a node "
                 "holds one copy of a shard")
    if args.out is None:
        args.out = OUT if args.nodes == 1 else OUT.with_name(f"opensearch-{args.nodes}nodes.json")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        write(json.loads(args.out.read_text("utf-8")), args.out)
        return 0
    if not shutil.which("java"):
        raise SystemExit("opensearch_bench: no java on PATH (OpenSearch needs Java 17+)")
    parent = args.workdir or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="arshif-osbench-", dir=parent))
    from tests.opensearch_node import VERSION

    res = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": R.machine(), "opensearch_version": VERSION,
           "params": {"size": args.size, "queries": args.queries, "repeats": args.repeats,
                      "block": args.block, "heap": args.heap, "shards": args.shards,
                      "nodes": args.nodes, "replicas": args.replicas,
                      "processors": os.cpu_count() or 2, "embedded_jobs": args.embedded_jobs,
                      "seed": args.seed}}
    nodes: list = []
    try:
        log(f"work folder {work}")
        root = C.check_corpora([C.SAUDI, C.ANT])
        base = synth.read_base([root / C.CORPORA[C.SAUDI], root / C.CORPORA[C.ANT]])
        files = synth.write_archive(base, args.size, work / "archive", args.seed, args.shard)
        queries = [q.as_dict() for q in Q.make_queries(base, args.queries, args.seed)]
        res["base_articles"] = len(base)
        src = synth.link_size(files, args.size, args.shard, work / size_label(args.size))
        log(f"embedded: arshif index --jobs {args.embedded_jobs} ({args.size:,} articles)")
        home = work / "embedded"
        e = build_embedded(src, home, work, args.embedded_jobs)
        log(f"  {e['indexed']:,} in {e['elapsed_s']:.0f} s = {e['rate']:,.0f}/s, "
            f"{e['size_bytes'] / 1e6:,.0f} MB")
        log(f"starting {args.nodes} OpenSearch node(s) (heap {args.heap} each)")
        nodes = start_nodes(args)
        log(f"opensearch: arshif index --backend opensearch ({nodes_url(nodes)})")
        o = build_cluster(src, nodes, work, args.shards, args.replicas)
        log(f"  {o['indexed']:,} in {o['elapsed_s']:.0f} s = {o['rate']:,.0f}/s, "
            f"{o['size_bytes'] / 1e6:,.0f} MB, node CPU {o['node_cpu_s']:.0f} s")
        res["build"] = {"embedded": e, "opensearch": o}
        log(f"searching ({len(queries)} queries x {args.repeats} passes, 4 runners)")
        res["search"] = search_both(queries, home, nodes, args)
    finally:
        for node in nodes:
            node.stop()
        if nodes:
            log("nodes stopped")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    write(res, args.out)
    print(markdown(res), flush=True)
    log(f"done: {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
