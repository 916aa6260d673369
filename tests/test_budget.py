"""One request's work is bounded (search/budget.py): counted in units as the
evaluator reads, so the limit is reached at the same point on any machine."""

from __future__ import annotations

import threading

import pytest

from search import budget
from search.backend import Request
from search.budget import Budget, Metered, QueryTooCostly
from search.engine import Engine

#: A hang guard for a wait that an event ends.
HANG_S = 60
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


def test_a_prefix_is_charged_its_expansions_postings(news_index):
    """A prefix reads its expansions' union, kept once made: it is charged
    the postings of every expansion each time, whether or not the union is
    kept already, so the same request is cut at the same point."""
    engine = Engine(news_index)
    view = engine.view()
    gen = view.gen
    q = view.expand_terms(engine.parse("العنوان:ا*").query)
    assert len(q.text) > 1  # tens of expansions, one term
    postings = sum(len(gen.term("headline", text)[0]) for text in q.text)
    for _ in range(2):  # the union made, then kept
        spent = Budget(10**9)
        docs, _ = Metered(gen, spent).term("headline", q.text)
        assert 0 < len(docs) < postings
        assert spent.left == 10**9 - postings


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
    result = Engine(news_index).search(Request(q="قطررر"))  # the first engine kept its respelling
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
    assert api.status_code == 400 and api.get_json() == {"error": TOO_COSTLY, "code": "too_costly"}
    result = CliRunner().invoke(main, ["search", WILDCARDS, "--index", str(news_index)])
    assert result.exit_code == 2 and "too much work" in result.output


def test_a_scan_is_charged_before_it_is_made(news_index, monkeypatch):
    """A scan past the budget is refused before it reads any entry."""
    gen = Engine(news_index).view().gen
    scanned = []
    monkeypatch.setattr(type(gen), "span", lambda self, *args: scanned.append(args) or {})
    size = gen.span_size("body", b"", None, 1000)
    assert size > 1
    metered = Metered(gen, Budget(budget.SCAN_UNITS * size - 1))
    with pytest.raises(QueryTooCostly):
        metered.span("body", b"", None, 1000)
    assert scanned == []


@pytest.mark.parametrize("q", ['"أسعار النفط"', '"أسعار النف*"'])
def test_a_phrase_is_charged_its_postings_before_its_positions_are_read(news_index,
                                                                        monkeypatch, q):
    """A phrase past the budget (its words' postings, its prefix words'
    expansions) is refused before any position is read."""
    engine = Engine(news_index)
    searched = []
    real = type(engine.view().gen).phrase
    monkeypatch.setattr(type(engine.view().gen), "phrase",
                        lambda self, *args: searched.append(args) or real(self, *args))
    engine.search(Request(q=q))
    assert searched
    searched.clear()
    monkeypatch.setattr(budget, "QUERY_UNITS", 1)
    with pytest.raises(QueryTooCostly):
        Engine(news_index).search(Request(q=q))
    assert searched == []


