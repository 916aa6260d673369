"""What the article page and ``/api/article`` say about an article beyond its
text: both calendars for a Hijri date."""

from __future__ import annotations

import json

import pytest

from indexer.writer import build_index
from web import create_app

RECORDS = [
    {"id": "hijri", "title": "خبر بتاريخ هجري", "content": "نص الخبر الهجري.",
     "date": "١٢ ربيع الأول ١٤٤٥هـ", "source": "aljazirah"},
    {"id": "gregorian", "title": "خبر بتاريخ ميلادي", "content": "نص الخبر الميلادي.",
     "date": "26 سبتمبر 2023", "source": "okaz"},
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
