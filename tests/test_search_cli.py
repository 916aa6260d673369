"""``arshif search``: human output, --json shape, batch/TREC mode, exit codes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer.writer import build_index
from search.commands import html_to_terminal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ID = "000_be18b8559e209b80"

# The documented shape of `arshif search --json` and `GET /api/search` (README).
RESULT_KEYS = {"query": str, "total": int, "stories": int, "page": int, "pages": int,
               "last_page": int, "per_page": int, "took_ms": (int, float), "hits": list,
               "facets": dict, "timeline": (dict, type(None)), "suggestion": (str, type(None)),
               "partial": bool, "message": (str, type(None)), "code": (str, type(None)),
               "unknown_sources": list}
HIT_KEYS = {"id": str, "rank": int, "score": (int, float), "headline": str, "headline_html": str,
            "snippet_html": str, "date": (str, type(None)), "source": str, "source_name": str,
            "story": dict}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    shutil.copytree(ROOT / "data" / "archive", tmp / "archive")
    build_index([tmp / "archive"], tmp / "index")
    return tmp / "index"


def run(*args):
    return CliRunner().invoke(main, ["search", *args])


def test_human_output_and_exit_zero(home):
    result = run("حفتر", "--index", str(home))
    assert result.exit_code == 0
    assert "1. حفتر يزور روسيا" in result.output
    assert "2023-09-26" in result.output and "الخليج الجديد" in result.output
    assert "<mark>" not in result.output  # plain text when not a terminal


def test_terminal_highlight_is_bold_on_a_tty():
    assert "\x1b[" in html_to_terminal("a <mark>b</mark> &lt;c&gt;", color=True)
    assert html_to_terminal("a <mark>b</mark> &lt;c&gt;", color=False) == "a b <c>"


def test_json_output_has_the_documented_shape(home):
    result = run("الليبي", "--index", str(home), "--json", "--limit", "2")
    assert result.exit_code == 0
    assert "\\u" not in result.output  # UTF-8, not escaped
    data = json.loads(result.output)
    assert set(data) == set(RESULT_KEYS)
    for key, kind in RESULT_KEYS.items():
        assert isinstance(data[key], kind), key
    assert data["hits"] and len(data["hits"]) <= 2
    for hit in data["hits"]:
        assert set(hit) == set(HIT_KEYS)
        for key, kind in HIT_KEYS.items():
            assert isinstance(hit[key], kind), key
    assert set(data["facets"]) == {"source", "year", "month"}
    for item in data["facets"]["source"]:
        assert set(item) == {"value", "name", "count"}
    assert "<mark>" in data["hits"][0]["snippet_html"]


def test_filters_and_sort(home):
    data = json.loads(run("ليبيا OR حفتر", "--index", str(home), "--json", "--from", "2024",
                          "--sort", "newest").output)
    dates = [h["date"] for h in data["hits"]]
    assert dates and all(d >= "2024" for d in dates)
    assert dates == sorted(dates, reverse=True)
    data = json.loads(run("حفتر", "--index", str(home), "--json", "--to", "2023-09").output)
    assert [h["id"] for h in data["hits"]] == [EXAMPLE_ID]


def test_no_results_exit_one_with_suggestion(home):
    result = run("حفتير", "--index", str(home))
    assert result.exit_code == 1
    assert "did you mean: حفتر" in result.output


def test_a_date_in_the_query_that_is_not_one_says_so(home):
    result = run("حفتر التاريخ:2023-13", "--index", str(home))
    assert result.exit_code == 1
    assert "no results: a date in the query is not a date: write 2023, 2023-09" in result.output


def test_missing_index_exit_two_with_the_build_command(tmp_path):
    result = run("حفتر", "--index", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "arshif index" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["حفتر", "--from", "2023-13"], ["حفتر", "--sort", "best"],
                                  ["حفتر", "--page", "500"], [], ["--batch", "x.tsv"]])
def test_usage_errors_exit_two(home, args):
    result = run(*args, "--index", str(home))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_batch_mode_writes_a_trec_run(home, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\tحفتر روسيا\nq2\tفيضانات درنة\nq3\tكلمةلاتوجد\n", "utf-8")
    out = tmp_path / "run.trec"
    result = run("--batch", str(queries), "--run", str(out), "--index", str(home))
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in out.read_text("utf-8").splitlines()]
    assert lines and all(len(parts) == 6 for parts in lines)
    assert {p[0] for p in lines} <= {"q1", "q2", "q3"}
    assert all(p[1] == "Q0" and p[5] == "arshif" for p in lines)
    q1 = [p for p in lines if p[0] == "q1"]
    assert q1[0][2] == EXAMPLE_ID
    assert [int(p[3]) for p in q1] == list(range(1, len(q1) + 1))
    scores = [float(p[4]) for p in q1]
    assert scores == sorted(scores, reverse=True)


def test_batch_mode_reads_queries_as_eval_does(home, tmp_path):
    """Blank and ``#`` lines are skipped by ``--batch`` as by ``arshif eval``."""
    from search.evaluate import read_queries

    queries = tmp_path / "q.tsv"
    queries.write_text("# qid\tحفتر\n\nq1\tحفتر روسيا\n  # q9\tدرنة\nq2\tفيضانات درنة\n", "utf-8")
    out = tmp_path / "run.trec"
    result = run("--batch", str(queries), "--run", str(out), "--index", str(home))
    assert result.exit_code == 0, result.output
    assert "2 queries" in result.stderr
    assert {line.split()[0] for line in out.read_text("utf-8").splitlines()} == {"q1", "q2"}
    assert list(read_queries(queries)) == ["q1", "q2"]