def test_wildcards_are_charged_before_parsing(news_index, monkeypatch):
    """Many wildcards are refused without running Whoosh's parser, whose
    work on them is the first cost; fewer are parsed and searched."""
    import search.engine as engine_module

    def parse(*args):
        raise AssertionError("parsed")

    engine = Engine(news_index)
    many = " ".join(["النف*"] * (budget.QUERY_UNITS // budget.PATTERN_UNITS + 1))
    monkeypatch.setattr(engine_module, "parse", parse)
    with pytest.raises(QueryTooCostly):
        engine.search(Request(q=many))
    with pytest.raises(QueryTooCostly):
        engine.ranked_ids(many)
    monkeypatch.undo()
    assert engine.search(Request(q=" ".join(["النف*"] * 4))).total


def _heavy(gate: budget.HeavyGate) -> Budget:
    spent = Budget(gate=gate)
    spent.spend(budget.HEAVY_UNITS)
    return spent


def test_one_heavy_request_at_a_time():
    """A second heavy request is refused at once (ServerBusy), not queued;
    the first one's end lets the next in.  Light requests never wait."""
    gate = budget.HeavyGate()
    first = _heavy(gate)
    assert first.heavy
    with pytest.raises(budget.ServerBusy):
        _heavy(gate)
    light = Budget(gate=gate)
    light.spend(budget.HEAVY_UNITS - 1)
    assert not light.heavy
    first.close()
    second = _heavy(gate)
    assert second.heavy
    second.close()
    second.close()  # closing twice leaves the gate open
    _heavy(gate).close()


def test_the_gate_is_shared_between_processes_and_freed_by_death(tmp_path):
    """arshif serve's workers share one gate (a file whose descriptor they
    inherit, each locking it for itself): a heavy request in one worker turns
    away another worker's, and a worker killed in the middle of one does not
    leave the gate shut."""
    import os
    import signal

    shared = os.open(tmp_path / "heavy.lock", os.O_RDWR | os.O_CREAT, 0o600)
    entered_r, entered_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the other worker: hold the gate until killed
        try:
            gate = budget.HeavyGate()
            gate.share(shared)
            _heavy(gate)
            os.write(entered_w, b"x")
            signal.pause()
        finally:
            os._exit(0)
    os.close(entered_w)
    gate = budget.HeavyGate()
    gate.share(shared)
    got: list[bool] = []
    try:
        assert os.read(entered_r, 1) == b"x"  # the event: it holds the gate
        with pytest.raises(budget.ServerBusy):
            _heavy(gate)  # waits GATE_WAIT_S, then is turned away
        waiter = threading.Thread(target=lambda: got.append(gate.enter(wait=HANG_S)))
        waiter.start()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(entered_r)
    waiter.join()
    assert got == [True]  # in once the holder died, however long that took
    gate.leave()
    _heavy(gate).close()
    os.close(shared)


def test_a_heavy_search_frees_the_gate_however_it_ends(news_index, monkeypatch):
    """Searches charge through the process's gate and close their budget
    when they answer and when they are refused."""
    monkeypatch.setattr(budget, "HEAVY_UNITS", 1)
    engine = Engine(news_index)
    assert engine.search(Request(q="النفط")).total
    assert engine.ranked_ids("النفط")
    monkeypatch.setattr(budget, "QUERY_UNITS", 2)
    with pytest.raises(QueryTooCostly):
        engine.search(Request(q="النفط"))
    assert budget.GATE.enter()
    budget.GATE.leave()


def test_busy_is_a_503_that_says_when_to_retry(news_index, monkeypatch):
    from web.app import create_app
    from web.errors import BUSY

    monkeypatch.setattr(budget, "HEAVY_UNITS", 1)
    client = create_app(news_index).test_client()
    assert budget.GATE.enter()  # another heavy search runs
    try:
        page = client.get("/", query_string={"q": "النفط"})
        api = client.get("/api/search", query_string={"q": "النفط"})
    finally:
        budget.GATE.leave()
    assert page.status_code == 503 and BUSY in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "1"
    assert api.status_code == 503 and api.get_json() == {"error": BUSY, "code": "busy"}
    assert client.get("/", query_string={"q": "النفط"}).status_code == 200


def test_the_article_page_goes_without_similar_articles_when_busy(news_index, monkeypatch):
    """"More like this" is a heavy search like any other; while another runs,
    the article page is still served, without it."""
    from web.app import create_app

    engine = Engine(news_index)
    some_id = engine.ranked_ids("النفط")[0][0]
    assert engine.more_like_this(some_id)
    monkeypatch.setattr(budget, "HEAVY_UNITS", 1)
    monkeypatch.setattr(budget, "GATE_WAIT_S", 0)
    client = create_app(news_index).test_client()
    assert budget.GATE.enter()
    try:
        assert engine.more_like_this(some_id) == []
        page = client.get(f"/article/{some_id}")
    finally:
        budget.GATE.leave()
    assert page.status_code == 200


def test_highlighting_is_charged(news_index, monkeypatch):
    """Marking the matches reads each hit's headline and body text, charged
    by its length: the same request is refused only when it highlights."""
    engine = Engine(news_index)
    engine.search(Request(q="النفط", highlight=False))  # its respellings kept: both runs alike
    spent = []
    real = Budget.spend
    monkeypatch.setattr(Budget, "spend", lambda self, units: spent.append(units) or
                        real(self, units))
    engine.search(Request(q="النفط", highlight=False))
    plain = sum(spent)
    spent.clear()
    result = engine.search(Request(q="النفط"))
    shown = sum(len(h.headline) + len(h.snippet_html) for h in result.hits)
    assert sum(spent) - plain >= budget.HIGHLIGHT_UNITS * shown // 2
    import search.engine as engine_module

    monkeypatch.setattr(engine_module, "HIGHLIGHT_UNITS", budget.QUERY_UNITS)
    engine.search(Request(q="النفط", highlight=False))
    with pytest.raises(QueryTooCostly):
        engine.search(Request(q="النفط"))
