"""Results to take away: the CSV and JSON downloads (web and CLI), the Atom
feed per query and the OpenSearch description."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from arshif.cli import main
from conftest import XSS, XSS_ATTR, XSS_ID, write_news
from indexer.writer import build_index
from search import budget, export
from search.engine import Engine
from web import create_app, feed
from web.errors import TOO_COSTLY

ECONOMY = "الاقتصاد"  # in every one of the 15 test articles
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
WILDCARDS = " ".join(f"*{c}*" for c in "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" * 5)[:499]


class Counting:
    """The engine, counting the articles read: shows that a download is
    written as it is sent, not before."""

    def __init__(self, engine: Engine):
        self.engine, self.articles_read = engine, 0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def article(self, article_id, q=""):
        self.articles_read += 1
        return self.engine.article(article_id, q)


@pytest.fixture(scope="module")
def client(news_index):
    return create_app(news_index).test_client()


def csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def api_ids(client, **params) -> list[str]:
    """The page's ranking of a request, every page of it."""
    data = client.get("/api/search", query_string={"per_page": 100, **params}).get_json()
    return [h["id"] for h in data["hits"]]


def cli(*args):
    return CliRunner().invoke(main, ["search", *map(str, args)])


# -- CSV and JSON downloads ---------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"sort": "newest"}, {"sort": "oldest"},
                                    {"source": "الجزيرة"}, {"from": "2023", "sort": "newest"}])
def test_csv_download_is_the_pages_result_set(client, params):
    res = client.get("/results.csv", query_string={"q": ECONOMY, **params})
    assert res.status_code == 200
    assert res.content_type == "text/csv; charset=utf-8"
    disposition = res.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''arshif-%D8%A7%D9%84%D8%A7%D9%82%D8%AA%D8%B5%D8%A7%D8%AF.csv" \
        in disposition
    data = res.get_data()
    assert data.split(b"\r\n")[0] == b"\xef\xbb\xbfrank,id,headline,date,source,score,link"
    rows = csv_rows(data)
    assert [r["id"] for r in rows] == api_ids(client, q=ECONOMY, **params)
    assert [r["rank"] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
    if "source" in params:
        assert {r["source"] for r in rows} == {params["source"]}


def test_csv_cells_are_plain_text_and_links_open_the_articles(client, news_index):
    rows = csv_rows(client.get("/results.csv", query_string={"q": "عاجل النفط"}).get_data())
    by_id = {r["id"]: r for r in rows}
    hostile = by_id[XSS_ID]
    assert hostile["headline"] == f"خبر عاجل {XSS} {XSS_ATTR}"  # the archive's text, as is
    assert hostile["date"] == "2023-09-26" and hostile["source"] == f"مصدر {XSS}"
    assert not any("<mark>" in v or "&lt;" in v for r in rows for v in r.values())
    assert float(by_id["gulf/oil"]["score"]) > 0
    for row in rows:
        link = urlsplit(row["link"])
        assert link.scheme == "http" and link.path.startswith("/article/")
        page = client.get(link.path)
        assert page.status_code == 200
        [shown] = re.findall("<h1>(.*?)</h1>", page.get_data(as_text=True))
        assert "<" not in shown and html.unescape(shown) == row["headline"]


def test_json_download_has_the_csv_rows(client):
    params = {"q": ECONOMY, "sort": "oldest", "to": "2023-06"}
    res = client.get("/results.json", query_string=params)
    assert res.status_code == 200 and res.mimetype == "application/json"
    assert res.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(res.get_data(as_text=True))
    assert data["query"] == ECONOMY
    rows = csv_rows(client.get("/results.csv", query_string=params).get_data())
    assert [list(h) for h in data["hits"]] == [list(export.COLUMNS)] * len(rows)
    assert [{k: str(v) for k, v in h.items()} for h in data["hits"]] == rows
    assert all(h["date"] <= "2023-06-30" for h in data["hits"])


def test_downloads_are_streamed(news_index):
    """The articles are read as the body is sent: nothing is read before."""
    backend = Counting(Engine(news_index))
    client = create_app(backend=backend).test_client()
    for fmt in ("csv", "json"):
        backend.articles_read = 0
        res = client.get(f"/results.{fmt}", query_string={"q": ECONOMY})
        assert res.is_streamed and backend.articles_read == 0
        body = iter(res.response)
        next(body)  # the header row, or the JSON document's start
        assert backend.articles_read <= 1
        rest = b"".join(body)
        assert backend.articles_read == 15
        assert rest


def test_download_stops_at_the_row_limit(client, monkeypatch):
    monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 4)
    rows = csv_rows(client.get("/results.csv", query_string={"q": ECONOMY}).get_data())
    assert [r["id"] for r in rows] == api_ids(client, q=ECONOMY)[:4]
    page = client.get("/", query_string={"q": ECONOMY}).get_data(as_text=True)
    assert "تنزيل أول 4 نتائج" in page
    monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 100)
    page = client.get("/", query_string={"q": ECONOMY}).get_data(as_text=True)
    assert "تنزيل النتائج" in page