def test_batch_mode_refuses_a_line_without_a_tab(home, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\tحفتر\nq2 no tab\n", "utf-8")
    result = run("--batch", str(queries), "--run", str(tmp_path / "run.trec"), "--index", str(home))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"arshif: {queries}:2: expected qid<TAB>query"


def test_the_stored_file_path_is_not_searchable(home):
    """``path:`` (and the indexer's other fields) are read as plain words: a
    query cannot probe where the archive lives."""
    archive = str(home.parent / "archive")
    for q in ("path:/*", f'path:"{archive}/sample_03_haftar-elections.txt"', f"path:{archive}*",
              "signature:*", "content_key:*"):
        data = json.loads(run(q, "--index", str(home), "--json").output)
        assert data["total"] == 0, q
    # The searchable fields still work.
    assert json.loads(run("headline:حفتر", "--index", str(home), "--json").output)["total"]


def test_arguments_that_are_not_utf8_give_no_traceback(home, tmp_path):
    """The real command, with bytes that are not UTF-8 in every argument."""
    arshif = Path(sys.executable).with_name("arshif")
    cases = [([b"x", b"--source", b"\xff"], 1), ([b"\xff\xfe", b"--source", b"\xff"], 1),
             ([b"\xd8\xad\xd9\x81\xd8\xaa\xd8\xb1\xff"], 0), ([b"x", b"--index", b"\xff"], 2),
             ([b"x", b"--from", b"\xff"], 2)]
    for args, code in cases:
        index = [] if b"--index" in args else [b"--index", os.fsencode(home)]
        proc = subprocess.run([os.fsencode(arshif), b"search", *args, *index],
                              capture_output=True, timeout=120, check=False)
        assert proc.returncode == code, (args, proc.stderr)
        assert b"Traceback" not in proc.stderr + proc.stdout, args


def test_eval_without_its_extra_says_so_in_one_line(home, tmp_path, monkeypatch):
    """``arshif eval`` needs ir-measures (the ``eval`` extra): without it, one
    line and exit 2, before any work."""
    monkeypatch.setitem(sys.modules, "ir_measures", None)  # import raises ImportError
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\tحفتر\n", "utf-8")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(f"q1\t{EXAMPLE_ID}\t1\n", "utf-8")
    result = CliRunner().invoke(main, ["eval", "--index", str(home), "--queries", str(queries),
                                       "--qrels", str(qrels)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines() == [
        "arshif: arshif eval needs ir-measures, the 'eval' extra: pip install 'arshif[eval]'"]


# -- the human output reads as English ---------------------------------------------


def test_counts_agree_with_their_number(home):
    one = run('"حفتر يزور روسيا"', "--index", str(home))
    assert one.exit_code == 0
    assert one.output.splitlines()[0].startswith("1 article in 1 story (")
    two = run("حفتر", "--index", str(home))
    assert two.output.splitlines()[0].startswith("2 articles in 2 stories (")


def test_no_results_says_it_once(home):
    none = run("كلمةلاتوجدأبدا", "--index", str(home))
    assert none.exit_code == 1
    assert none.output.splitlines()[0] == "no results"
    common = run("في من على", "--index", str(home))
    assert common.exit_code == 1
    assert common.output.splitlines() == ["no results: only common words, nothing to search"]


def test_sizes_have_thousands_separators():
    from arshif.output import megabytes

    assert megabytes(3_924_238_012) == "3,924.2 MB"
    assert megabytes(201_000) == "0.2 MB"


def test_big_numbers_have_thousands_separators_and_the_page_limit():
    from search.backend import Hit, Result
    from search.commands import format_result

    hits = [Hit(id=f"a{n}", rank=n, score=1.0, headline="خبر", headline_html="خبر",
                snippet_html="نص", date=None, source="") for n in range(1001, 1011)]
    result = Result(query="x", total=12345, stories=12340, page=101, pages=1234, last_page=100,
                    per_page=10, took_ms=12.0, hits=hits)
    head = format_result(result, color=False).splitlines()[0]
    assert head == ("12,345 articles in 12,340 stories (12 ms), showing stories 1,001-1,010,"
                    " page 101 of 1,234"
                    " (only pages 1-100 can be opened: narrow the search)")


def test_a_page_past_the_last_is_a_usage_error(home):
    """``--page 5`` of a query with one page of results: not "showing 41-40"."""
    for extra in ([], ["--json"]):
        result = run("حفتر", "--page", "5", "--index", str(home), *extra)
        assert result.exit_code == 2, extra
        assert result.stdout == ""
        assert result.stderr == "arshif: page 5 is past the last page: 2 results fill 1 page\n"
    # The last page itself is fine, and a query with nothing is "no results", not an error.
    assert run("حفتر", "--page", "2", "--limit", "1", "--index", str(home)).exit_code == 0
    assert run("كلمةلاتوجدأبدا", "--page", "5", "--index", str(home)).exit_code == 1


def test_json_messages_are_arabic_with_a_stable_code(home):
    data = json.loads(run("في من على", "--index", str(home), "--json").output)
    assert data["code"] == "only_common_words" and "كلمات شائعة" in data["message"]
    data = json.loads(run("كلمةلاتوجدأبدا", "--index", str(home), "--json").output)
    assert data["code"] == "no_results" and data["message"] == "لم نجد مقالات تطابق بحثك."
    data = json.loads(run("حفتر", "--index", str(home), "--json").output)
    assert data["code"] is None and data["message"] is None


def test_a_search_imports_only_what_it_runs(home):
    """Each ``arshif search`` is a new process: the subcommand's module is
    imported when it runs, not the web app or the index writer."""
    code = ("import sys\nfrom arshif.cli import main\n"
            "try:\n    main(['search', 'النفط', '--index', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('flask', 'web.app', 'indexer.writer', 'search.engine')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip().splitlines()[-1] == "['search.engine']"
