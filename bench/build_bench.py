"""Index-build bench: arshif ``--jobs 1``, ``--jobs 2`` and the Whoosh-defaults
baseline on the same input, in one run (the machine is shared: only figures
from one run compare).

    .venv/bin/python bench/build_bench.py [--corpus saudinewsnet|ant|both]
        [--files N] [--builds j2,j1,baseline] [--rev REV] [--check-search]

Every build runs in its own process (bench/workers.py), so each figure is
one process tree: wall time, articles/s, CPU seconds (user+sys of the tree,
from ``wait4``), peak memory (the larger of the biggest process's
``ru_maxrss`` and the sampled sum of the tree's RSS) and size on disk.

``--files N`` takes the first N input files of each corpus (SaudiNewsNet
has 18 daily JSON files of ~1,700 articles, ANT 27.5k one-article files), for
quick runs.  ``--rev REV`` adds the ``--jobs 1``/``--jobs 2`` builds of an
older commit (``git archive``), measured in the same run.
``--check-search`` then compares the ``--jobs 1`` and ``--jobs 2`` indexes:
same documents, and the same ``Engine.ranked_ids`` for headline queries.
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
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from bench import log, machine, run_worker, snapshot_code  # noqa: E402
from corpus import ANT, CORPORA, SAUDI, check_corpora  # noqa: E402

#: Build name -> (bench/workers.py command, params without sources and home).
BUILDS = {
    "j1": ("build-arshif", {"jobs": 1}),
    "j2": ("build-arshif", {"jobs": 2}),
    "baseline": ("build-baseline", {}),
}


def stage(root: Path, names: list[str], files: int | None, dest: Path) -> list[Path]:
    """Symlink the (first ``files``) input files of each corpus under ``dest``,
    one source folder per corpus, keeping relative paths (article ids)."""
    sources = []
    for name in names:
        base = root / CORPORA[name]
        if name == SAUDI:
            base = base / "dataset"
            found = sorted(base.glob("*.json"))
        else:
            found = sorted(p for p in base.rglob("*.txt") if p.is_file())
        folder = dest / name
        for path in found[:files]:
            link = folder / path.relative_to(base)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
        sources.append(folder)
    return sources


def export_rev(rev: str, dest: Path) -> Path:
    """The project's packages as of commit ``rev``."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "arshif", "indexer", "search",
                              "web"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def build(name: str, code: Path, sources: list[Path], work: Path, label: str) -> dict:
    command, params = BUILDS[name]
    os.environ["PYTHONPATH"] = str(code)
    home = work / label
    r = run_worker(command, {**params, "sources": [str(s) for s in sources], "home": str(home)},
                   work, label)
    r["home"] = str(home)
    r["cpu_s"] = round(r["cpu_user_s"] + r["cpu_sys_s"], 1)
    r["per_cpu_s"] = round(r["indexed"] / r["cpu_s"], 1) if r["cpu_s"] else 0
    log(f"  {label}: {r['indexed']:,} articles in {r['elapsed_s']:.1f} s = {r['rate']:,.0f}/s, "
        f"CPU {r['cpu_s']:.0f} s, peak {r['peak_memory_mb']:,.0f} MB, "
        f"{r['size_bytes'] / 1e6:.1f} MB, {r.get('segments', '?')} segment(s)")
    return r


def check_search(code: Path, one: str, two: str, queries: int, work: Path) -> dict:
    """Compare two arshif indexes in a child process running ``code``."""
    os.environ["PYTHONPATH"] = str(code)
    r = run_worker("compare-indexes", {"homes": [one, two], "queries": queries}, work, "compare")
    return {k: r[k] for k in ("docs", "same_docs", "queries", "same_ranked_ids", "same_top10",
                              "max_score_diff")}


def markdown(res: dict) -> str:
    lines = [
        f"Corpus {res['corpus']} ({res['files'] or 'all'} files per corpus), "
        f"load average {res['machine']['loadavg_at_start']} at start, "
        f"{res['machine']['loadavg_at_end']} at end; code {res['code']['sha256']}",
        "",
        "| build | articles | wall s | articles/s | CPU s | articles per CPU-s | peak MB | size MB "
        "| segments |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in res["builds"].items():
        lines.append(
            f"| {label} | {r['indexed']:,} | {r['elapsed_s']:.1f} | {r['rate']:,.0f} "
            f"| {r['cpu_s']:.0f} | {r['per_cpu_s']:,.0f} | {r['peak_memory_mb']:,.0f} "
            f"| {r['size_bytes'] / 1e6:.1f} | {r.get('segments', '')} |")
    if "search_check" in res:
        lines += ["", f"search check (j1 vs j2): {json.dumps(res['search_check'])}"]
    return "\n".join(lines)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("saudinewsnet", "ant", "both"), default="saudinewsnet")
    ap.add_argument("--files", type=int, default=None, help="first N input files of each corpus")
    ap.add_argument("--builds", default="j2,j1,baseline",
                    help=f"comma-separated, run in this order; of {', '.join(BUILDS)}")
    ap.add_argument("--rev", default=None, help="also build j1 and j2 with the code of this commit")
    ap.add_argument("--check-search", type=int, default=0, metavar="N",
                    help="compare the j1 and j2 indexes with N headline queries")
    ap.add_argument("--out", type=Path, default=None, help="JSON results (markdown beside it)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    by_name = {"saudinewsnet": SAUDI, "ant": ANT}
    names = [SAUDI, ANT] if args.corpus == "both" else [by_name[args.corpus]]
    root = check_corpora(names)
    work = Path(tempfile.mkdtemp(prefix="arshif-build-bench-"))
    res = {"corpus": args.corpus, "files": args.files, "machine": machine(), "builds": {}}
    try:
        res["code"] = snapshot_code(work)
        code = Path(res["code"]["snapshot"])
        sources = stage(root, names, args.files, work / "corpus")
        log(f"work folder {work}, code {res['code']['sha256']}")
        runs = [(name, code, name) for name in args.builds.split(",")]
        if args.rev:
            old = export_rev(args.rev, work / "code-rev")
            runs += [(name, old, f"{name}@{args.rev}") for name in ("j2", "j1")]
        for name, tree, label in runs:
            log(f"building {label}")
            res["builds"][label] = build(name, tree, sources, work, label)
        if args.check_search:
            log("comparing the j1 and j2 indexes")
            res["search_check"] = check_search(code, res["builds"]["j1"]["home"],
                                               res["builds"]["j2"]["home"], args.check_search, work)
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    md = markdown(res)
    print(md)
    if args.out:
        args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
        args.out.with_suffix(".md").write_text(md + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    log(f"done in {time.perf_counter() - started:.0f} s")
    sys.exit(code)
