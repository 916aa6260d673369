"""Deeper than MAX_PAGE: the page, the API and the CLI say how many pages can be opened."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from arshif.cli import main
from conftest import article_text
from indexer.writer import build_index
from search.backend import MAX_PAGE
from web import create_app

WORD = "الاقتصاد"
ARTICLES = MAX_PAGE + 5  # one per page at per_page=1: 5 pages cannot be opened


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("deep")
    for n in range(ARTICLES):
        (root / "archive").mkdir(exist_ok=True)
        (root / "archive" / f"a{n:03}.txt").write_text(article_text(
            f"خبر رقم {n} عن {WORD}", date(2023, 1, 1 + n % 28),
            [f"نص الخبر {n} عن {WORD} في المنطقة."], "مصدر", WORD), "utf-8")
    build_index([root / "archive"], root / "index")
    return root / "index"


def test_api_says_which_pages_can_be_opened(home):
    client = create_app(home).test_client()
    data = client.get("/api/search", query_string={"q": WORD, "per_page": 1}).get_json()
    assert (data["total"], data["pages"], data["last_page"]) == (ARTICLES, ARTICLES, MAX_PAGE)
    few = client.get("/api/search", query_string={"q": WORD, "per_page": 50}).get_json()
    assert few["pages"] == few["last_page"] == 3


def test_page_says_which_pages_can_be_opened(home):
    client = create_app(home).test_client()
    page = client.get("/", query_string={"q": WORD, "per_page": 1}).get_data(as_text=True)
    assert f"الصفحة 1 من {ARTICLES}" in page
    assert f"تُفتح أول {MAX_PAGE} صفحة فقط" in page
    numbers = [int(n) for n in re.findall(r'aria-label="الصفحة (\d+)"', page)]
    assert max(numbers) == MAX_PAGE
    last = client.get("/", query_string={"q": WORD, "per_page": 1, "page": MAX_PAGE})
    assert last.status_code == 200 and 'rel="next"' not in last.get_data(as_text=True)
    # Within the limit, no such note.
    few = client.get("/", query_string={"q": WORD, "per_page": 50}).get_data(as_text=True)
    assert "الصفحة 1 من 3" in few and "تُفتح أول" not in few


def test_cli_says_which_pages_can_be_opened(home):
    result = CliRunner().invoke(main, ["search", WORD, "--limit", "1", "--index", str(home)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].endswith(
        f"showing stories 1-1, page 1 of {ARTICLES} (only pages 1-{MAX_PAGE} can be opened:"
        " narrow the search)")
    data = json.loads(CliRunner().invoke(main, ["search", WORD, "--limit", "1", "--json",
                                                "--index", str(home)]).stdout)
    assert data["last_page"] == MAX_PAGE
