"""``arshif eval``: retrieval quality of the search box on a judged query set.

Every query goes through exactly the search-box code path
(``Backend.ranked_ids``, top 100) and the run is scored with
``ir_measures``: MRR@10 (``RR@10``), nDCG@10 and Recall@100 (``R@100``),
averaged over every judged query, so a query that finds nothing counts as 0.

Inputs:

- queries: ``qid<TAB>query text`` per line (UTF-8, blank lines skipped);
- qrels: ``qid<TAB>docid<TAB>rel`` or four-column TREC ``qid 0 docid rel``
  (tabs or spaces).

A query is evaluated when it has a text and at least one relevant (rel > 0)
judgment; the others are counted and reported, never silently dropped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from arshif.options import backend_option, index_option
from arshif.output import count, fail, number
from indexer import store
from search.backend import SearchError

DEPTH = 100  # documents retrieved per query (Recall@100 needs 100)

#: (label, ir_measures measure name): the three figures we report.
MEASURES = (("MRR@10", "RR@10"), ("nDCG@10", "nDCG@10"), ("Recall@100", "R@100"))


class EvalInputError(ValueError):
    """A queries or qrels file that cannot be read (``arshif eval`` and ``search --batch``)."""


# -- input files ----------------------------------------------------------------
def _lines(path: Path) -> Iterable[tuple[int, str]]:
    with open(path, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield lineno, line


def read_queries(path: Path) -> dict[str, str]:
    """``qid<TAB>text`` lines -> {qid: text} (file order kept).

    The one reader of query files: ``arshif search --batch`` uses it too, so
    a ``#`` comment is skipped by both rather than run as a query by one.
    """
    queries: dict[str, str] = {}
    for lineno, line in _lines(path):
        qid, sep, text = line.partition("\t")
        qid = qid.strip()
        if not sep or not qid:
            raise EvalInputError(f"{path}:{lineno}: expected qid<TAB>query")
        queries[qid] = text.strip()
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """qrels in ``qid docid rel`` or TREC ``qid iter docid rel`` form -> {qid: {docid: rel}}.

    Columns are split on tabs when the line has any, else on whitespace.  A
    docid judged twice keeps its highest relevance.
    """
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in _lines(path):
        cols = [c.strip() for c in line.split("\t")] if "\t" in line else line.split()
        if len(cols) == 3:
            qid, docid, rel = cols
        elif len(cols) == 4:
            qid, _iteration, docid, rel = cols
        else:
            raise EvalInputError(
                f"{path}:{lineno}: expected qid<TAB>docid<TAB>rel or 'qid 0 docid rel', "
                f"got {len(cols)} columns"
            )
        try:
            value = int(float(rel))
        except ValueError:
            raise EvalInputError(f"{path}:{lineno}: relevance {rel!r} is not a number") from None
        if not qid or not docid:
            raise EvalInputError(f"{path}:{lineno}: empty qid or docid")
        judged = qrels.setdefault(qid, {})
        judged[docid] = max(value, judged.get(docid, value))
    return qrels


# -- running and scoring ----------------------------------------------------------
@dataclass
class Report:
    queries: int  # evaluated (text and >= 1 relevant document)
    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    unjudged: int = 0  # queries without a relevant judgment (not evaluated)
    missing_text: int = 0  # judged qids with no query text (not evaluated)
    no_results: int = 0  # evaluated queries that retrieved nothing
    refused: dict[str, str] = field(default_factory=dict)  # qid -> why the engine refused it
    seconds: float = 0.0  # time spent searching
    ms_per_query: float = 0.0

    def as_dict(self, per_query: bool = False) -> dict:
        data = asdict(self)
        if not per_query:
            data.pop("per_query")
        return data


Run = dict[str, list[tuple[str, int, float]]]


def run_queries(search: Callable[[str, int], list[tuple[str, int, float]]],
                queries: Mapping[str, str], depth: int = DEPTH
                ) -> tuple[Run, float, dict[str, str]]:
    """{qid: [(docid, rank, score), ...]} from ``search(text, depth)``, the
    seconds spent, and {qid: reason} of the queries the engine refused (too
    costly, say): those rank nothing, and the other queries still run."""
    run: Run = {}
    refused: dict[str, str] = {}
    started = time.perf_counter()
    for qid, text in queries.items():
        try:
            run[qid] = list(search(text, depth)) if text else []
        except SearchError as exc:
            run[qid] = []
            refused[qid] = str(exc)
    return run, time.perf_counter() - started, refused


def score_run(run: Run, qrels: Mapping[str, Mapping[str, int]]) -> tuple[dict, dict]:
    """Mean and per-query MRR@10 / nDCG@10 / Recall@100 over the judged queries of ``run``.

    The evaluator sees rank-derived scores (depth - rank), so its ordering is
    exactly the engine's even where BM25 scores tie.
    """
    import ir_measures

    judged = {q: dict(d) for q, d in qrels.items() if q in run and any(r > 0 for r in d.values())}
    measures = [ir_measures.parse_measure(name) for _, name in MEASURES]
    label = {str(m): lab for m, (lab, _) in zip(measures, MEASURES, strict=True)}
    per_query: dict[str, dict[str, float]] = {q: {lab: 0.0 for lab, _ in MEASURES} for q in judged}
    ranked = {q: {doc: float(len(hits) - i) for i, (doc, _r, _s) in enumerate(hits)}
              for q, hits in run.items() if q in judged and hits}
    if ranked:
        for m in ir_measures.iter_calc(measures, judged, ranked):
            per_query[m.query_id][label[str(m.measure)]] = float(m.value)
    n = len(per_query)
    means = {lab: (sum(pq[lab] for pq in per_query.values()) / n if n else 0.0)
             for lab, _ in MEASURES}
    return means, per_query


def evaluate(search: Callable[[str, int], list[tuple[str, int, float]]],
             queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]],
             depth: int = DEPTH) -> tuple[Report, Run]:
    """Run the judged queries through ``search`` and score them."""
    relevant = {q for q, d in qrels.items() if any(r > 0 for r in d.values())}
    todo = {q: t for q, t in queries.items() if q in relevant}
    run, seconds, refused = run_queries(search, todo, depth)
    means, per_query = score_run(run, qrels)
    report = Report(
        queries=len(per_query),
        metrics={k: round(v, 4) for k, v in means.items()},
        per_query=per_query,
        unjudged=sum(1 for q in queries if q not in relevant),
        missing_text=sum(1 for q in relevant if q not in queries),
        no_results=sum(1 for q in todo if not run.get(q) and q not in refused),
        refused=refused,
        seconds=round(seconds, 3),
        ms_per_query=round(1000 * seconds / len(todo), 2) if todo else 0.0,
    )
    return report, run


def evaluate_index(home: Path, queries: Mapping[str, str], qrels, depth: int = DEPTH,
                   **engine_kwargs) -> tuple[Report, Run]:
    """Evaluate the live index at ``home`` through ``Engine.ranked_ids``."""
    from search.backend import open_backend

    engine = open_backend(home, **engine_kwargs)
    return evaluate(engine.ranked_ids, queries, qrels, depth)


def write_run(run: Run, path: Path, tag: str = "arshif") -> None:
    """A TREC run file (``qid Q0 docid rank score tag``) with the engine's scores.

    The scores are rounded; where they tie, trec_eval-style tools break the tie
    by docid, so their figures can differ in the 4th decimal from ours, which
    follow the engine's ranks."""
    with open(path, "w", encoding="utf-8") as out:
        for qid, hits in run.items():
            for docid, rank, score in hits:
                out.write(f"{qid} Q0 {docid} {rank} {score:.4f} {tag}\n")


