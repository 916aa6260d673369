"""Measurements that bench.py runs in child processes (one per measurement).

Usage (bench.py does this): ``python bench/workers.py COMMAND PARAMS.json RESULT.json``

Commands:
  build-arshif     arshif's ``build_index`` (``jobs`` from the params)
  build-baseline   Whoosh defaults: StandardAnalyzer schema, ``ix.writer()``, ``commit()``
  read-only        the project's readers alone (what both builds spend reading)
  search-arshif    ``Engine.search`` latencies per query kind, ranked and search-box modes
  search-baseline  the same queries on the baseline index (MultifieldParser, OrGroup)

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
    return {"maxrss_self_mb": round(self_kb / 1024, 1), "maxrss_children_mb": round(kids_kb / 1024, 1)}


# -- builds ---------------------------------------------------------------------

def build_arshif(p: dict) -> dict:
    from indexer import store
    from indexer.writer import build_index

    home = Path(p["home"])
    started = time.perf_counter()
    summary = build_index([Path(s) for s in p["sources"]], home, jobs=p["jobs"])
    wall = time.perf_counter() - started
    gen = store.current_dir(home)
    return {
        "engine": "arshif", "jobs": p["jobs"], "indexed": summary.indexed,
        "duplicates": summary.duplicates, "files": summary.files,
        "elapsed_s": round(summary.elapsed, 3), "wall_s": round(wall, 3),
        "rate": round(summary.rate, 1), "size_bytes": store.disk_size(gen),
        "segments": len(list(gen.glob("*.seg"))), **_maxrss_mb(),
    }


def _articles(sources: list[Path]):
    """The articles build_index would index: project readers, same de-duplication."""
    from indexer.readers.archive import iter_files, read_file
    from indexer.article import Reject
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


# -- searches -------------------------------------------------------------------

def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _time_passes(queries: list[dict], modes: list[str], run, warm: int, repeats: int) -> dict:
    """Latencies (ms) per mode and kind: ``warm`` untimed passes, then ``repeats`` timed."""
    out: dict = {m: {} for m in modes}
    for mode in modes:
        for _ in range(warm):
            for q in queries:
                run(mode, q)
        for rep in range(repeats):
            for q in queries:
                t0 = time.perf_counter()
                info = run(mode, q)
                ms = (time.perf_counter() - t0) * 1000
                k = out[mode].setdefault(q["kind"], {"ms": [], "total": [], "zero": 0,
                                                     "suggested": 0, "partial": 0})
                k["ms"].append(round(ms, 3))
                if rep == 0:
                    k["total"].append(info.get("total", 0))
                    k["zero"] += not info.get("total")
                    k["suggested"] += bool(info.get("suggested"))
                    k["partial"] += bool(info.get("partial"))
    return out


def search_arshif(p: dict) -> dict:
    t0 = time.perf_counter()
    from search.engine import Engine, Request
    imported = time.perf_counter()
    engine = Engine(Path(p["home"]))
    engine.searcher()
    opened = time.perf_counter()
    queries = p["queries"]

    def run(mode: str, q: dict) -> dict:
        if mode == "ranked" and q["kind"] in p["plain_kinds"]:
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

    first = queries[0]
    f0 = time.perf_counter()
    run("searchbox", first)
    first_ms = (time.perf_counter() - f0) * 1000
    lat = _time_passes(queries, p["modes"], run, p["warm"], p["repeats"])
    return {"engine": "arshif", "import_ms": round((imported - t0) * 1000, 1),
            "open_ms": round((opened - imported) * 1000, 1), "first_query_ms": round(first_ms, 2),
            "latency": lat, **_maxrss_mb()}


def search_baseline(p: dict) -> dict:
    from whoosh import index, qparser, query as wq

    t0 = time.perf_counter()
    ix = index.open_dir(p["home"])
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
            kwargs["sortedby"] = "date"
            kwargs["reverse"] = True
        if mode == "ranked":
            results = searcher.search(query, limit=100, **kwargs)
            ids = [hit["id"] for hit in results]  # load the stored fields, as arshif does
        else:
            # top 10 with Whoosh's default highlighter on headline and body; the
            # baseline schema has no source/year fields, so no facets (this makes
            # the baseline's search-box path cheaper than arshif's).
            results = searcher.search(query, limit=10, terms=True, **kwargs)
            ids = []
            for hit in results:
                ids.append(hit["id"])
                hit.highlights("headline")
                hit.highlights("body")
        # scored_length(), not len(): len() may re-run the query to count all matches.
        return {"total": results.scored_length()}

    f0 = time.perf_counter()
    run("searchbox", p["queries"][0])
    first_ms = (time.perf_counter() - f0) * 1000
    lat = _time_passes(p["queries"], p["modes"], run, p["warm"], p["repeats"])
    searcher.close()
    return {"engine": "baseline", "open_ms": round((opened - t0) * 1000, 1),
            "first_query_ms": round(first_ms, 2), "latency": lat, **_maxrss_mb()}


COMMANDS = {
    "build-arshif": build_arshif,
    "build-baseline": build_baseline,
    "read-only": read_only,
    "search-arshif": search_arshif,
    "search-baseline": search_baseline,
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
