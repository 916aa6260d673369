"""The page of a whole story (/story/<id>, /api/story/<id>): every article
of a story too large for a result's list of its others, a page at a time."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import OTHER_STORY, STORY, write_story_news
from indexer.writer import build_index
from search.backend import MAX_OTHERS, SearchError
from search.engine import Engine
from web import create_app

SOURCES = ("واس", "الرياض", "المدينة")
#: One story printed MAX_OTHERS + 4 times (other headlines, sources, days),
#: and an article of its own.
BIG = MAX_OTHERS + 5
NEWS = [(f"paper{n % 3}/visit{n:02d}", date(2023, 9, 26 + n % 2), SOURCES[n % 3],
         f"الرياض تستضيف اجتماعا وزاريا {n}", STORY) for n in range(BIG)] + [
    ("spa/japan", date(2023, 9, 26), "واس", "وزير الخارجية يستقبل سفير اليابان", OTHER_STORY)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("story-page")
    build_index([write_story_news(root / "archive", NEWS)], root / "index")
    return Engine(root / "index")


@pytest.fixture(scope="module")
def client(engine):
    return create_app(backend=engine).test_client()


def test_every_article_of_the_story_a_page_at_a_time(engine):
    whole = engine.story("paper1/visit07", per_page=10)
    assert (whole.articles, whole.pages, whole.page, len(whole.members)) == (BIG, 3, 1, 10)
    pages = [engine.story("paper1/visit07", page=p, per_page=10) for p in (1, 2, 3)]
    members = [m for p in pages for m in p.members]
    assert len(members) == BIG and len({m["id"] for m in members}) == BIG
    dates = [m["date"] for m in members]
    assert dates == sorted(dates)  # oldest first
    assert members[0]["id"] == whole.id
    assert {m["source_name"] for m in members} == set(SOURCES)
    assert all(m["headline"].startswith("الرياض تستضيف") for m in members)
    # Any article of the story gives the same story.
    assert engine.story(whole.id, per_page=10) == whole
    with pytest.raises(SearchError):
        engine.story(whole.id, page=4, per_page=10)


def test_an_article_of_its_own_is_a_story_of_one(engine):
    alone = engine.story("spa/japan")
    assert (alone.articles, alone.pages, [m["id"] for m in alone.members]) == (
        1, 1, ["spa/japan"])
    assert engine.story("no/such") is None


def test_the_results_link_to_the_whole_story(client):
    html = client.get("/", query_string={"q": "اجتماعا وزاريا"}).get_data(as_text=True)
    assert f"كل مقالات القصة ({BIG})" in html
    assert 'href="/story/' in html
    # A story the list holds whole has no such link.
    html = client.get("/", query_string={"q": "اليابان"}).get_data(as_text=True)
    assert "كل مقالات القصة" not in html


def test_the_story_page(client, engine):
    first = engine.story("paper0/visit00").id
    page = client.get(f"/story/{first}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'dir="rtl"' in html and "كل مقالات القصة" in html
    assert html.count('href="/article/') == BIG
    assert "الأقدم أولًا" in html and "المدينة" in html


def test_the_api(client, engine):
    data = client.get("/api/story/paper2/visit05").get_json()
    assert set(data) == {"id", "articles", "page", "pages", "per_page", "members"}
    assert data["articles"] == BIG and len(data["members"]) == BIG
    assert set(data["members"][0]) == {"id", "headline", "source", "source_name", "date", "url"}


@pytest.mark.parametrize("path", ["/story/no/such", "/api/story/no/such"])
def test_an_unknown_story_is_a_404_without_a_trace(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    text = answer.get_data(as_text=True)
    assert "Traceback" not in text and "غير موجود" in text


@pytest.mark.parametrize("page", ["2", "0", "x"])
def test_a_page_the_story_does_not_have_is_a_400(client, page):
    answer = client.get("/story/spa/japan", query_string={"page": page})
    assert answer.status_code == 400
    assert "Traceback" not in answer.get_data(as_text=True)
    assert client.get("/api/story/spa/japan",
                      query_string={"page": page}).get_json()["code"] == "bad_page"
