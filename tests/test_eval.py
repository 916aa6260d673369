"""``arshif eval``: qrels/queries parsing, the metrics, the command, and the arcd bar."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer.writer import build_index
from search.budget import QueryTooCostly
from search.engine import Engine
from search.evaluate import (
    EvalInputError,
    evaluate,
    evaluate_index,
    format_report,
    read_qrels,
    read_queries,
    score_run,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
ARCD = SHARED / "eval" / "arcd"
MAPPING = {"id": "id", "headline": "title", "body": "text"}

#: Five documents, two without a title (must index and rank like the others).
DOCS = [
    {"id": "oil", "title": "النفط", "text": "أسعار النفط ترتفع بعد قرار أوبك خفض الإنتاج."},
    {"id": "quake", "title": "", "text": "زلزال قوي يضرب جنوب تركيا ويخلف مئات الضحايا."},
    {"id": "cup", "title": "كرة القدم",
     "text": "المنتخب يفوز بكأس العالم بعد مباراة نهائية مثيرة."},
    {"id": "rain", "title": "الطقس", "text": "أمطار غزيرة وفيضانات تجتاح المدن الساحلية."},
    {"id": "bank", "title": "", "text": "البنك المركزي يرفع أسعار الفائدة لمواجهة التضخم."},
]
#: Three queries whose answers are known: found first, found first (a document
#: with no title), and not found at all.
QUERIES = {"q1": "ما سبب ارتفاع أسعار النفط؟", "q2": "زلزال تركيا", "q3": "الانتخابات البرلمانية"}
QRELS = {"q1": {"oil": 1}, "q2": {"quake": 1}, "q3": {"rain": 1}}


def write_set(folder: Path, qrels_text: str | None = None) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), "utf-8")
    queries = folder / "queries.tsv"
    queries.write_text("".join(f"{q}\t{t}\n" for q, t in QUERIES.items()), "utf-8")
    qrels = folder / "qrels.tsv"
    qrels.write_text(qrels_text or "".join(f"{q}\t{d}\t{r}\n" for q, j in QRELS.items()
                                           for d, r in j.items()), "utf-8")
    return corpus, queries, qrels


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    corpus, _queries, _qrels = write_set(folder)
    build_index([corpus], folder / "index", fmt="jsonl", mapping=MAPPING)
    return folder


def cli(*args):
    return CliRunner().invoke(main, list(args))


# -- parsing -------------------------------------------------------------------------------
def test_qrels_three_columns(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("q1\td1\t1\nq1\td2\t0\n\n# comment\nq2\td3\t2\n", "utf-8")
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}


def test_qrels_trec_four_columns_spaces_or_tabs(tmp_path):
    path = tmp_path / "qrels.trec"
    path.write_text("q1 0 d1 1\nq1 0 d2 0\r\nq2\t0\td3\t2\nq2 Q0 d3 1\n", "utf-8")
    # A document judged twice keeps its highest relevance.
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}


def test_qrels_bom_and_float_relevance(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_bytes("\ufeffq1\td1\t1.0\n".encode("utf-8"))
    assert read_qrels(path) == {"q1": {"d1": 1}}


@pytest.mark.parametrize("line", ["q1\td1", "q1 0 d1 1 extra", "q1\td1\tyes"])
def test_qrels_bad_lines_name_the_line(tmp_path, line):
    path = tmp_path / "qrels.tsv"
    path.write_text(f"q0\td0\t1\n{line}\n", "utf-8")
    with pytest.raises(EvalInputError, match=r"qrels.tsv:2"):
        read_qrels(path)


def test_queries_file(tmp_path):
    path = tmp_path / "queries.tsv"
    path.write_text("q1\tمتى ولد خاشقجي؟\n\nq2\t  كأس العالم  \n", "utf-8")
    assert read_queries(path) == {"q1": "متى ولد خاشقجي؟", "q2": "كأس العالم"}
    path.write_text("no tab here\n", "utf-8")
    with pytest.raises(EvalInputError):
        read_queries(path)


# -- the metrics ---------------------------------------------------------------------------------
def test_metrics_of_a_hand_made_run():
    qrels = {"a": {"x": 1}, "b": {"y": 1, "z": 1}, "c": {"w": 1}}
    run = {"a": [("n", 1, 5.0), ("x", 2, 4.0)],  # found second
           "b": [("y", 1, 3.0), ("n", 2, 2.0), ("z", 3, 1.0)],  # both, first and third
           "c": []}  # nothing found: counts as 0
    means, per_query = score_run(run, qrels)
    assert per_query["a"]["MRR@10"] == pytest.approx(0.5)
    assert per_query["a"]["nDCG@10"] == pytest.approx(1 / math.log2(3))
    idcg_b = 1 + 1 / math.log2(3)
    assert per_query["b"]["nDCG@10"] == pytest.approx((1 + 1 / math.log2(4)) / idcg_b)
    assert per_query["b"]["Recall@100"] == 1.0
    assert per_query["c"] == {"MRR@10": 0.0, "nDCG@10": 0.0, "Recall@100": 0.0}
    assert means["MRR@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert means["Recall@100"] == pytest.approx(2 / 3)


def test_the_engines_order_wins_over_tied_scores():
    # Equal scores: the evaluator must not reorder (e.g. by document id).
    run = {"a": [("b-doc", 1, 1.0), ("a-doc", 2, 1.0)]}
    means, _ = score_run(run, {"a": {"a-doc": 1}})
    assert means["MRR@10"] == pytest.approx(0.5)


def test_queries_without_judgments_are_skipped_and_counted():
    seen = []

    def search(text, depth):
        seen.append((text, depth))
        return [("x", 1, 1.0)]

    report, _ = evaluate(search, {"a": "one", "b": "two"}, {"a": {"x": 1}, "z": {"x": 1}})
    assert seen == [("one", 100)]
    assert report.queries == 1 and report.unjudged == 1 and report.missing_text == 1
    assert report.metrics["MRR@10"] == 1.0


def test_a_refused_query_is_reported_and_the_others_still_count():
    def search(text, depth):
        if text == "costly":
            raise QueryTooCostly()
        return [("x", 1, 1.0)]

    report, run = evaluate(search, {"a": "one", "b": "costly"}, {"a": {"x": 1}, "b": {"x": 1}})
    assert run == {"a": [("x", 1, 1.0)], "b": []}
    assert report.queries == 2 and report.no_results == 0
    assert report.refused == {"b": str(QueryTooCostly())}
    assert report.metrics["MRR@10"] == 0.5
    assert f"1 query refused, scored as finding nothing: b: {QueryTooCostly()}" in (
        format_report(report))


def test_metrics_on_a_tiny_index(tiny):
    report, run = evaluate_index(tiny / "index", QUERIES, QRELS)
    assert run["q1"][0][0] == "oil"
    assert run["q2"][0][0] == "quake"  # a document without a title ranks first
    assert report.per_query["q3"]["MRR@10"] == 0.0
    assert report.queries == 3 and report.no_results == 1
    assert report.metrics == {"MRR@10": pytest.approx(2 / 3, abs=1e-4),
                              "nDCG@10": pytest.approx(2 / 3, abs=1e-4),
                              "Recall@100": pytest.approx(2 / 3, abs=1e-4)}


def test_eval_uses_the_search_box_path(tiny):
    engine = Engine(tiny / "index")
    _report, run = evaluate(engine.ranked_ids, QUERIES, QRELS)
    assert run["q1"] == engine.ranked_ids(QUERIES["q1"], 100)


# -- the command ------------------------------------------------------------------------------
def test_eval_command_prints_the_figures(tiny):
    result = cli("eval", "--index", str(tiny / "index"), "--queries", str(tiny / "queries.tsv"),
                 "--qrels", str(tiny / "qrels.tsv"))
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines() if line.strip())
    assert lines["MRR@10"] == "0.6667"
    assert lines["nDCG@10"] == "0.6667"
    assert lines["Recall@100"] == "0.6667"
    assert lines["queries"] == "3"


def test_eval_command_json_trec_qrels_and_run_file(tiny, tmp_path):
    trec = tmp_path / "qrels.trec"
    trec.write_text("".join(f"{q} 0 {d} {r}\n" for q, j in QRELS.items() for d, r in j.items()),
                    "utf-8")
    run = tmp_path / "out.trec"
    result = cli("eval", "--index", str(tiny / "index"), "--queries", str(tiny / "queries.tsv"),
                 "--qrels", str(trec), "--run", str(run), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["queries"] == 3
    assert data["metrics"]["MRR@10"] == pytest.approx(0.6667, abs=1e-4)
    assert set(data["metrics"]) == {"MRR@10", "nDCG@10", "Recall@100"}
    assert "per_query" not in data
    lines = run.read_text("utf-8").splitlines()
    assert lines and all(len(line.split()) == 6 and line.split()[1] == "Q0" for line in lines)
    assert lines[0].split()[:4] == ["q1", "Q0", "oil", "1"]


def test_batch_and_eval_run_every_query_and_report_a_refused_one(tiny, tmp_path):
    """A query too costly to answer is reported with its reason; it does not
    stop the queries after it."""
    queries = tmp_path / "queries.tsv"
    queries.write_text("q0\t" + "ا* " * 100 + "\n"
                       + "".join(f"{q}\t{t}\n" for q, t in QUERIES.items()), "utf-8")
    run = tmp_path / "run.trec"
    result = cli("search", "--index", str(tiny / "index"), "--batch", str(queries),
                 "--run", str(run))
    assert result.exit_code == 0, result.output
    assert f"query q0 refused: {QueryTooCostly()}" in result.stderr
    assert {line.split()[0] for line in run.read_text("utf-8").splitlines()} == {"q1", "q2"}
    result = cli("eval", "--index", str(tiny / "index"), "--queries", str(queries),
                 "--qrels", str(tiny / "qrels.tsv"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["refused"] == {}  # q0 has no judgment: not run
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text((tiny / "qrels.tsv").read_text("utf-8") + "q0\toil\t1\n", "utf-8")
    result = cli("eval", "--index", str(tiny / "index"), "--queries", str(queries),
                 "--qrels", str(qrels), "--json")
    report = json.loads(result.stdout)
    assert report["refused"] == {"q0": str(QueryTooCostly())}
    assert report["queries"] == 4 and report["no_results"] == 1
    assert report["metrics"]["MRR@10"] == pytest.approx(2 / 4, abs=1e-4)


def test_eval_command_errors(tiny, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("q1 d1\n", "utf-8")
    result = cli("eval", "--index", str(tiny / "index"), "--queries", str(tiny / "queries.tsv"),
                 "--qrels", str(bad))
    # A file the user must fix exits 2, as arshif search --batch reading it does.
    assert result.exit_code == 2 and "bad.tsv:1" in result.stderr
    result = cli("eval", "--index", str(tmp_path / "none"), "--queries",
                 str(tiny / "queries.tsv"), "--qrels", str(tiny / "qrels.tsv"))
    assert result.exit_code == 2


def test_jsonl_with_empty_titles_through_the_importer(tmp_path):
    corpus, queries, qrels = write_set(tmp_path / "set")
    result = cli("index", str(corpus), "--format", "jsonl", "--map", "id=id", "--map",
                 "headline=title", "--map", "body=text", "--index", str(tmp_path / "ix"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["indexed"] == 5
    result = cli("eval", "--index", str(tmp_path / "ix"), "--queries", str(queries),
                 "--qrels", str(qrels), "--json")
    assert json.loads(result.output)["metrics"]["MRR@10"] == pytest.approx(2 / 3, abs=1e-4)


# -- the quality features the defaults rely on -------------------------------------------------
def test_light10_with_the_word_lists():
    from indexer.stem import light10, protected_words, split_words

    protected, split = frozenset({"وزير", "وزيره", "والده"}), frozenset({"بمصر", "للاعب"})
    assert light10("وزيره", protected, split) == "وزير"  # keeps و, still loses suffixes
    assert light10("ووزير", protected, split) == "وزير"
    assert light10("الوزير", protected, split) == "وزير"
    assert light10("والده", protected, split) == "والد"  # not و + article
    assert light10("وبمصر", protected, split) == "مصر"
    assert light10("للاعب", protected, split) == "لاعب"  # ل + لاعب, not لل + اعب
    assert light10("للمدرسه", protected, split) == "مدرس"
    # The shipped lists (scripts/make_protected.py).
    assert {"وزير", "والده"} <= protected_words()
    assert {"بمصر", "لكره", "للاعب"} <= split_words()


def test_default_analyzer_terms():
    from indexer.analysis import ArabicAnalyzer
    from indexer.stem import skeleton

    analyzer = ArabicAnalyzer()
    assert analyzer.analyze("بمصر لكرة القدم الوزير ووزيرة") == ["مصر", "كر", "قدم", "وزير", "وزير"]
    assert analyzer.analyze("بماذا ماهي عاصمة مصر", query=True) == ["عاصم", "مصر"]
    assert skeleton("ليفيربول") == skeleton("ليفربول") and skeleton("داوود") == skeleton("داود")
    assert skeleton("كتب") == "كتب"  # short stems keep their vowels


def test_views_widen_only_plain_queries_of_two_words(tiny):
    engine = Engine(tiny / "index")

    def fields(text):
        return {field for field, _ in _terms(engine.parse(text).query)}

    assert "body_skel" in fields("أسعار النفط")
    assert "body_exact" in fields("أسعار النفط") and "body_exact" in fields("النفط")
    for text in ("النفط", '"أسعار النفط"', "أسعار AND النفط", "النفط -أوبك", "العنوان:النفط أسعار"):
        assert "body_skel" not in fields(text), text


def test_a_words_boost_carries_to_its_widening_terms(tiny):
    """``النفط^2`` counts twice in every field it is searched in, its
    skeleton view too; a boosted group or phrase likewise."""
    from whoosh import query as wq

    engine = Engine(tiny / "index")

    def skeleton_boosts(text):
        found = {}
        for sub in engine.parse(text).query.leaves():
            if isinstance(sub, wq.Term) and sub.fieldname == "body_skel":
                found[sub.text] = sub.boost
        return found

    plain = skeleton_boosts("أسعار النفط")
    assert len(plain) == 2 and set(plain.values()) == {0.3}
    assert skeleton_boosts("أسعار النفط^2") == pytest.approx(
        {term: boost * (2 if term == "نفط" else 1) for term, boost in plain.items()})
    assert skeleton_boosts("(أسعار OR النفط)^3 الغاز").keys() >= plain.keys()
    assert all(skeleton_boosts("(أسعار OR النفط)^3 الغاز")[t] == pytest.approx(0.9) for t in plain)
    assert skeleton_boosts('"أسعار النفط"^2 الغاز') == pytest.approx(
        {**{t: 0.6 for t in plain}, **{t: 0.3 for t in skeleton_boosts("الغاز النفط")
                                       if t not in plain}})


def _terms(q):
    from whoosh import query as wq

    if isinstance(q, wq.Term):
        return [(q.fieldname, q.text)]
    return [t for child in q.children() for t in _terms(child)]


def test_phrases_match_only_as_phrases(tiny):
    engine = Engine(tiny / "index")
    assert [h[0] for h in engine.ranked_ids('"أسعار النفط"')] == ["oil"]
    assert engine.ranked_ids('"النفط أسعار"') == []  # the views hold no positions


def test_headline_is_searched_but_the_stored_body_is_the_body(tiny):
    engine = Engine(tiny / "index")
    assert engine.article("cup").body == DOCS[2]["text"]
    assert [h[0] for h in engine.ranked_ids("كرة القدم")][:1] == ["cup"]


# -- the arcd bar ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not (ARCD / "qrels.tsv").exists(), reason=f"arcd not found at {ARCD}")
def test_arcd_bar(tmp_path):
    summary = build_index([ARCD / "corpus.jsonl"], tmp_path / "arcd", fmt="jsonl", mapping=MAPPING)
    assert summary.indexed == 460
    report, _ = evaluate_index(tmp_path / "arcd", read_queries(ARCD / "queries.tsv"),
                               read_qrels(ARCD / "qrels.tsv"))
    assert report.queries == 1395
    # Lucene ArabicAnalyzer + BM25: MRR@10 0.797, R@100 0.982.
    assert report.metrics["MRR@10"] >= 0.827
    assert report.metrics["Recall@100"] >= 0.982