def test_formula_cells_are_quoted(tmp_path):
    """A cell a spreadsheet would run (= + - @) starts with an apostrophe."""
    folder = tmp_path / "archive"
    folder.mkdir()
    records = [{"id": "f", "title": '=HYPERLINK("http://evil","اضغط") الاقتصاد',
                "text": "الاقتصاد اليوم.", "date": "2023-01-02", "source": "@مصدر"},
               {"id": "g", "title": "-2+3 الاقتصاد", "text": "الاقتصاد غدًا.",
                "date": "2023-01-03", "source": "+مصدر"}]
    (folder / "a.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    build_index([folder], tmp_path / "index")
    client = create_app(tmp_path / "index").test_client()
    rows = csv_rows(client.get("/results.csv", query_string={"q": ECONOMY}).get_data())
    cells = {r["id"]: r for r in rows}
    assert cells["f"]["headline"] == "'=HYPERLINK(\"http://evil\",\"اضغط\") الاقتصاد"
    assert cells["f"]["source"] == "'@مصدر"
    assert cells["g"]["headline"] == "'-2+3 الاقتصاد" and cells["g"]["source"] == "'+مصدر"
    assert export.safe_cell("\t=1") == "'\t=1" and export.safe_cell("1=1") == "1=1"
    assert export.safe_cell(None) == ""


def test_download_links_on_the_results_page(client):
    params = {"q": ECONOMY, "source": "الجزيرة", "sort": "newest", "page": "2",
              "per_page": "3"}
    page = client.get("/", query_string=params).get_data(as_text=True)
    found = re.search(r'<p class="downloads">(.*?)</p>', page, re.S).group(1)
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', found)]
    csv_link, json_link, feed_link = hrefs
    state = {"q": [ECONOMY], "source": ["الجزيرة"], "sort": ["newest"], "per_page": ["3"]}
    assert urlsplit(csv_link).path == "/results.csv"
    assert urlsplit(json_link).path == "/results.json"
    assert parse_qs(urlsplit(csv_link).query) == parse_qs(urlsplit(json_link).query) == state
    assert urlsplit(feed_link).path == "/feed"
    assert parse_qs(urlsplit(feed_link).query) == {"q": [ECONOMY], "source": ["الجزيرة"]}
    rows = csv_rows(client.get(csv_link).get_data())  # the whole set, not the page
    assert len(rows) == 6 and [r["id"] for r in rows] == api_ids(
        client, q=ECONOMY, source="الجزيرة", sort="newest")
    assert 'class="downloads"' not in client.get(
        "/", query_string={"q": "كلمةغيرموجودة"}).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/results.csv", "/results.json", "/feed"])
def test_downloads_need_a_query_and_good_parameters(client, path):
    res = client.get(path)
    assert res.status_code == 400 and "نص البحث" in res.get_data(as_text=True)
    res = client.get(path, query_string={"q": ECONOMY, "from": "أمس"})
    assert res.status_code == 400 and "تاريخ البداية غير مفهوم" in res.get_data(as_text=True)
    assert "Traceback" not in res.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/results.csv", "/results.json", "/feed"])
def test_too_costly_query_is_the_usual_400(news_index, monkeypatch, path):
    monkeypatch.setattr(budget, "QUERY_UNITS", 200)
    res = create_app(news_index).test_client().get(path, query_string={"q": WILDCARDS})
    assert res.status_code == 400 and TOO_COSTLY in res.get_data(as_text=True)


# -- the same from the CLI ------------------------------------------------------


def test_cli_csv_is_the_web_download(client, news_index):
    params = {"q": ECONOMY, "from": "2022", "sort": "newest", "source": "الجزيرة"}
    web = client.get("/results.csv", query_string=params).get_data()
    out = cli(ECONOMY, "--index", news_index, "--format", "csv", "--from", "2022", "--sort",
              "newest", "--source", "الجزيرة", "--base-url", "http://localhost/")
    assert out.exit_code == 0
    assert out.stdout_bytes == web
    paths = cli(ECONOMY, "--index", news_index, "--format", "csv").stdout_bytes
    links = [r["link"] for r in csv_rows(paths)]
    assert len(links) == 15 and all(link.startswith("/article/") for link in links)


def test_cli_json_all_is_the_web_download(client, news_index):
    web = client.get("/results.json", query_string={"q": "عاجل"}).get_data()
    out = cli("عاجل", "--index", news_index, "--json", "--all", "--base-url",
              "http://localhost")
    assert out.exit_code == 0 and out.stdout_bytes == web
    link = json.loads(web)["hits"][0]["link"]
    assert client.get(urlsplit(link).path).status_code == 200  # a quoted id opens


def test_cli_format_json_is_json(news_index):
    """``--json`` is ``--format json``: the page, as GET /api/search answers it."""
    a = json.loads(cli(ECONOMY, "--index", news_index, "--json", "--limit", "3").output)
    b = json.loads(cli(ECONOMY, "--index", news_index, "--format", "json", "--limit",
                       "3").output)
    a.pop("took_ms"), b.pop("took_ms")
    assert a == b and len(a["hits"]) == 3 and a["total"] == 15
    text = cli(ECONOMY, "--index", news_index, "--format", "text")
    assert text.exit_code == 0 and text.output.startswith("15 articles in 15 stories")


def test_cli_export_limit_and_exit_codes(news_index, monkeypatch):
    out = cli(ECONOMY, "--index", news_index, "--format", "csv", "--limit", "4")
    assert out.exit_code == 0 and len(csv_rows(out.stdout_bytes)) == 4
    none = cli("كلمةغيرموجودة", "--index", news_index, "--format", "csv")
    assert none.exit_code == 1 and len(csv_rows(none.stdout_bytes)) == 0
    for args, words in [(["--all"], "--format csv"), (["--all", "--format", "text"], "CSV"),
                        (["--format", "csv", "--page", "2"], "--page"),
                        (["--json", "--format", "csv"], "--json"),
                        (["--format", "json", "--limit", "101"], "page size")]:
        out = cli(ECONOMY, "--index", news_index, *args)
        assert out.exit_code == 2 and words in out.output, args
    out = cli(ECONOMY, "--index", news_index, "--format", "csv", "--limit", "10001")
    assert out.exit_code == 2
    monkeypatch.setattr(budget, "QUERY_UNITS", 200)
    out = cli(WILDCARDS, "--index", news_index, "--format", "csv")
    assert out.exit_code == 2 and "too much work" in out.output


# -- the Atom feed ----------------------------------------------------------------


def atom(client, **params) -> ET.Element:
    res = client.get("/feed", query_string=params)
    assert res.status_code == 200
    assert res.content_type == "application/atom+xml; charset=utf-8"
    return ET.fromstring(res.get_data())


def test_feed_is_valid_atom_newest_first(client):
    root = atom(client, q=ECONOMY)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == \
        "http://localhost/feed?q=%D8%A7%D9%84%D8%A7%D9%82%D8%AA%D8%B5%D8%A7%D8%AF"
    assert ECONOMY in root.findtext(f"{ATOM}title")
    assert root.find(f"{ATOM}author/{ATOM}name").text
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == root.findtext(f"{ATOM}id")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 15
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert root.findtext(f"{ATOM}updated") == updated[0] == "2023-10-01T00:00:00+00:00"
    for e in entries:
        assert e.findtext(f"{ATOM}id").startswith("http://localhost/article/")
        assert e.findtext(f"{ATOM}title")
        link = e.find(f"{ATOM}link").get("href")
        assert link == e.findtext(f"{ATOM}id")
        assert client.get(urlsplit(link).path).status_code == 200


def test_feed_ids_are_stable_across_requests(client):
    first = client.get("/feed", query_string={"q": ECONOMY, "source": "الجزيرة"}).get_data()
    again = client.get("/feed", query_string={"source": "الجزيرة", "q": ECONOMY,
                                              "sort": "oldest", "page": "3"}).get_data()
    assert first == again  # the order is always newest first; the page is not the feed's


def test_feed_follows_the_filters_and_caps_entries(client, monkeypatch):
    root = atom(client, q=ECONOMY, source="العربية", to="2022")
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == ["توسعة كبيرة في ميناء جدة", "البطالة تتراجع في الربع الثاني",
                      "مصنع جديد للسيارات الكهربائية"]
    monkeypatch.setattr(feed, "ENTRIES", 4)
    assert len(atom(client, q=ECONOMY).findall(f"{ATOM}entry")) == 4


def test_feed_escapes_and_leaves_out_undated_articles(client, tmp_path):
    root = atom(client, q="عاجل")
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == f"خبر عاجل {XSS} {XSS_ATTR}"  # text, not markup
    assert "<mark>عاجل</mark>" in entry.findtext(f"{ATOM}summary")
    assert entry.find(f"{ATOM}summary").get("type") == "html"

    folder = write_news(tmp_path / "archive")
    (folder / "undated.txt").write_text("خبر بلا تاريخ عن الاقتصاد\nنص عن الاقتصاد.\n", "utf-8")
    build_index([folder], tmp_path / "index")
    other = create_app(tmp_path / "index").test_client()
    assert other.get("/api/search", query_string={"q": "تاريخ"}).get_json()["total"] == 1
    assert atom(other, q="تاريخ").findall(f"{ATOM}entry") == []
    empty = atom(other, q="تاريخ")
    assert empty.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"


@pytest.mark.parametrize("q", ["عاجل\x00", "\x01عاجل\x0b", "عاجل\ufffe", "\x1fعاجل"])
def test_feed_of_a_query_with_characters_xml_cannot_hold(client, q):
    root = atom(client, q=q)
    assert root.findtext(f"{ATOM}title").startswith("أرشيف: ")
    assert len(root.findall(f"{ATOM}entry")) == 1


def test_results_page_links_its_feed(client):
    page = client.get("/", query_string={"q": ECONOMY, "from": "2023",
                                         "sort": "oldest"}).get_data(as_text=True)
    (href,) = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]*)"',
                         page)
    href = href.replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {"q": [ECONOMY], "from": ["2023"]}
    assert atom(client, **{k: v[0] for k, v in parse_qs(urlsplit(href).query).items()})


