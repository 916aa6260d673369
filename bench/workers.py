"""Measurements that bench.py runs in child processes (one per measurement).

Usage (bench.py does this): ``python bench/workers.py COMMAND PARAMS.json RESULT.json``

Commands:
  build-arshif     arshif's ``build_index`` (``jobs`` from the params)
  build-baseline   Whoosh defaults: StandardAnalyzer schema, ``ix.writer()``, ``commit()``
  read-only        the project's readers alone (what both builds spend reading)
  compare-indexes  whether two arshif indexes (``--jobs 1`` and ``--jobs 2``) hold the
                   same documents and rank headline queries the same
  search           latencies per query kind, ranked and search-box modes, of arshif's
                   ``Engine`` and of the baseline index (MultifieldParser, OrGroup),
                   the two interleaved in blocks of queries

A child process per measurement keeps builds from sharing memory or caches,
and lets the parent read each child's peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import date, datetime, time as dtime
from pathlib import Path


def _maxrss_mb() -> dict:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"maxrss_self_mb": round(self_kb / 1024, 1),
            "maxrss_children_mb": round(kids_kb / 1024, 1)}


# -- builds ---------------------------------------------------------------------

def build_arshif(p: dict) -> dict:
    from indexer import manifest, store
    from indexer.writer import build_index

    home = Path(p["home"])
    started = time.perf_counter()
    summary = build_index([Path(s) for s in p["sources"]], home, jobs=p["jobs"])
    wall = time.perf_counter() - started
    gen = store.current_dir(home)
    import indexer
    with manifest.open_current(home).reader() as reader:
        segments = len(list(reader.leaf_readers()))
    return {"code": str(Path(indexer.__file__).parent.parent),
        "engine": "arshif", "jobs": p["jobs"], "indexed": summary.indexed,
        "duplicates": summary.duplicates, "files": summary.files,
        "elapsed_s": round(summary.elapsed, 3), "wall_s": round(wall, 3),
        "rate": round(summary.rate, 1), "size_bytes": store.disk_size(gen),
        "segments": segments, **_maxrss_mb(),
    }


def _articles(sources: list[Path]):
    """The articles build_index would index: project readers, same de-duplication."""
    from indexer.article import Reject
    from indexer.readers.archive import iter_files, read_file
    from indexer.schema import content_key

    roots = [s for s in sources if s.is_dir()]
    seen: set[str] = set()
    for item in iter_files(sources):
        if isinstance(item, Reject):
            continue
        for art in read_file(item, "auto", {}, roots).articles:
            key = content_key(art)
            if key in seen:
                continue
            seen.add(key)
            yield art


def baseline_schema():
    from whoosh import fields

    # TEXT's default analyzer is StandardAnalyzer; DATETIME is not sortable by default.
    return fields.Schema(id=fields.ID(stored=True), headline=fields.TEXT(stored=True),
                         body=fields.TEXT(stored=True), date=fields.DATETIME)


def build_baseline(p: dict) -> dict:
    from whoosh import index

    home = Path(p["home"])
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ix = index.create_in(str(home), baseline_schema())
    writer = ix.writer()  # defaults: one process, limitmb=128
    n = 0
    for art in _articles([Path(s) for s in p["sources"]]):
        doc = {"id": art.id, "headline": art.headline, "body": art.body}
        if art.date is not None:
            doc["date"] = art.date
        writer.add_document(**doc)
        n += 1
    writer.commit()
    elapsed = time.perf_counter() - started
    size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    ix.close()
    return {"engine": "baseline", "jobs": 1, "indexed": n, "elapsed_s": round(elapsed, 3),
            "wall_s": round(elapsed, 3), "rate": round(n / elapsed, 1), "size_bytes": size,
            "segments": len(list(home.glob("*.seg"))), **_maxrss_mb()}


def read_only(p: dict) -> dict:
    started = time.perf_counter()
    n = sum(1 for _ in _articles([Path(s) for s in p["sources"]]))
    elapsed = time.perf_counter() - started
    return {"engine": "read-only", "indexed": n, "elapsed_s": round(elapsed, 3),
            "rate": round(n / elapsed, 1), **_maxrss_mb()}


def compare_indexes(p: dict) -> dict:
    """Same documents (id, headline, body, content key) and the same ranked ids
    (``Engine.ranked_ids``, top 100) for ``queries`` headline queries: the first
    2 to 6 words of every k-th article's headline."""
    from indexer import manifest
    from search.engine import Engine

    docs = []
    for home in p["homes"]:
        with manifest.open_current(Path(home)).searcher() as s:
            docs.append({d["id"]: (d["headline"], d["body"], d["content_key"])
                         for d in s.all_stored_fields()})
    one, two = docs
    step = max(1, len(one) // p["queries"])
    headlines = [one[i][0] for i in sorted(one)[::step]][:p["queries"]]
    queries = [" ".join(h.split()[:2 + n % 5]) for n, h in enumerate(headlines)]
    engines = [Engine(Path(home)) for home in p["homes"]]
    same_ids = same_top10 = 0
    max_score_diff = 0.0
    for q in queries:
        a, b = (e.ranked_ids(q) for e in engines)
        same_ids += [x[0] for x in a] == [x[0] for x in b]
        same_top10 += [x[0] for x in a[:10]] == [x[0] for x in b[:10]]
        if len(a) == len(b):
            max_score_diff = max([max_score_diff,
                                  *(abs(x[2] - y[2]) for x, y in zip(a, b, strict=True))])
    return {"docs": [len(d) for d in docs], "same_docs": one == two, "queries": len(queries),
            "same_ranked_ids": same_ids, "same_top10": same_top10,
            "max_score_diff": round(max_score_diff, 6)}


# -- searches -------------------------------------------------------------------

def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _time_passes(engines: dict, queries: list[dict], modes: list[str], warm: int,
                 repeats: int, block: int = 1) -> dict:
    """Latencies per engine, mode and kind, the engines INTERLEAVED in blocks
    of ``block`` queries.

    The machine is shared: a burst of someone else's work slows whatever runs
    at that moment.  Running each block of queries on both engines back to
    back (in alternating order) puts both under the same conditions, so the
    ratios hold even when the absolute times drift.  With ``block=1`` each
    query of one engine directly follows a query of the other, whose work
    evicts the first engine's data from the CPU caches shared by both
    (docs/performance.md); with
    blocks of a few dozen queries each engine runs warm, as a server
    answering only its own queries does, while both still see the same
    minute of the machine.  Wall and CPU time (this process) are both
    recorded; CPU time is less sensitive to other processes.

    The first ``warm`` queries of every kind run untimed first (column readers,
    the analyzer's word cache, Whoosh's lazy structures).
    """
    out: dict = {e: {m: {} for m in modes} for e in engines}
    per_kind: dict = {}
    for q in queries:
        per_kind.setdefault(q["kind"], []).append(q)
    warmup = [q for qs in per_kind.values() for q in qs[:warm]]
    names = list(engines)
    clock, cpu = time.perf_counter, time.process_time
    blocks = [queries[i:i + block] for i in range(0, len(queries), block)]
    for mode in modes:
        for q in warmup:
            for name in names:
                engines[name](mode, q)
        for rep in range(repeats):
            for b, part in enumerate(blocks):
                order = names if (b + rep) % 2 == 0 else names[::-1]
                for name in order:
                    for q in part:
                        t0, c0 = clock(), cpu()
                        info = engines[name](mode, q)
                        ms, cms = (clock() - t0) * 1000, (cpu() - c0) * 1000
                        k = out[name][mode].setdefault(q["kind"], {
                            "ms": [], "cpu_ms": [], "total": [], "zero": 0, "suggested": 0,
                            "partial": 0})
                        k["ms"].append(round(ms, 3))
                        k["cpu_ms"].append(round(cms, 3))
                        if rep == 0:
                            k["total"].append(info.get("total", 0))
                            k["zero"] += not info.get("total")
                            k["suggested"] += bool(info.get("suggested"))
                            k["partial"] += bool(info.get("partial"))
    return out


def arshif_runner(home: str, plain_kinds) -> tuple:
    """(run(mode, query), timings of import/open) for arshif's Engine."""
    t0 = time.perf_counter()
    from search.backend import Request
    from search.engine import Engine
    imported = time.perf_counter()
    engine = Engine(Path(home))
    engine.searcher()
    opened = time.perf_counter()

    def run(mode: str, q: dict) -> dict:
        if mode == "ranked" and q["kind"] in plain_kinds:
            # exactly the batch/eval path: Engine.ranked_ids(text, limit=100)
            hits = engine.ranked_ids(q["q"], 100)
            return {"total": len(hits)}
        ranked = mode == "ranked"
        req = Request(q=q["q"], per_page=100 if ranked else 10, highlight=not ranked,
                      facets=not ranked, sort=q["sort"], date_from=_day(q["date_from"]),
                      date_to=_day(q["date_to"]))
        res = engine.search(req)
        # Engine.search runs the did-you-mean corrector when fewer than 3 hits
        # and no filter: count how often that (costly) path was taken.
        return {"total": res.total, "partial": res.partial,
                "suggested": res.total < 3 and not (q["date_from"] or q["date_to"])}

    return run, {"import_ms": round((imported - t0) * 1000, 1),
                 "open_ms": round((opened - imported) * 1000, 1)}


def baseline_runner(home: str) -> tuple:
    """The same queries on the baseline index: default MultifieldParser with OrGroup."""
    from whoosh import index, qparser, query as wq

    t0 = time.perf_counter()
    ix = index.open_dir(home)
    searcher = ix.searcher()
    parser = qparser.MultifieldParser(["headline", "body"], ix.schema, group=qparser.OrGroup)
    opened = time.perf_counter()

    def run(mode: str, q: dict) -> dict:
        query = parser.parse(q["q"])
        kwargs = {}
        if q["date_from"] or q["date_to"]:
            start = datetime.combine(_day(q["date_from"]), dtime.min) if q["date_from"] else None
            end = datetime.combine(_day(q["date_to"]), dtime.max) if q["date_to"] else None
            kwargs["filter"] = wq.DateRange("date", start, end)
        if q["sort"] == "newest":
            kwargs["sortedby"] = "date"  # not sortable in the default schema: Whoosh copes
            kwargs["reverse"] = True
        if mode == "ranked":
            results = searcher.search(query, limit=100, **kwargs)
            for hit in results:
                hit.fields()  # load the stored fields, as arshif does for its hits
        else:
            # top 10 with Whoosh's default highlighter on headline and body.  The
            # baseline schema has no source/year fields, hence no facets: this
            # makes the baseline's search-box path cheaper than arshif's.
            results = searcher.search(query, limit=10, terms=True, **kwargs)
            for hit in results:
                hit.fields()
                hit.highlights("headline")
                hit.highlights("body")
        # scored_length(), not len(): len() may re-run the query to count every match
        return {"total": results.scored_length()}

    return run, {"open_ms": round((opened - t0) * 1000, 1)}


def search(p: dict) -> dict:
    """Both engines in one process, interleaved in blocks (see _time_passes)."""
    run_a, info_a = arshif_runner(p["arshif_home"], p["plain_kinds"])
    run_b, info_b = baseline_runner(p["baseline_home"])
    first = p["queries"][0]
    for run, info in ((run_a, info_a), (run_b, info_b)):
        t0 = time.perf_counter()
        run("searchbox", first)
        info["first_query_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    lat = _time_passes({"arshif": run_a, "baseline": run_b}, p["queries"], p["modes"],
                       p["warm"], p["repeats"], p.get("block", 1))
    return {"arshif": {**info_a, "latency": lat["arshif"]},
            "baseline": {**info_b, "latency": lat["baseline"]}, **_maxrss_mb()}


COMMANDS = {
    "build-arshif": build_arshif,
    "build-baseline": build_baseline,
    "compare-indexes": compare_indexes,
    "read-only": read_only,
    "search": search,
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    params = json.loads(Path(argv[1]).read_text("utf-8"))
    result = COMMANDS[argv[0]](params)
    Path(argv[2]).write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
