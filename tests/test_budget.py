"""One request's work is bounded (search/budget.py): counted in units as the
evaluator reads, so the limit is reached at the same point on any machine."""

from __future__ import annotations

import pytest

from search import budget
from search.backend import Request
from search.budget import Budget, Metered, QueryTooCostly
from search.engine import Engine

WILDCARDS = " ".join(f"*{c}*" for c in "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" * 5)[:499]


def test_ordinary_queries_stay_within_the_budget(news_index):
    engine = Engine(news_index)
    for q in ("النفط", "أسعار النفط في قطر", '"أسعار النفط"', "النف*", "النفظ~", "قطرر"):
        engine.search(Request(q=q))
        engine.ranked_ids(q)


def test_reads_are_charged_as_they_are_made(news_index):
    """A posting list costs its length, a scanned vocabulary entry SCAN_UNITS."""
    gen = Engine(news_index).view().gen
    spent = Budget(10**9)
    metered = Metered(gen, spent)
    stem = gen.schema["body"].analyzer.analyze("النفط")[0]
    docs, _ = metered.term("body", stem)
    assert len(docs)
    assert spent.left == 10**9 - len(docs)
    found = metered.span("body", b"", None, 10)
    assert spent.left == 10**9 - len(docs) - budget.SCAN_UNITS * len(found)


@pytest.mark.parametrize("q", [WILDCARDS, "النفط الغاز الذهب القمح الاقتصاد تركيا قطر أسعار"])
def test_a_request_past_its_budget_is_refused(news_index, monkeypatch, q):
    """The same request is refused at the same point every time, on the
    search and on the ranked ids alike."""
    monkeypatch.setattr(budget, "QUERY_UNITS", 50)  # the test index has 17 articles
    engine = Engine(news_index)
    with pytest.raises(QueryTooCostly):
        engine.search(Request(q=q))
    with pytest.raises(QueryTooCostly):
        engine.ranked_ids(q)


def test_did_you_mean_lookups_are_charged(news_index, monkeypatch):
    """A misspelt word's respellings are looked up (RESPELL_UNITS each, about
    a hundred a word); past the budget the answer comes without a
    suggestion rather than not at all: a suggestion helps, the hits are the
    answer."""
    from search import respell

    engine = Engine(news_index)
    lookups = len(respell.slips("قطررر"))  # at most: slips of one stem are looked up once
    monkeypatch.setattr(budget, "QUERY_UNITS", lookups * budget.RESPELL_UNITS)
    assert engine.search(Request(q="قطررر")).suggestion == "قطر"
    monkeypatch.setattr(budget, "QUERY_UNITS", budget.RESPELL_UNITS - 1)
    result = engine.search(Request(q="قطررر"))
    assert result.total == 0 and result.suggestion is None
    many = " ".join(f"قطررر{c}" for c in "ابتثجحخدذر")  # ten misspelt words
    monkeypatch.setattr(budget, "QUERY_UNITS", 5 * lookups * budget.RESPELL_UNITS)
    assert engine.search(Request(q=many)).total == 0


def test_many_wildcards_are_refused_with_the_default_budget(news_index, monkeypatch):
    """A vocabulary scan is charged per entry: hundreds of wildcards over a
    large vocabulary exceed the budget (the test index's vocabulary is
    small, so its scans are made to count as a large one's)."""
    monkeypatch.setattr(budget, "SCAN_UNITS", 10**6)
    with pytest.raises(QueryTooCostly):
        Engine(news_index).search(Request(q=WILDCARDS))


def test_web_and_cli_say_what_to_change(news_index, monkeypatch):
    from click.testing import CliRunner

    from arshif.cli import main
    from web.app import create_app
    from web.errors import TOO_COSTLY

    monkeypatch.setattr(budget, "QUERY_UNITS", 200)
    client = create_app(news_index).test_client()
    page = client.get("/", query_string={"q": WILDCARDS})
    assert page.status_code == 400 and TOO_COSTLY in page.get_data(as_text=True)
    api = client.get("/api/search", query_string={"q": WILDCARDS})
    assert api.status_code == 400 and api.get_json() == {"error": TOO_COSTLY}
    result = CliRunner().invoke(main, ["search", WILDCARDS, "--index", str(news_index)])
    assert result.exit_code == 2 and "too much work" in result.output
