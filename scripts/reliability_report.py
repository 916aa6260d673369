"""Rerun the reliability scenarios and print their figures as Markdown.

    .venv/bin/python scripts/reliability_report.py            # everything (~3 min)
    .venv/bin/python scripts/reliability_report.py --quick    # smaller query-cost index (~1 min)

It runs the very scenario functions the tests assert on (tests/test_bad_input.py,
tests/test_reliability.py, tests/test_hostile.py) and prints what they measured:
the bad-input outcomes table, requests sent/failed while rebuilding under load,
every kill point, two builders, full and read-only disks, query costs with
and without the expansion cap, and serving (tests/test_serving.py): 500 idle,
slow and keep-alive connections, request bodies, kill -9 of the parent and of
workers, workers that cannot start.  docs/reliability.md quotes one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pytest  # noqa: E402  (the scenarios use its MonkeyPatch and skip)
from click.testing import CliRunner  # noqa: E402

import test_bad_input as bad  # noqa: E402
import test_hostile as hostile  # noqa: E402
import test_reliability as rel  # noqa: E402
import test_serving as srv  # noqa: E402
from arshif.cli import main  # noqa: E402
from indexer import store  # noqa: E402
from indexer.writer import build_index  # noqa: E402
from search import matching  # noqa: E402
from search.backend import Request  # noqa: E402
from search.engine import Engine  # noqa: E402


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (str(c).replace("|", "\\|").replace("\n", " ") for c in row)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def section_bad_input(tmp: Path) -> str:
    outcome = bad.index_bad_archive(bad.write_archive(tmp / "archive"), tmp / "index",
                                    tmp / "rejects.jsonl")
    rows = []
    for case in bad.CASES:
        if case.name.startswith("good_") and case.name != "good_1":
            continue
        arts = outcome.articles(case)
        ents = [e for e in outcome.entries(case) if e["kind"] != "date"]
        dates = outcome.entries(case, "date")
        if arts and ents:
            reasons = sorted({e['reason'][:70] for e in ents})
            got = f"{len(arts)} indexed; reported: " + "; ".join(reasons)
        elif arts:
            got = f"{len(arts)} indexed"
            if dates:
                got += f" (date reported: {dates[0]['reason'][:40]})"
        elif ents:
            got = "rejected: " + "; ".join(sorted({e["reason"][:70] for e in ents}))
        else:
            got = "not read (hidden file, by design)"
        name = "good (×5)" if case.name == "good_1" else case.name
        rows.append([name, case.what, got])
    s = outcome.summary
    counts = (f"files {s['files']} = {s['files'] - s['files_rejected']} with articles + "
              f"{s['files_rejected']} rejected; articles indexed {s['indexed']} "
              f"({s['embedded']} embedded), duplicates {s['duplicates']}, "
              f"records rejected in good files {s['records_rejected']}, "
              f"dates missing {s['dates_missing']}; report lines {len(outcome.report)}; "
              f"build {outcome.seconds:.1f} s")
    return (f"### Bad input: {len(bad.CASES)} kinds in one archive\n\n"
            f"`arshif index ARCHIVE --rejects FILE --json`: {counts}.\n\n"
            + table(["kind", "input", "outcome"], rows))


def section_load(tmp: Path) -> str:
    f = rel.rebuild_under_load(tmp, clients=50, rebuilds=3, articles=400)
    return ("### Rebuild under load\n\n"
            + table(["clients", "rebuilds", "seconds", "requests sent", "failed", "max latency",
                     "generations served", "new word found after each swap", "build seconds",
                     "/healthz label regressions"],
                    [[f.clients, f.rebuilds, f.seconds, f.sent, f.failed,
                      f"{f.max_latency_s:.2f} s", " → ".join(f.generations),
                      f.new_word_found_after_swap, f.build_seconds, f.generation_regressions]]))


def section_kills(tmp: Path) -> str:
    rows = []
    for f in rel.kill_during_build(tmp / "serial", rel.KILL_POINTS, articles=1500):
        rows.append([f.point, f"`{f.hook}`", f.exit_code, ", ".join(f.left_behind) or "-",
                     f.old_index_intact, f.served_meanwhile, f.next_build_ok, f.cleaned])
    for f in rel.kill_during_build(tmp / "jobs", rel.JOBS_KILL_POINTS, articles=1500,
                                   jobs=2, server=False):
        rows.append([f.point, f"`{f.hook}`", f.exit_code, ", ".join(f.left_behind) or "-",
                     f.old_index_intact, "(no server)", f.next_build_ok, f.cleaned])
    bb = rel.black_box_kill(tmp / "blackbox")
    rows.append([f"black box: kill -9 while writing its progress bar ({bb['progress_line']})",
                 "none",
                 bb["exit_code"], ", ".join(bb["left_behind"]), bb["old_index_intact"], "-",
                 bb["next_build_ok"], bb["cleaned"]])
    return ("### kill -9 during `arshif index`\n\n"
            + table(["where the build was", "hook", "exit", "left behind", "old index intact",
                     "served meanwhile", "next build ok", "cleaned up"], rows))


def section_two_builders(tmp: Path) -> str:
    r = rel.two_builders(tmp)
    return ("### Two builders at once\n\n"
            + table(["second: exit", "second: message", "second: seconds", "first: exit",
                     "live during", "live after", "leftovers"],
                    [[r["second_exit_code"], r["second_message"], r["second_seconds"],
                      r["first_exit_code"], r["live_during"], r["live_after"],
                      r["leftovers"] or "-"]]))


def section_disks(tmp: Path) -> str:
    rows = []
    for n, (where, patch) in enumerate({**rel.DISK_FULL, **rel.READ_ONLY}.items()):
        case = tmp / f"case{n}"
        home = case / "index"
        rel.write_archive(case / "v0", 10, "v0")
        build_index([case / "v0"], home)
        rel.write_archive(case / "v1", 60, "v1", paragraphs=6)
        before = store.current_name(home)
        with pytest.MonkeyPatch.context() as mp:
            patch(mp)
            result = CliRunner().invoke(main, ["index", str(case / "v1"), "--index", str(home),
                                               "-q"])
        rows.append([where, result.exit_code, result.output.strip(),
                     "Traceback" in result.output, store.current_name(home) == before,
                     rel.leftovers(home) or "-"])
    out = ("### Disk full and read-only (simulated)\n\n"
           + table(["failure", "exit", "message", "traceback", "old index live", "leftovers"],
                   rows))
    try:
        r = rel.real_disk_full(tmp / "tmpfs")
    except pytest.skip.Exception as exc:
        return out + f"\n\nReal tmpfs: skipped ({exc})."
    return out + ("\n\n### Disk full and read-only (real 1 MB tmpfs)\n\n"
                  + table(["case", "result"], [[k, v] for k, v in r.items()]))


def section_query_cost(tmp: Path, quick: bool) -> str:
    docs, words = (500, 60) if quick else (3000, 100)
    build_index([hostile.write_vocabulary(tmp / "archive", docs, words)], tmp / "index")
    engine = Engine(tmp / "index")
    engine.search(Request(q="وثيقة"))
    vocab = sum(1 for _ in engine.searcher().reader().lexicon("body"))
    rows = []
    for q in hostile.EXPENSIVE:
        row = [f"`{q}`"]
        for capped in (False, True):
            with pytest.MonkeyPatch.context() as mp:
                if not capped:
                    mp.setattr(matching, "MAX_EXPANSIONS", 10**9)
                    mp.setattr(matching, "MAX_SCANNED_TERMS", 10**9)
                fresh = Engine(tmp / "index")  # no cached postings from the last query
                fresh.search(Request(q="وثيقة"))  # opened before the clock starts
                started = time.perf_counter()
                result = fresh.search(Request(q=q))
                row += [f"{time.perf_counter() - started:.2f} s", result.total]
        rows.append(row)
    return (f"### Query cost ({docs} documents, {vocab:,} body terms)\n\n"
            + table(["query", "uncapped: time", "hits", "capped: time", "hits"], rows))


def section_serving(tmp: Path) -> str:
    home = tmp / "index"
    build_index([rel.write_archive(tmp / "archive", 30, "serving")], home)
    rows = []
    for workers in (1, 2):
        with rel.serving(home, threads=2, workers=workers) as server:
            f = srv.hold_connections(server)
        rows.append([workers, f.idle, f.slow, f.keepalive, f.accepted,
                     f"{f.answered}/{f.probes}", f"{f.max_latency_s:.3f} s",
                     f"{sorted(f.latencies_s)[len(f.latencies_s) // 2]:.3f} s"])
    out = ("### Connections held open, then ordinary searches\n\n"
           + table(["workers", "idle", "slowloris", "keep-alive", "accepted by the workers",
                    "searches answered", "slowest", "median"], rows))
    (tmp / "tmp").mkdir()
    with rel.serving(home, threads=2, workers=2, env={"TMPDIR": str(tmp / "tmp")}) as server:
        r = srv.refused_bodies(server, tmp / "tmp")
    rows = [[what, status] for what, status in r["answers"].items()]
    rows.append(["3 unfinished 900 MB POSTs at once", "; ".join(sorted(set(r["unfinished"])))])
    rows.append(["POST without a body", f"{r['empty_post']} (Allow: {r['empty_post_allow']})"])
    out += ("\n\n### Request bodies\n\n" + table(["request", "answer"], rows)
            + f"\n\nBytes in the server's temporary folder afterwards: {r['temp_bytes']}.")
    k = srv.kill_parent(home)
    w = srv.kill_workers_repeatedly(home)
    c = srv.workers_killed_at_start(home)
    rows = [
        ["kill -9 of the parent", f"workers ended: {k['workers_ended']} (after "
         f"{k['workers_ended_after_s']} s); a new serve on the same port answers: "
         f"{k['restart_on_same_port_answers']}"],
        [f"{w['rounds']} rounds: kill one worker, or both, once each has served",
         f"{w['killed']} workers killed, {w['restarts_logged']} replaced; searches answered "
         f"after each kill {w['answered_after_kill']}/{w['rounds']} "
         f"(in {min(w['answer_after_kill_s'])}–{max(w['answer_after_kill_s'])} s, the "
         f"back-off included); still serving: {w['still_running']}"],
        ["every worker killed at its start", f"exit {c['exit_code']} after {c['seconds']} s, "
         f"{c['failed_starts']} failed starts: `{c['message']}`"],
    ]
    return out + "\n\n### Supervision\n\n" + table(["case", "outcome"], rows)


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller query-cost index")
    parser.add_argument("--only", choices=["bad", "load", "kills", "two", "disks", "cost",
                                           "serve"],
                        action="append")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"_Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.platform()}, Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs._\n")
    sections = {"bad": section_bad_input, "load": section_load, "kills": section_kills,
                "two": section_two_builders, "disks": section_disks,
                "cost": lambda t: section_query_cost(t, args.quick), "serve": section_serving}
    for name, fn in sections.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix=f"arshif-{name}-") as tmp:
            print(fn(Path(tmp)) + "\n", flush=True)
    print(f"_Total {time.perf_counter() - started:.0f} s._")


if __name__ == "__main__":
    main_()
