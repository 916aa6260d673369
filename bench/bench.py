"""arshif performance bench: indexing, search latency, cold start and HTTP load,
each next to a plain-Whoosh baseline measured in the same run.

    .venv/bin/python bench/bench.py [--corpus saudinewsnet|ant|both] [--queries N]
                                    [--quick] [--out FILE] [--keep]

What it does (see docs/performance.md for the figures and how to read them):

1. Stages the corpora (``<workspace>/shared/corpora``) in a temporary folder,
   holding out ``--queries`` articles (fixed seed) whose headlines become the
   query set: 1 word, 2-4 words, 6+ words, a quoted 2-word phrase, 2-4 words
   with a one-week date range, and 2-4 words sorted by date (newest first).
2. Indexes the staged articles with arshif ``--jobs 1`` and ``--jobs 2`` and
   with the BASELINE (Whoosh defaults: StandardAnalyzer schema, ``ix.writer()``,
   ``commit()``), each in its own process: articles/s, size on disk, peak memory.
3. Runs every query kind in two modes on both indexes: "ranked" (top 100,
   no highlighting or facets: ``Engine.ranked_ids``) and "searchbox" (top 10,
   highlighted snippets, facets: what the search page does).  Warm searcher,
   one untimed pass, then timed passes.  p50/p95/p99 per kind.
4. Cold start: a fresh ``arshif search`` process answering one query.
5. HTTP: ``arshif serve`` (waitress) on a free loopback port, bounded load of
   ``/api/search`` from Python threads (16 threads, 20 s or 4000 requests).
6. Prints the tables (arshif figures as ratios to the baseline: absolute times
   drift on shared machines, ratios much less), writes ``--out`` (JSON) and the
   same tables as markdown beside it (``.md``).

Needs only the project's dependencies and the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import corpus as C  # noqa: E402
from load import Server, get, run_load, search_path  # noqa: E402
from stats import TreeSampler, percentiles  # noqa: E402

SEED = 20240601
MODES = ("ranked", "searchbox")

#: Targets (docs/performance.md).  Rates and sizes are meant at 58.6k articles.
TARGETS = {
    "index_rate_jobs2": 1250.0,  # articles/s, both cores, full rebuild
    "peak_memory_mb": 2048.0,
    "searchbox_p95_ms": 15.0,
    "ranked_p95_ms": 10.0,
    "speedup_vs_baseline": 3.0,
    "web_rps": 200.0,
    "web_p95_ms": 50.0,
    "cold_start_s": 1.0,
}


#: The project's packages, copied into the work folder at the start of a run.
PACKAGES = ("arshif", "indexer", "search", "web")


class BenchError(RuntimeError):
    pass


def snapshot_code(work: Path) -> dict:
    """Copy the project's packages into ``work/code`` and put them first on
    PYTHONPATH for every child process (builds, searches, ``arshif`` commands).

    The core is edited while a long run goes on; without a snapshot the
    ``--jobs 1`` and ``--jobs 2`` builds could run different code.  The hash
    identifies the code measured.
    """
    dest = work / "code"
    digest = hashlib.sha256()
    for pkg in PACKAGES:
        if (REPO / pkg).is_dir():
            shutil.copytree(REPO / pkg, dest / pkg,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in sorted(p for p in dest.rglob("*") if p.is_file()):
        digest.update(f.relative_to(dest).as_posix().encode() + b"\0" + f.read_bytes())
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(dest) + (os.pathsep + old if old else "")
    return {"snapshot": str(dest), "sha256": digest.hexdigest()[:16],
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds")}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the machine ----------------------------------------------------------------

def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    info = {"nproc": os.cpu_count(), "cpu": cpu or platform.processor(),
            "ram_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform()}
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        import whoosh
        info["whoosh"] = whoosh.versionstring()
        import arshif
        info["arshif"] = arshif.__version__
    except ImportError as exc:
        raise SystemExit(f"bench: the project is not importable ({exc}); run it with the "
                         "project's venv: .venv/bin/python bench/bench.py") from None
    return info


# -- child processes -------------------------------------------------------------

def run_worker(command: str, params: dict, work: Path, label: str) -> dict:
    """Run one measurement in a child process; add its memory figures."""
    pfile, rfile, lfile = (work / f"{label}.{ext}" for ext in ("params.json", "result.json", "log"))
    pfile.write_text(json.dumps(params, ensure_ascii=False), "utf-8")
    with open(lfile, "wb") as logfh:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(BENCH / "workers.py"), command, str(pfile),
                                 str(rfile)],
                                stdout=logfh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(work))
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4: this child's own rusage (ru_maxrss of it and its reaped children)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        mem = sampler.stop()
    if proc.returncode != 0:
        tail = lfile.read_text("utf-8", "replace")[-3000:]
        raise BenchError(f"{label} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(rfile.read_text("utf-8"))
    result.update(mem)
    result["process_wall_s"] = round(wall, 2)
    result["wait4_maxrss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["cpu_user_s"] = round(usage.ru_utime, 2)
    result["cpu_sys_s"] = round(usage.ru_stime, 2)
    # peak memory: the largest process (exact) or the sampled sum of the
    # process tree (RSS, so pages shared after fork() count twice): the larger
    result["peak_memory_mb"] = max(result["wait4_maxrss_mb"], result["tree_peak_rss_mb"])
    return result


def arshif_cmd() -> list[str]:
    script = Path(sys.executable).parent / "arshif"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from arshif.cli import main; sys.exit(main())"]


def timed_runs(cmd: list[str], runs: int, ok=(0,)) -> dict:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok:
            raise BenchError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: "
                             f"{proc.stderr.decode('utf-8', 'replace')[-500:]}")
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": runs}


def cold_start(home: Path, queries: list[dict], runs: int) -> dict:
    cmd = arshif_cmd()
    out = {"python_startup": timed_runs([sys.executable, "-c", "pass"], runs),
           "cli_import": timed_runs([*cmd, "--version"], runs)}
    texts = [q["q"] for q in queries if q["kind"] == "words2_4"][:runs]
    times = []
    for text in texts:
        r = timed_runs([*cmd, "search", "--index", str(home), text], 1, ok=(0, 1))
        times.append(r["median_s"])
    out["search"] = {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
                     "max_s": round(max(times), 3), "runs": len(times)}
    return out


def web_available() -> tuple[bool, str]:
    probe = subprocess.run(
        [sys.executable, "-c", "import waitress, web.app, web.commands; web.app.create_app"],
        capture_output=True, text=True)
    if probe.returncode != 0:
        return False, (probe.stderr.strip().splitlines() or ["import failed"])[-1]
    helped = subprocess.run([*arshif_cmd(), "serve", "--help"], capture_output=True, text=True)
    if helped.returncode != 0:
        return False, "`arshif serve` is not available"
    return True, ""


def http_bench(home: Path, queries: list[dict], work: Path, threads: int, duration: float,
               max_requests: int) -> dict:
    ok, why = web_available()
    if not ok:
        log(f"HTTP: skipped, the web app is not importable yet ({why})")
        return {"skipped": why}
    paths = [search_path(q) for q in queries]
    server = Server(arshif_cmd(), str(home), str(work / "serve.log"))
    try:
        ready_s = server.wait_ready()
        status, body = get(server.host, server.port, paths[0])
        if status != 200:
            raise BenchError(f"/api/search answered {status}: {body[:300]!r}")
        # warm every worker's searcher, then the measured runs: the main one
        # with ``threads`` clients, and fewer clients, because with a closed
        # loop of N clients latency is about N / throughput (Little's law).
        warm = run_load(server.host, server.port, paths, threads=threads, duration=10,
                        max_requests=threads * 4)
        levels = []
        for clients in sorted({4, 8, threads}):
            level = run_load(server.host, server.port, paths, threads=clients,
                             duration=duration / 2 if clients != threads else duration,
                             max_requests=max_requests)
            levels.append({k: level[k] for k in ("threads", "requests", "errors", "rps",
                                                  "p50_ms", "p95_ms", "p99_ms")})
            if clients == threads:
                result = level
        result["levels"] = levels
        result["ready_s"] = round(ready_s, 2)
        result["warmup_requests"] = warm["requests"]
        result["server_peak_rss_mb"] = server.peak_rss_mb()
        result["port"] = server.port
    finally:
        code = server.stop()
    result["server_exit"] = code
    return result


# -- summaries -------------------------------------------------------------------

def summarize_latency(lat: dict) -> dict:
    """Percentiles per mode and kind, plus pooled 'plain' and 'all'."""
    out = {}
    for mode, kinds in lat.items():
        out[mode] = {}
        for kind, data in kinds.items():
            out[mode][kind] = percentiles(data["ms"])
            out[mode][kind]["cpu"] = percentiles(data["cpu_ms"])
            if data["total"]:
                out[mode][kind]["hits_mean"] = round(sum(data["total"]) / len(data["total"]), 1)
            out[mode][kind]["zero_hits"] = data["zero"]
            out[mode][kind]["lt3_hits"] = data.get("suggested", 0)
        for pool, members in (("plain", C.PLAIN_KINDS), ("all", tuple(kinds))):
            out[mode][pool] = percentiles(
                [m for k in members if k in kinds for m in kinds[k]["ms"]])
            out[mode][pool]["cpu"] = percentiles(
                [m for k in members if k in kinds for m in kinds[k]["cpu_ms"]])
    return out


def ratio(a, b) -> float | None:
    try:
        return round(a / b, 3) if a is not None and b else None
    except TypeError:
        return None


def evaluate(res: dict) -> list[dict]:
    b = res["builds"]
    a = res["search"]["arshif"]
    base = res["search"]["baseline"]
    rows = []

    def add(name, value, target, cmp, unit, note=""):
        passed = None if value is None else (value >= target if cmp == ">=" else value <= target
                                             if cmp == "<=" else value < target)
        rows.append({"target": name, "value": value, "goal": f"{cmp} {target:g} {unit}".strip(),
                     "pass": passed, "note": note})

    scale = f"at {b['arshif_jobs2']['indexed']:,} articles"
    add("index rate, --jobs 2", b["arshif_jobs2"]["rate"], TARGETS["index_rate_jobs2"], ">=",
        "articles/s", scale)
    peak = max(b["arshif_jobs1"]["peak_memory_mb"], b["arshif_jobs2"]["peak_memory_mb"])
    add("peak memory (build)", peak, TARGETS["peak_memory_mb"], "<", "MB", scale)
    add("search box p95 (all kinds)", a["searchbox"]["all"]["p95"], TARGETS["searchbox_p95_ms"],
        "<=", "ms", scale)
    add("ranked top-100 p95 (plain kinds)", a["ranked"]["plain"]["p95"], TARGETS["ranked_p95_ms"],
        "<=", "ms", scale)
    add("search box p95 speed-up vs baseline",
        ratio(base["searchbox"]["all"]["p95"], a["searchbox"]["all"]["p95"]),
        TARGETS["speedup_vs_baseline"], ">=", "x", "baseline p95 / arshif p95")
    add("ranked p95 speed-up vs baseline",
        ratio(base["ranked"]["plain"]["p95"], a["ranked"]["plain"]["p95"]),
        TARGETS["speedup_vs_baseline"], ">=", "x", "baseline p95 / arshif p95")
    web = res.get("http", {})
    if "rps" in web:
        add("web requests/s", web["rps"], TARGETS["web_rps"], ">=", "req/s",
            f"{web['threads']} client threads, {web['errors']} errors")
        add("web p95", web["p95_ms"], TARGETS["web_p95_ms"], "<=", "ms",
            f"{web['threads']} client threads")
        meeting = [lv for lv in web.get("levels", [])
                   if lv["p95_ms"] <= TARGETS["web_p95_ms"] and not lv["errors"]]
        best = max(meeting, key=lambda lv: lv["rps"], default=None)
        add("web requests/s with p95 <= 50 ms", best["rps"] if best else 0.0,
            TARGETS["web_rps"], ">=", "req/s",
            f"{best['threads']} client threads, p95 {best['p95_ms']:.0f} ms" if best
            else "no client count kept p95 <= 50 ms")
    else:
        rows.append({"target": "web", "value": None, "goal": "", "pass": None,
                     "note": "skipped: " + web.get("skipped", "")})
    add("cold start (arshif search, median)", res["cold_start"]["search"]["median_s"],
        TARGETS["cold_start_s"], "<", "s")
    return rows


def _fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _x(r, lower_is_better=True) -> str:
    """'0.40x (2.5x faster)' style ratio text."""
    if r is None:
        return "-"
    if lower_is_better:
        if not r:
            return "-"
        return f"{r:.2f}x ({1 / r:.1f}x faster)" if r <= 1 else f"{r:.2f}x ({r:.1f}x slower)"
    return f"{r:.2f}x"


def _speed(r) -> str:
    """A throughput ratio (higher is better) as words."""
    if r is None:
        return "-"
    return f"{r:.2f}x ({'faster' if r >= 1 else 'slower'})"


def markdown(res: dict) -> str:
    b = res["builds"]
    base_b = b["baseline"]
    m = res["machine"]
    lines = [
        f"# arshif bench: {res['params']['corpus']}{' (quick)' if res['params']['quick'] else ''}, "
        f"{res['started_at']}",
        "",
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"Whoosh {m.get('whoosh')}; load average at start {m.get('loadavg_at_start')}, "
        f"at end {m.get('loadavg_at_end')} (other work on the machine shifts absolute times).",
        f"Code: snapshot {res.get('code', {}).get('sha256', '-')} taken "
        f"{res.get('code', {}).get('taken_at', '-')}.",
        f"Corpus: {res['corpus']['indexed_articles']:,} articles staged "
        f"({res['corpus']['held_out']} held out for queries, {res['corpus']['queries']} queries).",
        "",
        "## Indexing",
        "",
        "| build | articles | time s | articles/s | vs baseline | size MB | vs baseline | "
        "peak MB | vs baseline | CPU s (user+sys) | articles per CPU-s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (("arshif_jobs1", "arshif --jobs 1"), ("arshif_jobs2", "arshif --jobs 2"),
                       ("baseline", "baseline (Whoosh defaults)")):
        r = b[key]
        rate_x = ratio(r["rate"], base_b["rate"])
        size_x = ratio(r["size_bytes"], base_b["size_bytes"])
        mem_x = ratio(r["peak_memory_mb"], base_b["peak_memory_mb"])
        lines.append(
            f"| {label} | {r['indexed']:,} | {r['elapsed_s']:.1f} | {r['rate']:,.0f} | "
            f"{'-' if key == 'baseline' else _speed(rate_x)} | {r['size_bytes'] / 1e6:.1f} | "
            f"{'-' if key == 'baseline' else f'{size_x:.2f}x'} | {r['peak_memory_mb']:,.0f} | "
            f"{'-' if key == 'baseline' else f'{mem_x:.2f}x'} | "
            f"{r['cpu_user_s'] + r['cpu_sys_s']:.1f} | "
            f"{r['indexed'] / max(r['cpu_user_s'] + r['cpu_sys_s'], 1e-9):,.0f} |")
    ro = b.get("read_only")
    if ro:
        lines += ["", "Reading and parsing alone (project readers + de-duplication, no index): "
                      f"{ro['elapsed_s']:.1f} s ({ro['rate']:,.0f} articles/s); "
                      "both builds include it."]
    lines += ["", "Peak memory = max(largest process's ru_maxrss, sampled sum of the process "
              "tree's RSS). CPU s = user+sys of the build process and its workers (wait4): "
              "less sensitive than wall time to other work on the machine.", "",
              "Latencies in ms, wall clock; arshif and the baseline run interleaved in one "
              f"process, in blocks of {res['params'].get('block', 1)} queries (each engine runs a "
              "block, then the other, alternating), so both see the same machine load. "
              "'CPU time' compares the process CPU time per query instead.", ""]
    for mode, title in (("ranked", "Search latency, ranked top 100 (no highlighting, no facets)"),
                        ("searchbox",
                         "Search latency, search box (top 10, highlighted snippets, facets)")):
        a = res["search"]["arshif"][mode]
        z = res["search"]["baseline"][mode]
        lines += [f"## {title}", "",
                  "| query kind | n | arshif p50 | p95 | p99 | baseline p50 | p95 | p99 | "
                  "arshif p95 / baseline | same, CPU time |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for kind in (*C.KINDS, "plain", "all"):
            if kind not in a:
                continue
            label = {"plain": "**plain kinds pooled**", "all": "**all kinds pooled**"}.get(
                kind, C.KIND_LABELS.get(kind, kind))
            ak, zk = a[kind], z.get(kind, {})
            lines.append(
                f"| {label} | {ak['n']} | {ak['p50']:.1f} | {ak['p95']:.1f} | {ak['p99']:.1f} | "
                f"{_fmt(zk.get('p50'))} | {_fmt(zk.get('p95'))} | {_fmt(zk.get('p99'))} | "
                f"{_x(ratio(ak['p95'], zk.get('p95')))} | "
                f"{_x(ratio(ak['cpu']['p95'], zk.get('cpu', {}).get('p95')))} |")
        lines.append("")
    sa = res["search"]["arshif"]
    lines += [f"In-process: import {sa['import_ms']:.0f} ms, open index {sa['open_ms']:.0f} ms, "
              f"first query {sa['first_query_ms']:.0f} ms (baseline: open "
              f"{res['search']['baseline']['open_ms']:.0f} ms, first query "
              f"{res['search']['baseline']['first_query_ms']:.0f} ms).", ""]
    cs = res["cold_start"]
    lines += ["## Cold start (fresh process)", "", "| command | median s | min s | max s |",
              "|---|---:|---:|---:|",
              *(f"| {label} | {cs[key]['median_s']:.3f} | {cs[key]['min_s']:.3f} "
                f"| {cs[key]['max_s']:.3f} |"
                for label, key in (("python -c pass", "python_startup"),
                                   ("arshif --version (imports)", "cli_import"),
                                   ("arshif search (open + 1 query)", "search"))),
              ""]
    web = res.get("http", {})
    lines += ["## HTTP (/api/search through arshif serve)", ""]
    if "rps" in web:
        lines += ["| client threads | requests | errors | requests/s | p50 ms | p95 ms | p99 ms |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for lv in web.get("levels") or [web]:
            lines.append(f"| {lv['threads']} | {lv['requests']:,} | {lv['errors']} | "
                         f"{lv['rps']:,.1f} | {lv['p50_ms']:.1f} | {lv['p95_ms']:.1f} | "
                         f"{lv['p99_ms']:.1f} |")
        lines += ["", f"Server: `arshif serve` defaults (one worker process per core), peak RSS "
                      f"of all its processes {_fmt(web.get('server_peak_rss_mb'), 0)} MB.", ""]
        if web["errors"]:
            lines += [f"Errors: {web['error_kinds']}", ""]
    else:
        lines += [f"Skipped: {web.get('skipped')}", ""]
    lines += ["## Targets", "", "| target | value | goal | result | note |",
              "|---|---:|---|---|---|"]
    for row in res["targets"]:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[row["pass"]]
        lines.append(f"| {row['target']} | {_fmt(row['value'], 2)} | {row['goal']} | {verdict} "
                     f"| {row['note']} |")
    lines.append("")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("saudinewsnet", "ant", "both"), default="both")
    ap.add_argument("--queries", type=int, default=None,
                    help="held-out articles, each giving one query of every kind "
                         "(default 200; 40 with --quick)")
    ap.add_argument("--quick", action="store_true", help="~3,000 articles: a smoke run (< 2 min)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON results (markdown beside it, .md); "
                         "default bench/results/<corpus>[-quick].json")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work folder (indexes, queries, logs)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="work folder (default: a new temp folder)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed passes over the queries (default 2; 1 quick)")
    ap.add_argument("--block", type=int, default=50,
                    help="queries each engine runs before the other takes over (default 50; "
                         "1 = alternate query by query)")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP load test")
    ap.add_argument("--live-code", action="store_true",
                    help="import the working tree as is (default: a snapshot taken at the start)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [C.SAUDI, C.ANT] if args.corpus == "both" else [
        {"saudinewsnet": C.SAUDI, "ant": C.ANT}[args.corpus]]
    C.check_corpora(names)
    info = machine()
    quick = args.quick
    n_queries = args.queries or (40 if quick else 200)
    cfg = {
        "max_articles": 3000 if quick else None,
        "repeats": args.repeats or (1 if quick else 2),
        "block": max(1, args.block),
        "warm": 5,  # untimed: the first 5 queries of every kind, per mode
        "http_threads": 16,
        "http_duration_s": 5.0 if quick else 20.0,
        "http_max_requests": 500 if quick else 4000,
        "cold_runs": 3 if quick else 5,
    }
    out = args.out or BENCH / "results" / f"{args.corpus}{'-quick' if quick else ''}.json"
    work = args.workdir or Path(tempfile.mkdtemp(prefix="arshif-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    res: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "machine": info,
                 "params": {"corpus": args.corpus, "quick": quick, "queries": n_queries,
                            "seed": SEED, **cfg},
                 "targets_def": TARGETS}
    t_start = time.perf_counter()
    try:
        log(f"work folder {work}")
        if args.live_code:
            res["code"] = {"snapshot": None, "note": "--live-code: the working tree as it changes"}
        else:
            res["code"] = snapshot_code(work)
            log(f"code snapshot {res['code']['sha256']} "
                f"(children import from {res['code']['snapshot']})")
        log(f"staging {args.corpus} (holding out {n_queries} articles, seed {SEED})")
        units, records = C.load_units(C.corpora_root(), names)
        held, keep = C.select(units, n_queries, cfg["max_articles"], SEED)
        sources = C.stage(units, keep, records, work / "corpus")
        del records
        queries = [q.as_dict() for q in C.make_queries(held, SEED)]
        (work / "queries.json").write_text(json.dumps(queries, ensure_ascii=False, indent=1),
                                           "utf-8")
        res["corpus"] = {"names": names, "indexed_articles": len(keep), "held_out": len(held),
                         "queries": len(queries),
                         "per_kind": {k: sum(q["kind"] == k for q in queries) for k in C.KINDS}}
        src = [str(s) for s in sources]
        builds = {}
        log(f"reading only ({len(keep):,} articles)")
        builds["read_only"] = run_worker("read-only", {"sources": src}, work, "read-only")
        for jobs in (1, 2):
            log(f"indexing with arshif --jobs {jobs}")
            builds[f"arshif_jobs{jobs}"] = r = run_worker(
                "build-arshif",
                {"sources": src, "home": str(work / f"arshif-j{jobs}"), "jobs": jobs},
                work, f"build-arshif-j{jobs}")
            log(f"  {r['indexed']:,} articles in {r['elapsed_s']:.1f} s = {r['rate']:,.0f}/s, "
                f"{r['size_bytes'] / 1e6:.1f} MB, peak {r['peak_memory_mb']:,.0f} MB")
        log("indexing with the baseline (Whoosh defaults)")
        builds["baseline"] = r = run_worker("build-baseline",
                                            {"sources": src, "home": str(work / "baseline")},
                                            work, "build-baseline")
        log(f"  {r['indexed']:,} articles in {r['elapsed_s']:.1f} s = {r['rate']:,.0f}/s, "
            f"{r['size_bytes'] / 1e6:.1f} MB, peak {r['peak_memory_mb']:,.0f} MB")
        res["builds"] = builds
        home = work / "arshif-j1"
        common = {"queries": queries, "modes": list(MODES), "plain_kinds": list(C.PLAIN_KINDS),
                  "warm": cfg["warm"]}
        log(f"searching: arshif and baseline interleaved in blocks of {cfg['block']} "
            f"({len(queries)} queries x {len(MODES)} modes x {cfg['repeats']} timed passes)")
        sr = run_worker("search", {**common, "arshif_home": str(home),
                                   "baseline_home": str(work / "baseline"),
                                   "repeats": cfg["repeats"], "block": cfg["block"]},
                        work, "search")
        res["search"] = {e: {**summarize_latency(sr[e].pop("latency")), **sr[e]}
                         for e in ("arshif", "baseline")}
        res["search"]["process"] = {k: v for k, v in sr.items() if k not in ("arshif", "baseline")}
        log("cold start")
        res["cold_start"] = cold_start(home, queries, cfg["cold_runs"])
        if args.no_http:
            res["http"] = {"skipped": "--no-http"}
        else:
            log(f"HTTP load ({cfg['http_threads']} threads, {cfg['http_duration_s']:.0f} s or "
                f"{cfg['http_max_requests']} requests)")
            res["http"] = http_bench(home, queries, work, cfg["http_threads"],
                                     cfg["http_duration_s"], cfg["http_max_requests"])
        res["targets"] = evaluate(res)
        res["bench_seconds"] = round(time.perf_counter() - t_start, 1)
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if args.keep or args.workdir:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    md = markdown(res)
    print()
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
    out.with_suffix(".md").write_text(md, "utf-8")
    log(f"done in {res['bench_seconds']:.0f} s: {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.exit(f"bench: {exc}")
