"""Summaries, targets and the markdown report of bench/scale.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import scale_queries as Q
from stats import percentiles

#: Issue #13's targets, each arshif / Lucene at the same size (memory: absolute).
TARGETS = {
    "build_peak_memory_mb": 2048.0,  # arshif index --jobs 2, all its processes
    "build_rate_ratio": 0.5,  # arshif --jobs 2 rate / Lucene single-threaded rate, at least
    "disk_ratio": 1.5,  # arshif index size / Lucene's (text stored), at most
    "ranked_p95_ratio": 1.0,  # arshif ranked top-100 p95 / Lucene's, at most
    "searchbox_p95_ratio": 2.0,  # arshif search box p95 / Lucene's ranked p95, at most
}


def machine() -> dict:
    """bench.py's machine facts, plus the Java version and the code measured."""
    from bench import machine as bench_machine

    info = bench_machine()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    info["java"] = (java.stderr.splitlines() or ["?"])[0]
    head = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    info["commit"] = head.stdout.strip()
    return info


def summarize(s: dict) -> dict:
    """Percentiles per runner and query kind (and all kinds pooled)."""
    out = {k: v for k, v in s.items() if k != "timings"}
    for runner, t in s["timings"].items():
        per: dict = {}
        for kind in (*Q.KINDS, "all"):
            idx = [i for i, k in enumerate(t["kind"]) if kind in ("all", k)]
            if not idx:
                continue
            per[kind] = percentiles([t["ms"][i] for i in idx])
            per[kind]["cpu_p95"] = percentiles([t["cpu_ms"][i] for i in idx])["p95"]
            hits = [t["hits"][i] for i in idx]
            per[kind]["hits_mean"] = round(sum(hits) / len(hits), 1)
        out[runner] = per
    return out


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _check(name: str, value, goal: float, at_most: bool, note: str = "") -> dict:
    ok = None if value is None else (value <= goal if at_most else value >= goal)
    return {"target": name, "value": value, "goal": f"{'<=' if at_most else '>='} {goal:g}",
            "pass": ok, "note": note}


def evaluate(size: dict) -> list[dict]:
    """PASS/FAIL rows of one size."""
    a, lu, s = size["arshif_build"], size["lucene_build"], size["search"]
    rows = [
        _check("build peak memory, MB (arshif --jobs 2, all processes)", a["peak_memory_mb"],
               TARGETS["build_peak_memory_mb"], True),
        _check("build rate, arshif / Lucene", ratio(a["rate"], lu["rate"]),
               TARGETS["build_rate_ratio"], False),
        _check("index on disk, arshif / Lucene", ratio(a["size_bytes"], lu["size_bytes"]),
               TARGETS["disk_ratio"], True),
    ]
    for kind in (*Q.KINDS, "all"):
        if kind not in s["lucene"]:
            continue
        label = Q.KIND_LABELS.get(kind, "all kinds")
        base = s["lucene"][kind]["p95"]
        rows.append(_check(f"ranked p95, arshif / Lucene: {label}",
                           ratio(s["ranked"][kind]["p95"], base),
                           TARGETS["ranked_p95_ratio"], True))
        rows.append(_check(f"search box p95 / Lucene ranked p95: {label}",
                           ratio(s["searchbox"][kind]["p95"], base),
                           TARGETS["searchbox_p95_ratio"], True))
    return rows


# -- markdown --------------------------------------------------------------------

def _mb(b: int) -> str:
    return f"{b / 1e6:,.0f}"


def _load(build: dict) -> str:
    """Other work on the 2 cores slows a 2-process build more than a 1-thread one."""
    start_end = build.get("loadavg_1min")
    return " / ".join(f"{x:.1f}" for x in start_end) if start_end else "-"


def run_times(build: dict) -> str:
    return ", ".join(f"{t:,.1f}" for t in build.get("runs_elapsed_s", [build["elapsed_s"]]))


def _verdict(ok) -> str:
    return {True: "PASS", False: "**FAIL**", None: "-"}[ok]


def build_table(size: dict) -> list[str]:
    a, lu = size["arshif_build"], size["lucene_build"]
    rows = [("articles indexed", f"{a['indexed']:,}", f"{lu['indexed']:,}", "", ""),
            ("build time, s", f"{a['elapsed_s']:,.1f}", f"{lu['elapsed_s']:,.1f}",
             f"{ratio(a['elapsed_s'], lu['elapsed_s']):.2f}x", ""),
            ("every run's build time, s (the fastest is compared)", run_times(a),
             run_times(lu), "", ""),
            ("build rate, articles/s", f"{a['rate']:,.0f}", f"{lu['rate']:,.0f}",
             f"{ratio(a['rate'], lu['rate']):.2f}x", ">= 0.5x"),
            ("build CPU, s (user+sys, all processes)", f"{a['cpu_s']:,.0f}", f"{lu['cpu_s']:,.0f}",
             f"{ratio(a['cpu_s'], lu['cpu_s']):.2f}x", ""),
            ("articles per CPU-second", f"{a['indexed'] / a['cpu_s']:,.0f}",
             f"{lu['indexed'] / lu['cpu_s']:,.0f}",
             f"{ratio(a['indexed'] / a['cpu_s'], lu['indexed'] / lu['cpu_s']):.2f}x", ""),
            ("machine load (1-min average) at start / end", _load(a), _load(lu), "", ""),
            ("build peak memory, MB (RSS, all processes)", f"{a['peak_memory_mb']:,.0f}",
             f"{lu['peak_memory_mb']:,.0f}",
             f"{ratio(a['peak_memory_mb'], lu['peak_memory_mb']):.2f}x",
             "arshif <= 2,048 MB"),
            ("index on disk, MB", _mb(a["size_bytes"]), _mb(lu["size_bytes"]),
             f"{ratio(a['size_bytes'], lu['size_bytes']):.2f}x", "<= 1.5x"),
            ("index per article, KB", f"{a['size_bytes'] / a['indexed'] / 1e3:.2f}",
             f"{lu['size_bytes'] / lu['indexed'] / 1e3:.2f}", "", "")]
    return ["| figure | arshif | Lucene | arshif / Lucene | target |", "|---|---:|---:|---:|---|",
            *(f"| {' | '.join(r)} |" for r in rows)]


