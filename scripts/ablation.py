#!/usr/bin/env python3
"""Retrieval-quality ablation: regenerates docs/quality.md.

Every row changes ONE choice of the default configuration (analyzer,
schema views, field weights, BM25, grouping) and measures
MRR@10 / nDCG@10 / Recall@100 through exactly the search-box path
(``Engine.ranked_ids``, top 100, scored by ``search.evaluate`` / ir_measures) on:

- arcd: ``shared/eval/arcd`` (460 Wikipedia paragraphs, 1,395 native questions);
- news known-item ("ki"): headlines of 400 articles as queries against an
  index of the BODIES ONLY of 4,000 articles (half ANT, half SaudiNewsNet,
  sampled deterministically from ``shared/corpora``; the sample is written to
  the work folder, never to the repository).

Usage::

    .venv/bin/python scripts/ablation.py                 # both sets, writes docs/quality.md
    .venv/bin/python scripts/ablation.py --sets arcd     # arcd only (a few minutes)
    .venv/bin/python scripts/ablation.py --work /tmp/abl # keep indexes and the sample

Indexes are built in-process with ``indexer.writer.build_index`` and the same
JSONL mapping as ``arshif index --format jsonl --map id=id --map headline=title
--map body=text``.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.normalize import RULES  # noqa: E402
from indexer.readers.archive import iter_files, read_file  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402
from indexer.writer import build_index  # noqa: E402
from search import evaluate  # noqa: E402
from search.engine import Engine  # noqa: E402
from search.settings import SearchSettings  # noqa: E402

SHARED = ROOT.parent / "shared"
MAPPING = {"id": "id", "headline": "title", "body": "text"}
LABELS = [label for label, _ in evaluate.MEASURES]

#: Defaults, read from the code so the table describes what ships.
DEFAULT_BOOSTS = dict(SearchSettings().field_boosts)


# -- the news known-item set ---------------------------------------------------------
def _key(text: str) -> str:
    return " ".join(text.split())


def build_known_item(shared: Path, out: Path, n_docs: int = 4000, n_queries: int = 400) -> Path:
    """Sample the known-item set into ``out`` (corpus.jsonl, queries.tsv, qrels.tsv)."""
    if (out / "qrels.tsv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    pools = []
    for corpus in ("ant-multisource", "saudinewsnet"):
        arts = []
        for item in iter_files([shared / "corpora" / corpus]):
            if not isinstance(item, Path):
                continue
            for a in read_file(item).articles:
                if len(a.headline.split()) >= 3 and len(a.body.split()) >= 50:
                    uid = "k" + hashlib.sha1(f"{item.name}/{a.id}".encode()).hexdigest()[:15]
                    arts.append((uid, a.headline, a.body))
        # Known-item needs one right answer: drop repeated headlines and bodies.
        heads = collections.Counter(_key(h) for _, h, _ in arts)
        bodies = collections.Counter(_key(b)[:300] for _, _, b in arts)
        arts = [a for a in arts if heads[_key(a[1])] == 1 and bodies[_key(a[2])[:300]] == 1]
        arts.sort(key=lambda a: hashlib.sha1(a[0].encode()).hexdigest())
        pools.append(arts[: n_docs // 2])
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as corpus, \
            open(out / "queries.tsv", "w", encoding="utf-8") as queries, \
            open(out / "qrels.tsv", "w", encoding="utf-8") as qrels:
        for pool in pools:
            for i, (uid, headline, body) in enumerate(pool):
                # Bodies only: an empty title, so the headline cannot match itself.
                record = {"id": uid, "title": "", "text": body}
                corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
                if i < n_queries // 2:
                    queries.write(f"q{uid}\t{_key(headline)}\n")
                    qrels.write(f"q{uid}\t{uid}\t1\n")
    return out


# -- configurations ----------------------------------------------------------------------
@dataclass
class Config:
    """One row: the index-time and search-time settings it is measured with."""

    name: str
    group: str
    index: IndexSettings = field(default_factory=IndexSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    chosen: bool = False

    def index_key(self) -> str:
        return self.index.fingerprint()[:12]


def analysis(**changes) -> IndexSettings:
    return IndexSettings(analyzer=changes)


def boosts(**changes) -> dict:
    out = dict(DEFAULT_BOOSTS)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def configs() -> list[Config]:
    without = lambda rule: tuple(r for r in RULES if r != rule)  # noqa: E731
    views = IndexSettings().views
    rows = [
        Config("default (all choices below marked *)", "default", chosen=True),
        Config("starting point: light10, no word lists, headline 2.0, BM25 1.2/0.75, "
               "no views", "reference",
               IndexSettings(analyzer=dict(protect=False, proclitics=False, query_clitics=""),
                             views={}, headline_in_body=False),
               SearchSettings(field_boosts={"headline": 2.0, "body": 1.0, "keywords": 1.0},
                              k1=1.2, b=0.75)),
        # stemming
        Config("no stemming (exact forms only)", "stemming", analysis(stemmer="none")),
        Config("skeleton stemmer as the main stemmer", "stemming", analysis(stemmer="skeleton")),
        Config("light10 without the word lists", "stemming",
               analysis(protect=False, proclitics=False)),
        Config("light10 + protected و list only", "stemming", analysis(proclitics=False)),
        Config("light10 + proclitic ب ل ك ف list only", "stemming", analysis(protect=False)),
        # stopwords
        Config("no stopwords", "stopwords", analysis(stopwords=False)),
        Config("no query-only question words", "stopwords", analysis(query_stopwords=False)),
        Config("question words without proclitic forms", "stopwords", analysis(query_clitics="")),
    ]
    rows += [Config(f"normalization without '{rule}'", "normalization",
                    analysis(rules=without(rule))) for rule in RULES]
    rows += [
        # fields and views
        Config("headline boost 0 (headline only inside body)", "fields",
               search=SearchSettings(field_boosts=boosts(headline=0.0))),
        *(Config(f"headline boost {w}", "fields",
                 search=SearchSettings(field_boosts=boosts(headline=w))) for w in (0.5, 1.0, 2.0)),
        Config("headline not indexed inside body", "fields",
               IndexSettings(headline_in_body=False)),
        Config("no exact view", "fields",
               IndexSettings(views={k: v for k, v in views.items() if k != "body_exact"}),
               SearchSettings(field_boosts=boosts(body_exact=None))),
        Config("no skeleton view", "fields",
               IndexSettings(views={k: v for k, v in views.items() if k != "body_skel"}),
               SearchSettings(field_boosts=boosts(body_skel=None))),
        Config("no extra views (stemmed fields only)", "fields", IndexSettings(views={}),
               SearchSettings(field_boosts=boosts(body_exact=None, body_skel=None))),
        Config("exact view weight 0.6", "fields",
               search=SearchSettings(field_boosts=boosts(body_exact=0.6))),
        Config("skeleton view weight 0.6", "fields",
               search=SearchSettings(field_boosts=boosts(body_skel=0.6))),
        # BM25
        Config("BM25 k1=1.2 b=0.75 (Lucene's)", "bm25", search=SearchSettings(k1=1.2, b=0.75)),
        Config("BM25 k1=0.9 b=1.0", "bm25", search=SearchSettings(k1=0.9, b=1.0)),
        Config("BM25 k1=0.5 b=0.75", "bm25", search=SearchSettings(k1=0.5, b=0.75)),
        Config("BM25 k1=0.3 b=1.0", "bm25", search=SearchSettings(k1=0.3, b=1.0)),
        # grouping
        Config("AND of the words", "grouping", search=SearchSettings(conjunctive=True)),
    ]
    return rows


# -- building and running ---------------------------------------------------------------------
@dataclass
class Dataset:
    name: str
    folder: Path
    queries: dict
    qrels: dict


def load(name: str, folder: Path) -> Dataset:
    return Dataset(name, folder, evaluate.read_queries(folder / "queries.tsv"),
                   evaluate.read_qrels(folder / "qrels.tsv"))


def index_for(cfg: Config, data: Dataset, work: Path, costs: dict) -> Path:
    home = work / f"ix-{data.name}-{cfg.index_key()}"
    if not (home / "CURRENT").exists():
        shutil.rmtree(home, ignore_errors=True)
        started = time.perf_counter()
        build_index([data.folder / "corpus.jsonl"], home, fmt="jsonl", mapping=MAPPING,
                    settings=cfg.index)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        costs[home.name] = {"seconds": seconds, "mb": size / 1e6}
    return home


def run(cfg: Config, data: Dataset, work: Path, costs: dict) -> dict:
    home = index_for(cfg, data, work, costs)
    engine = Engine(home, cfg.search)
    report, _ = evaluate.evaluate(engine.ranked_ids, data.queries, data.qrels)
    return {"metrics": report.metrics, "queries": report.queries, "ms": report.ms_per_query,
            "index": home.name}


# -- the report ---------------------------------------------------------------------------------
def _fmt_row(cfg: Config, results: dict, sets: list[str], base: dict) -> str:
    cells = [("**" + cfg.name + "**") if cfg.group == "default" else cfg.name]
    for s in sets:
        m = results[s]["metrics"]
        for label in LABELS:
            value = f"{m[label]:.3f}"
            if cfg.group != "default":
                delta = m[label] - base[s]["metrics"][label]
                value += f" ({delta:+.3f})" if abs(delta) >= 0.0005 else " (=)"
            cells.append(value)
    return "| " + " | ".join(cells) + " |"


CHOSEN = {
    "stemming": "light10 + both word lists (protected و, proclitics ب ل ك ف)",
    "stopwords": "short function-word list (indexer/data/stopwords.txt); question words, "
                 "also behind a proclitic (بماذا، لمن), dropped from queries only",
    "normalization": "all 11 rules",
    "fields": "headline 0.75, and the headline also indexed as the first line of body; "
              "body_exact view 0.3; body_skel view 0.3 (plain queries of 2+ words)",
    "bm25": "k1=0.5, b=1.0",
    "grouping": "OR of the words (Whoosh OrGroup)",
}


def write_report(path: Path, rows, results, sets, costs, meta) -> None:
    base = results[rows[0].name]
    head = ["choice"]
    for s in sets:
        head += [f"{s} {label}" for label in LABELS]
    lines = [
        "# Retrieval quality",
        "",
        "Generated by `scripts/ablation.py` (do not edit by hand: rerun it). "
        f"{meta['date']}, {meta['seconds']:.0f} s.",
        "",
        "Every query runs through exactly the search box (`Engine.ranked_ids`, top 100) and is",
        "scored with ir_measures (RR@10, nDCG@10, R@100), as `arshif eval` does.",
        "",
        "- **arcd**: `shared/eval/arcd`, 460 Arabic Wikipedia paragraphs (title + text), "
        f"{meta['arcd_queries']} native questions, one relevant paragraph each. "
        "Reference: Lucene ArabicAnalyzer + BM25: MRR@10 0.797, nDCG@10 0.836, R@100 0.982. "
        "Bar: MRR@10 >= 0.827 with R@100 >= 0.982.",
    ]
    if "ki" in sets:
        lines.append(
            f"- **ki** (news known-item, held out from tuning decisions made on arcd alone): "
            f"the headlines of {meta['ki_queries']} articles as queries against the bodies only "
            f"of {meta['ki_docs']} articles (half ANT, half SaudiNewsNet, from `shared/corpora`).")
    lines += [
        "",
        "Each row changes one choice of the default; figures in brackets are the change from",
        "the default row. A choice was kept only when it helped both sets (or helped one and",
        "was neutral on the other).",
        "",
        "## Chosen defaults",
        "",
    ]
    lines += [f"- {group}: {text}" for group, text in CHOSEN.items()]
    lines += ["", "## Ablation", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    group = None
    for cfg in rows:
        if cfg.group != group:
            group = cfg.group
            if group not in ("default", "reference"):
                lines.append("| *" + group + "* |" + " |" * (len(head) - 1))
        lines.append(_fmt_row(cfg, results[cfg.name], sets, base))
    lines += ["", "## Costs", ""]
    lines += ["| index | build s | size MB | search ms/query |", "|---|---|---|---|"]
    for cfg in rows[:2]:
        for s in sets:
            r = results[cfg.name][s]
            c = costs.get(r["index"], {})
            lines.append(f"| {s}, {cfg.name.split(':')[0]} "
                         f"| {c.get('seconds', float('nan')):.1f} "
                         f"| {c.get('mb', float('nan')):.1f} | {r['ms']:.1f} |")
    lines += [
        "",
        "Build times and latencies are single-process, on this machine, and vary with load;",
        "compare rows of the same run. The extra views roughly double the postings: a bigger",
        "index, a slower build and more posting lists read per query word.",
        "",
        "## Notes",
        "",
        "- The starting-point row is a plain baseline: light10 without the word lists, the",
        "  headline boosted 2.0, Whoosh's BM25 defaults (k1 1.2, b 0.75) and no extra views.",
        "- arcd has near-duplicate paragraphs: 98 documents share most of their words with",
        "  another, and 300 of the 1,395 questions point to one of them; which copy ranks first",
        "  is close to a coin toss, so small arcd differences are partly noise.",
        "- The skeleton view conflates much as a root would; it is searched only for plain",
        "  queries of two or more words (search/query.py, WIDENING_VIEWS), so a one-word search",
        "  finds that word and a misspelling still gets \"did you mean\".",
        "- The protected و list is neutral on both sets (kept: it makes وزير and الوزير one",
        "  term); the proclitic list carries the stemming gain.",
        "",
        "## Rerun",
        "",
        "```",
        ".venv/bin/python scripts/ablation.py                # this file (both sets)",
        ".venv/bin/python scripts/ablation.py --sets arcd    # arcd only, faster",
        ".venv/bin/python scripts/make_protected.py          # rebuild the stemmer word lists",
        "arshif index ../shared/eval/arcd/corpus.jsonl --format jsonl --map id=id \\",
        "    --map headline=title --map body=text --index /tmp/arcd-index",
        "arshif eval --index /tmp/arcd-index --queries ../shared/eval/arcd/queries.tsv \\",
        "    --qrels ../shared/eval/arcd/qrels.tsv",
        ".venv/bin/pytest -q -m slow tests/test_eval.py      # asserts the arcd bar",
        "```",
        "",
    ]
    path.write_text("\n".join(lines), "utf-8")


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--work", type=Path,
                        help="keep indexes and the sample here (default: temp)")
    parser.add_argument("--sets", default="arcd,ki", help="comma-separated: arcd, ki")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    parser.add_argument("--only", help="only rows whose name contains this (no report written)")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    started = time.perf_counter()
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="arshif-ablation-")
        work = Path(tmp.name)
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    try:
        data = {}
        if "arcd" in sets:
            data["arcd"] = load("arcd", args.shared / "eval" / "arcd")
        if "ki" in sets:
            data["ki"] = load("ki", build_known_item(args.shared, work / "known-item"))
        rows = configs()
        if args.only:
            rows = [rows[0]] + [r for r in rows[1:] if args.only in r.name]
        results: dict = {}
        costs: dict = {}
        for cfg in rows:
            results[cfg.name] = {s: run(cfg, data[s], work, costs) for s in sets}
            figures = "  ".join(
                f"{s}: " + " ".join(f"{results[cfg.name][s]['metrics'][lab]:.4f}" for lab in LABELS)
                for s in sets)
            print(f"{cfg.name[:60]:<60} {figures}", file=sys.stderr, flush=True)
        if not args.only:
            meta = {"date": time.strftime("%Y-%m-%d"), "seconds": time.perf_counter() - started,
                    "arcd_queries": len(data["arcd"].queries) if "arcd" in data else 0,
                    "ki_queries": len(data["ki"].queries) if "ki" in data else 0,
                    "ki_docs": _count_lines(data["ki"].folder / "corpus.jsonl")
                    if "ki" in data else 0}
            write_report(args.out, rows, results, sets, costs, meta)
            print(f"wrote {args.out}", file=sys.stderr)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
