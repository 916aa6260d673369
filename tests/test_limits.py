"""One set of request limits (query length, page size, page depth) for every
way in: the engine, ``arshif search``, the web page and the JSON API.

The web used to accept queries of 1,000 characters (the engine read 500 of
them) and pages of 50 (the engine and CLI: 100); each limit is now defined
once, in search/engine.py, and checked everywhere against that value.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from search.backend import MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_CHARS, Request, SearchError
from search.commands import search_command
from search.engine import Engine
from web import create_app

WORD = "الاقتصاد"  # in every test article


def query_of_length(n: int) -> str:
    return (f"{WORD} " * n)[:n - 1] + "ا"


#: (parameter, largest accepted value): one past it is refused everywhere.
LIMITS = [("q", query_of_length(MAX_QUERY_CHARS)), ("per_page", MAX_PER_PAGE), ("page", MAX_PAGE)]


def too_big(param: str, value):
    return value + "ا" if param == "q" else value + 1


@pytest.fixture(scope="module")
def engine(news_index):
    return Engine(news_index)


@pytest.fixture(scope="module")
def client(news_index):
    return create_app(news_index).test_client()


def engine_accepts(engine, param, value) -> bool:
    args = {"q": WORD, param: value}
    try:
        engine.search(Request(**args))
    except SearchError:
        return False
    return True


def cli_accepts(news_index, param, value) -> bool:
    option = {"per_page": "--limit", "page": "--page"}.get(param)
    args = [value] if param == "q" else [WORD, option, str(value)]
    result = CliRunner().invoke(search_command, [*args, "--index", str(news_index)])
    assert "Traceback" not in result.output
    # Found or not found; 2 is a refused request, unless the page is within
    # the limit but past the query's last page (a usage error of its own).
    return result.exit_code in (0, 1) or "is past the last page" in result.stderr


def web_accepts(client, param, value, path: str) -> bool:
    res = client.get(path, query_string={"q": WORD, param: value})
    assert res.status_code in (200, 400)
    return res.status_code == 200


@pytest.mark.parametrize("param, largest", LIMITS, ids=[p for p, _ in LIMITS])
def test_every_layer_has_the_same_limits(engine, client, news_index, param, largest):
    accepted = {
        "engine": lambda v: engine_accepts(engine, param, v),
        "cli": lambda v: cli_accepts(news_index, param, v),
        "page": lambda v: web_accepts(client, param, v, "/"),
        "api": lambda v: web_accepts(client, param, v, "/api/search"),
    }
    for layer, accepts in accepted.items():
        assert accepts(largest), (layer, "refused the largest allowed", param)
        assert not accepts(too_big(param, largest)), (layer, "accepted one past the limit", param)


def test_the_web_says_the_limit_in_arabic(client):
    res = client.get("/api/search", query_string={"q": query_of_length(MAX_QUERY_CHARS + 1)})
    assert res.status_code == 400 and str(MAX_QUERY_CHARS) in res.get_json()["error"]