# -- OpenSearch -------------------------------------------------------------------


def test_opensearch_description(client):
    res = client.get("/opensearch.xml")
    assert res.status_code == 200
    assert res.content_type == "application/opensearchdescription+xml; charset=utf-8"
    assert res.get_data().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(res.get_data())
    assert root.tag == f"{OPENSEARCH}OpenSearchDescription"
    assert root.findtext(f"{OPENSEARCH}ShortName") == "أرشيف"
    assert root.findtext(f"{OPENSEARCH}InputEncoding") == "UTF-8"
    urls = {u.get("type"): u.get("template") for u in root.findall(f"{OPENSEARCH}Url")}
    assert urls["text/html"] == "http://localhost/?q={searchTerms}"
    page = client.get(urlsplit(urls["text/html"].replace("{searchTerms}", "النفط")).path,
                      query_string={"q": "النفط"})
    assert page.status_code == 200 and "أسعار" in page.get_data(as_text=True)
    assert urls["application/atom+xml"] == "http://localhost/feed?q={searchTerms}"


@pytest.mark.parametrize("path", ["/", f"/?q={ECONOMY}", "/article/gulf/oil", "/nowhere",
                                  "/?q=x&page=0"])
def test_every_page_links_the_opensearch_description(client, path):
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'<link rel="search" type="application/opensearchdescription\+xml" '
                     r'title="أرشيف" href="/opensearch.xml">', page)
