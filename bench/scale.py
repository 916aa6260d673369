"""Scale bench: arshif beside Lucene from 58k to 1M articles (docs/scale.md).

    .venv/bin/python bench/scale.py [--sizes 58k,234k,468k,1M] [--queries N]
                                    [--workdir DIR] [--keep] [--repeats N] [--block N]
                                    [--build-runs N]

1. Reads the shared corpora (``<workspace>/shared/corpora``) with the
   project's readers and writes a synthetic archive of the largest size asked
   (bench/synth.py: the real articles, then shuffled variants; fixed seed;
   JSONL shards of 1,000 articles).  Each smaller size is a prefix of it.
2. Builds the Lucene harness (bench/lucene, ``mvn -q -B package``): Lucene 9's
   ArabicAnalyzer with BM25, headline and body stored.
3. Per size: ``arshif index --jobs 2`` through the real CLI (wall time, peak
   memory summed over its process tree, size on disk), then Lucene's
   single-threaded build of the same files, the two taking turns
   ``--build-runs`` times (the fastest run of each is compared, the peak
   memory is the highest of any run, every run's time is kept in the JSON);
   then both answer the same queries
   (bench/scale_queries.py: words, phrases, prefixes, dates, source filter,
   newest first) in one process that alternates them in blocks
   (bench/scale_search.py), and that process's memory beyond the mapped index.
4. Prints a table per size (arshif, Lucene, ratio, PASS/FAIL against the
   targets of issue #13) and writes bench/results/scale.{json,md} after
   every size, so an interrupted run keeps the sizes it finished.

The work folder (archive, indexes) is a new folder under ``--workdir``
(default: the system temp folder), deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, so bench/ is on sys.path and its helpers import directly.
import corpus as C
import scale_queries as Q
import scale_report as R
import synth
from stats import TreeSampler

BENCH = Path(__file__).resolve().parent

SEED = 20250113
LUCENE_DIR = BENCH / "lucene"
LUCENE_MAIN = "arshif.bench.LuceneBench"
#: JVM heaps: the build's RAM buffer (256 MB) plus room; serving needs little.
LUCENE_BUILD_HEAP = "-Xmx2g"
LUCENE_SERVE_HEAP = "-Xmx1g"
MAP = ("id", "headline", "body", "date", "source")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_size(text: str) -> int:
    """'58k' -> 58000, '1M' -> 1000000, '2500' -> 2500."""
    text = text.strip()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


# -- tools -----------------------------------------------------------------------

def need_java() -> None:
    """Java and Maven are bench-only requirements: say so plainly."""
    missing = [t for t in ("java", "mvn") if not shutil.which(t)]
    if missing:
        raise SystemExit(f"scale: {' and '.join(missing)} not found; the Lucene side needs "
                         "Java 17+ and Maven (https://maven.apache.org)")


def build_lucene() -> list[str]:
    """Compile the harness (Maven fetches Lucene from Maven Central once);
    return the java classpath arguments."""
    subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "package"], cwd=LUCENE_DIR,
                   check=True)
    cp = os.pathsep.join([str(LUCENE_DIR / "target" / "classes"),
                          str(LUCENE_DIR / "target" / "lib" / "*")])
    return ["-cp", cp, LUCENE_MAIN]


def arshif_cli() -> list[str]:
    script = Path(sys.executable).parent / "arshif"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from arshif.cli import main; sys.exit(main())"]


def measure(cmd: list[str], log_path: Path) -> dict:
    """Run ``cmd``; its stdout, wall time, CPU time (wait4) and the peak of its
    process tree's summed RSS (sampled every 0.2 s, bench/stats.py).

    The files written before (the archive, the previous build) are flushed
    to disk first: their writeback would otherwise land on this command's
    time."""
    os.sync()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        mem = sampler.stop()
    code = os.waitstatus_to_exitcode(status)
    if code:
        tail = log_path.read_text("utf-8", "replace")[-2000:]
        raise RuntimeError(f"{cmd[0]} exited {code}:\n{tail}")
    return {"stdout": out.decode("utf-8", "replace"),
            "process_wall_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "maxrss_mb": round(usage.ru_maxrss / 1024, 1), **mem,
            "loadavg_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- one size --------------------------------------------------------------------

def build_arshif(src: Path, home: Path, work: Path) -> dict:
    maps = [a for f in MAP for a in ("--map", f"{f}={f}")]
    m = measure([*arshif_cli(), "index", str(src), "--format", "jsonl", *maps, "--jobs", "2",
                 "--index", str(home), "--json", "-q"], work / "arshif-index.log")
    summary = json.loads(m.pop("stdout"))
    return {"indexed": summary["indexed"], "duplicates": summary["duplicates"],
            "elapsed_s": round(summary["elapsed"], 2),
            "rate": round(summary["indexed"] / summary["elapsed"], 1),
            "size_bytes": dir_size(home),
            "peak_memory_mb": max(m["tree_peak_rss_mb"], m["maxrss_mb"]),
            **m}


def build_lucene_index(java: list[str], src: Path, index: Path, work: Path) -> dict:
    m = measure(["java", LUCENE_BUILD_HEAP, *java, "index", str(index), str(src)],
                work / "lucene-index.log")
    res = json.loads(m.pop("stdout").strip().splitlines()[-1])
    return {**res, "size_bytes": dir_size(index), "peak_memory_mb": m["tree_peak_rss_mb"], **m}


def search_both(java: list[str], queries: list[dict], home: Path, index: Path, work: Path,
                args) -> dict:
    params = {"queries": queries, "arshif_home": str(home), "lucene_index": str(index),
              "lucene_cmd": ["java", LUCENE_SERVE_HEAP, *java, "serve", str(index),
                             str(work / "queries.tsv")],
              "repeats": args.repeats, "block": args.block}
    pfile, rfile = work / "search.params.json", work / "search.result.json"
    pfile.write_text(json.dumps(params, ensure_ascii=False), "utf-8")
    m = measure([sys.executable, str(BENCH / "scale_search.py"), str(pfile), str(rfile)],
                work / "search.log")
    res = json.loads(rfile.read_text("utf-8"))
    res["process"] = {k: v for k, v in m.items() if k != "stdout"}
    return res


def fastest(runs: list[dict]) -> dict:
    """The fastest of a build's runs, with every run's time, and the highest
    peak memory of any of them (the memory target holds for every run)."""
    best = dict(min(runs, key=lambda r: r["elapsed_s"]))
    best["runs_elapsed_s"] = [r["elapsed_s"] for r in runs]
    best["peak_memory_mb"] = max(r["peak_memory_mb"] for r in runs)
    return best


def build_both(java, src: Path, home: Path, index: Path, work: Path, label: str,
               runs: int) -> tuple[dict, dict]:
    """arshif's and Lucene's builds of ``src``, taking turns ``runs`` times
    (a build replaces the previous one's index): on a shared machine a busy
    minute then slows one run of each, not the ratio."""
    a_runs, lu_runs = [], []
    for run in range(1, runs + 1):
        log(f"{label}: arshif index --jobs 2, run {run} of {runs}")
        shutil.rmtree(home, ignore_errors=True)
        a = build_arshif(src, home, work)
        a_runs.append(a)
        log(f"  {a['indexed']:,} in {a['elapsed_s']:.0f} s = {a['rate']:,.0f}/s, "
            f"{a['size_bytes'] / 1e6:,.0f} MB, peak {a['peak_memory_mb']:,.0f} MB")
        log(f"{label}: Lucene, one thread, run {run} of {runs}")
        shutil.rmtree(index, ignore_errors=True)
        lu = build_lucene_index(java, src, index, work)
        lu_runs.append(lu)
        log(f"  {lu['indexed']:,} in {lu['elapsed_s']:.0f} s = {lu['rate']:,.0f}/s, "
            f"{lu['size_bytes'] / 1e6:,.0f} MB")
    return fastest(a_runs), fastest(lu_runs)


def run_size(n: int, files: list[Path], java, queries, work: Path, args) -> dict:
    label = size_label(n)
    src = synth.link_size(files, n, args.shard, work / "sizes" / label)
    home, index = work / f"arshif-{label}", work / f"lucene-{label}"
    a, lu = build_both(java, src, home, index, work, label, args.build_runs)
    log(f"{label}: searching ({len(queries)} queries x {args.repeats} passes, "
        f"blocks of {args.block})")
    s = search_both(java, queries, home, index, work, args)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
    return {"size": n, "label": label, "arshif_build": a, "lucene_build": lu,
            "search": R.summarize(s)}


# -- main ------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="58k,234k,468k,1M",
                    help="comma-separated article counts, multiples of --shard "
                         "(default %(default)s)")
    ap.add_argument("--queries", type=int, default=50,
                    help="headlines sampled; each gives one query of every kind "
                         "(default %(default)s)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the work folder is made (default: the system temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (archive, indexes)")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes (default %(default)s)")
    ap.add_argument("--block", type=int, default=50, help="queries per turn (default %(default)s)")
    ap.add_argument("--build-runs", type=int, default=2,
                    help="builds of each engine per size, taking turns (default %(default)s)")
    ap.add_argument("--shard", type=int, default=synth.SHARD, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "scale.json")
    ap.add_argument("--report", action="store_true",
                    help="only rewrite the markdown beside --out from its JSON")
    return ap.parse_args(argv)


def prepare(args, work: Path, sizes: list[int]):
    """The archive (largest size), the queries and the Lucene harness."""
    root = C.check_corpora([C.SAUDI, C.ANT])
    log("reading the shared corpora (project readers)")
    base = synth.read_base([root / C.CORPORA[C.SAUDI], root / C.CORPORA[C.ANT]])
    log(f"  {len(base):,} base articles; writing {max(sizes):,} synthetic articles")
    files = synth.write_archive(base, max(sizes), work / "archive", args.seed, args.shard)
    queries = Q.make_queries(base, args.queries, args.seed)
    (work / "queries.tsv").write_text("".join(q.tsv() + "\n" for q in queries), "utf-8")
    log("building the Lucene harness (mvn -q -B package)")
    java = build_lucene()
    return len(base), files, [q.as_dict() for q in queries], java


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        R.write(json.loads(args.out.read_text("utf-8")), args.out)
        return 0
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    bad = [s for s in sizes if s <= 0 or s % args.shard]
    if bad:
        raise SystemExit(f"scale: sizes must be positive multiples of {args.shard}: {bad}")
    need_java()
    parent = args.workdir or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="arshif-scale-", dir=parent))
    res = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": R.machine(), "params": {"sizes": sizes, "queries": args.queries,
                                              "repeats": args.repeats, "block": args.block,
                                              "build_runs": args.build_runs,
                                              "seed": args.seed, "shard": args.shard},
           "targets": R.TARGETS, "sizes": []}
    try:
        log(f"work folder {work}")
        res["base_articles"], files, queries, java = prepare(args, work, sizes)
        res["queries"] = {k: sum(q["kind"] == k for q in queries) for k in Q.KINDS}
        for n in sizes:
            res["sizes"].append(run_size(n, files, java, queries, work, args))
            R.write(res, args.out)
            print(R.size_markdown(res["sizes"][-1]), flush=True)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"done: {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