def latency_table(s: dict) -> list[str]:
    lines = [("| query kind | n | Lucene ranked p50 / p95 ms | arshif ranked p50 / p95 ms | "
              "ranked p95 ratio (<= 1) | arshif search box p50 / p95 ms | "
              "search box p95 / Lucene ranked p95 (<= 2) | mean hits (Lucene / arshif) |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in (*Q.KINDS, "all"):
        if kind not in s["lucene"]:
            continue
        lu, ra, sb = s["lucene"][kind], s["ranked"][kind], s["searchbox"][kind]
        r1, r2 = ratio(ra["p95"], lu["p95"]), ratio(sb["p95"], lu["p95"])
        lines.append(
            f"| {Q.KIND_LABELS.get(kind, '**all kinds**')} | {ra['n']} | "
            f"{lu['p50']:.1f} / {lu['p95']:.1f} | "
            f"{ra['p50']:.1f} / {ra['p95']:.1f} | {r1:.2f}x {_verdict(r1 <= 1)} | "
            f"{sb['p50']:.1f} / {sb['p95']:.1f} | {r2:.2f}x {_verdict(r2 <= 2)} | "
            f"{lu['hits_mean']:,.0f} / {sb['hits_mean']:,.0f} |")
    return lines


def memory_lines(s: dict) -> list[str]:
    out = []
    for name, m in s["memory"].items():
        out.append(f"| {name} | {m['rss_mb']:,.0f} | {m['index_mapped_mb']:,.0f} | "
                   f"{m['beyond_index_mb']:,.0f} |")
    return ["| serving process | RSS MB | of it, index files mapped | beyond the mapped index |",
            "|---|---:|---:|---:|", *out]


def size_markdown(size: dict) -> str:
    s = size["search"]
    rows = evaluate(size)
    passed = sum(r["pass"] is True for r in rows)
    lines = [f"## {size['label']} articles ({size['size']:,})", "",
             f"Targets: {passed} of {len(rows)} met.", "", *build_table(size), "",
             ("Search latency (warm; Lucene's figures are timed inside the JVM, arshif's "
              "in-process; the three runners alternate in blocks of queries):"), "",
             *latency_table(s), "", *memory_lines(s), "",
             (f"Open: arshif {s['arshif_open_ms']:.0f} ms, Lucene {s['lucene_open_ms']:.0f} ms "
              f"({s['lucene_directory']})."), ""]
    return "\n".join(lines)


def growth_table(res: dict) -> list[str]:
    lines = [("| articles | arshif rate /s | Lucene rate /s | rate ratio | arshif peak MB | "
              "arshif MB on disk | Lucene MB | disk ratio | ranked p95 ms arshif / Lucene (all) | "
              "search box p95 ms (all) | serving MB beyond index (arshif / Lucene) | "
              "targets met |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in res["sizes"]:
        a, lu, s = size["arshif_build"], size["lucene_build"], size["search"]
        rows = evaluate(size)
        mem = s["memory"]
        lines.append(
            f"| {size['size']:,} | {a['rate']:,.0f} | {lu['rate']:,.0f} | "
            f"{ratio(a['rate'], lu['rate']):.2f}x | {a['peak_memory_mb']:,.0f} | "
            f"{_mb(a['size_bytes'])} | "
            f"{_mb(lu['size_bytes'])} | {ratio(a['size_bytes'], lu['size_bytes']):.2f}x | "
            f"{s['ranked']['all']['p95']:.1f} / {s['lucene']['all']['p95']:.1f} | "
            f"{s['searchbox']['all']['p95']:.1f} | {mem['arshif']['beyond_index_mb']:,.0f} / "
            f"{mem['lucene']['beyond_index_mb']:,.0f} | "
            f"{sum(r['pass'] is True for r in rows)} / {len(rows)} |")
    return lines


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"# arshif vs Lucene at scale, {res['started_at']}", "",
             (f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, "
              f"Python {m['python']}, {m.get('java')}; load average at start "
              f"{m.get('loadavg_at_start')}. Code: {m.get('commit')}. Base: "
              f"{res.get('base_articles', 0):,} real articles; queries per kind: "
              f"{res.get('queries')}; seed {res['params']['seed']}."), "",
             "## Growth", "", *growth_table(res), ""]
    for size in res["sizes"]:
        lines.append(size_markdown(size))
        lines += ["Targets:", "", "| target | value | goal | result |", "|---|---:|---|---|"]
        lines += [f"| {r['target']} | {r['value']} | {r['goal']} | {_verdict(r['pass'])} |"
                  for r in evaluate(size)]
        lines.append("")
    return "\n".join(lines)


def write(res: dict, out: Path) -> None:
    """JSON (per size: builds, latency summaries, memory, targets) and markdown."""
    for size in res["sizes"]:
        size["targets"] = evaluate(size)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
    out.with_suffix(".md").write_text(markdown(res), "utf-8")