def format_report(report: Report) -> str:
    lines = [f"{label:<11} {report.metrics[label]:.4f}" for label, _ in MEASURES]
    lines.append(f"{'queries':<11} {number(report.queries)}")
    notes = []
    if report.no_results:
        notes.append(f"{count(report.no_results, 'query', 'queries')} found nothing")
    if report.unjudged:
        notes.append(f"{count(report.unjudged, 'query', 'queries')}"
                     " without relevant judgments skipped")
    if report.refused:
        notes.append(f"{count(len(report.refused), 'query', 'queries')} refused, "
                     "scored as finding nothing: "
                     + "; ".join(f"{qid}: {why}" for qid, why in report.refused.items()))
    if report.missing_text:
        notes.append(f"{count(report.missing_text, 'judged qid')} without a query skipped")
    if notes:
        lines.append("note:       " + "; ".join(notes))
    lines.append(f"{'time':<11} {report.seconds:.1f} s ({report.ms_per_query:.1f} ms/query)")
    return "\n".join(lines)


# -- the command ------------------------------------------------------------------
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("eval")
@index_option
@backend_option
@click.option("--queries", "queries_path", type=_FILE, required=True,
              help="qid<TAB>query lines.")
@click.option("--qrels", "qrels_path", type=_FILE, required=True,
              help="qid<TAB>docid<TAB>rel, or TREC 'qid 0 docid rel'.")
@click.option("--run", "run_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the TREC run file (top 100 per query) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--per-query", is_flag=True, help="With --json: include every query's figures.")
def eval_command(home, queries_path, qrels_path, run_path, as_json, per_query, target):
    """Measure MRR@10, nDCG@10 and Recall@100 of the search box on judged queries.

    Each query runs exactly as typed in the search box (top 100 results).
    """
    home = home or store.default_home()
    try:  # an optional extra: say so in one line before any work
        import ir_measures  # noqa: F401
    except ImportError:
        fail("arshif eval needs ir-measures, the 'eval' extra: pip install 'arshif[eval]'")
    try:
        queries = read_queries(queries_path)
        qrels = read_qrels(qrels_path)
    except (EvalInputError, UnicodeDecodeError) as exc:
        fail(str(exc))  # as arshif search --batch reading the same file
    try:
        report, run = evaluate_index(home, queries, qrels, target=target)
    except store.StoreError as exc:
        fail(str(exc))
    if not report.queries:
        fail("no query has both a text and a relevant judgment")
    if run_path:
        write_run(run, run_path)
    if as_json:
        where = target.cluster().display() if target.kind == "opensearch" else str(home)
        click.echo(json.dumps({"index": where, **report.as_dict(per_query)},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))
