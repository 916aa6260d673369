"""What the article page and ``/api/article`` say about an article beyond its
text: both calendars for a Hijri date, the link to the original and the
byline, read from the shared corpora's own fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.readers.records import read_json
from indexer.readers.sgml import read_sgml
from indexer.writer import build_index
from search.backend import open_backend
from web import create_app

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

RECORDS = [
    {"id": "hijri", "title": "خبر بتاريخ هجري", "content": "نص الخبر الهجري.",
     "date": "١٢ ربيع الأول ١٤٤٥هـ", "source": "aljazirah"},
    {"id": "gregorian", "title": "خبر بتاريخ ميلادي", "content": "نص الخبر الميلادي.",
     "date": "26 سبتمبر 2023", "source": "okaz",
     "url": "https://www.okaz.com.sa/news/1?a=1&b=<2>", "Author": "جدة: فلان الفلاني"},
    {"id": "hostile", "title": "خبر برابط خطر", "content": "نص الخبر.",
     "url": "javascript:alert(1)", "author": "<script>alert(1)</script>"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("meta")
    (root / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS),
                                  "utf-8")
    build_index([root / "a.jsonl"], root / "index")
    return create_app(root / "index").test_client()


def test_a_hijri_date_is_shown_in_both_calendars(client):
    page = client.get("/article/hijri").get_data(as_text=True)
    assert '<time datetime="2023-09-27">27 سبتمبر 2023</time>' in page
    assert "<bdi>١٢ ربيع الأول ١٤٤٥هـ</bdi>" in page  # as the source printed it
    data = client.get("/api/article/hijri").get_json()
    assert data["date"] == "2023-09-27" and data["date_hijri"] == "١٢ ربيع الأول ١٤٤٥هـ"


def test_a_gregorian_date_is_shown_once(client):
    page = client.get("/article/gregorian").get_data(as_text=True)
    assert '<time datetime="2023-09-26">26 سبتمبر 2023</time>' in page
    assert 'class="hijri"' not in page
    assert client.get("/api/article/gregorian").get_json()["date_hijri"] == ""


def test_a_hijri_date_filters_the_search(client):
    res = client.get("/api/search", query_string={"q": "خبر", "from": "12 ربيع الأول 1445",
                                                   "to": "2023-09-27"}).get_json()
    assert [h["id"] for h in res["hits"]] == ["hijri"]


def test_the_original_and_the_byline(client):
    page = client.get("/article/gregorian").get_data(as_text=True)
    assert ('<a class="original" href="https://www.okaz.com.sa/news/1?a=1&amp;b=&lt;2&gt;" '
            'rel="noopener noreferrer">') in page
    assert "بقلم: <bdi>جدة: فلان الفلاني</bdi>" in page
    data = client.get("/api/article/gregorian").get_json()
    assert data["url"] == "https://www.okaz.com.sa/news/1?a=1&b=<2>"
    assert data["author"] == "جدة: فلان الفلاني"
    plain = client.get("/article/hijri").get_data(as_text=True)
    assert 'class="original"' not in plain and "بقلم" not in plain


def test_only_web_addresses_are_linked(client):
    page = client.get("/article/hostile").get_data(as_text=True)
    assert "javascript:" not in page and 'class="original"' not in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert client.get("/api/article/hostile").get_json()["url"] == ""


def test_ids_stay_the_same_across_rebuilds(tmp_path):
    records = [{k: v for k, v in r.items() if k != "id"} for r in RECORDS]
    (tmp_path / "a.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    ids = []
    for _ in range(2):
        build_index([tmp_path / "a.json"], tmp_path / "ix")
        engine = open_backend(tmp_path / "ix")
        ids.append(sorted(i for i, _, _ in engine.ranked_ids("خبر")))
    assert ids[0] == ids[1] and len(ids[0]) == 3


@pytest.mark.skipif(not (CORPORA / "saudinewsnet" / "dataset").is_dir(),
                    reason="shared corpora not present")
def test_saudinewsnet_records_give_url_and_author():
    path = CORPORA / "saudinewsnet" / "dataset" / "2015-07-21.json"
    raw = json.loads(path.read_text("utf-8"))
    articles = [a for a in read_json(path) if hasattr(a, "url")]
    assert articles[0].url == raw[0]["url"] and articles[0].author == raw[0]["author"]
    assert sum(bool(a.author) for a in articles) > len(articles) / 2
    assert all(a.url.startswith("http") for a in articles)


@pytest.mark.skipif(not (CORPORA / "ant-multisource").is_dir(), reason="shared corpora not present")
def test_ant_sgml_gives_url_and_author():
    files = sorted((CORPORA / "ant-multisource" / "Alarabia").rglob("*.txt"))[:50]
    articles = [a for f in files for a in read_sgml(f, f.read_text("utf-8"))
                if hasattr(a, "url")]
    assert articles and all(a.url.startswith("http") for a in articles)
    assert any(a.author for a in articles)
