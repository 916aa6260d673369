"""The web app through Flask's test client: every route, status code and guard."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner

from conftest import EMBEDDED_HEADLINE, XSS, XSS_ATTR, XSS_ID, article_text, write_news
from indexer.writer import build_index
from search.backend import MAX_PER_PAGE, MAX_QUERY_CHARS
from search.commands import search_command
from web import create_app
from web.app import CSP
from web.commands import serve_command
from web.formatting import arabic_date, articles_phrase, results_phrase, seconds
from web.pagination import page_links
from web.timeline import build_timeline

ECONOMY = "الاقتصاد"  # in every one of the 15 test articles


@pytest.fixture(scope="module")
def client(news_index):
    return create_app(news_index).test_client()


def html(response) -> str:
    return response.get_data(as_text=True)


def links(page: str, cls: str = "") -> list[str]:
    """Every href on a page (unescaped), optionally only those with rel/class ``cls``."""
    pattern = (r'<a[^>]*href="([^"]*)"' if not cls
               else rf'<a[^>]*(?:rel|class)="{cls}"[^>]*href="([^"]*)"')
    return [h.replace("&amp;", "&") for h in re.findall(pattern, page)]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- pages ----------------------------------------------------------------


def test_home_page_is_an_offline_rtl_form(client):
    res = client.get("/")
    page = html(res)
    assert res.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page
    assert 'name="viewport"' in page
    assert re.search(r'<input id="q" name="q" type="search"[^>]*autofocus', page)
    assert 'method="get"' in page and 'action="/"' in page
    assert "17 مقالًا" in page  # 15 + the hostile one + one from a read-also block
    # Nothing inline (CSP) and nothing from elsewhere (offline).
    assert "<script" not in page and " style=" not in page and "<style" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


@pytest.mark.parametrize("path", [f"/?q={ECONOMY}", "/article/gulf/oil?q=النفط", "/nope",
                                  "/?q=a&page=0", "/?q=كلمةغيرموجودة"])
def test_pages_have_nothing_inline(client, path):
    """The CSP forbids inline script and style: pages must not need them."""
    page = html(client.get(path))
    assert '<html lang="ar" dir="rtl">' in page and 'name="viewport"' in page
    assert "<script" not in page and " style=" not in page and "<style" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no event-handler attributes


def test_stylesheet_is_local_and_uses_system_fonts(client):
    res = client.get("/static/style.css")
    css = html(res)
    assert res.status_code == 200
    assert "@import" not in css and "url(" not in css and "@font-face" not in css
    assert "system-ui" in css


@pytest.mark.parametrize("path", ["/", f"/?q={ECONOMY}", "/api/search?q=x", "/healthz",
                                  "/static/style.css", "/nope", "/?page=x&q=a"])
def test_security_headers_on_every_response(client, path):
    res = client.get(path)
    assert res.headers["Content-Security-Policy"] == CSP
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"] == "same-origin"
    assert res.headers["X-Frame-Options"] == "DENY"


def test_results_page(client):
    res = client.get("/", query_string={"q": ECONOMY})
    page = html(res)
    assert res.status_code == 200
    assert "15 مقالًا" in page and "ثانية" in page
    assert page.count('<li class="hit">') == 10
    assert "<mark>" in page
    assert "26 سبتمبر 2023" in page  # dates in Arabic
    assert "الخليج الجديد" in page
    assert 'value="الاقتصاد"' in page  # the box keeps the query


def test_article_links_quote_ids(client):
    page = html(client.get("/", query_string={"q": "عاجل"}))
    hrefs = [h for h in links(page) if h.startswith("/article/")]
    assert hrefs == ["/article/world/2023%231~x?q=%D8%B9%D8%A7%D8%AC%D9%84"]
    res = client.get(hrefs[0])
    assert res.status_code == 200
    assert "خبر عاجل" in html(res)


def test_pagination_links(client):
    page = html(client.get("/", query_string={"q": ECONOMY, "per_page": 2}))
    assert "الصفحة 1 من 8" in page
    assert not links(page, "prev")
    (nxt,) = links(page, "next")
    assert query_of(nxt) == {"q": ECONOMY, "per_page": "2", "page": "2"}
    numbers = re.findall(r'aria-label="الصفحة (\d+)"', page)
    assert numbers == ["2", "3", "8"]
    page2 = html(client.get(nxt))
    assert '<span class="current" aria-current="page">2</span>' in page2
    assert query_of(links(page2, "prev")[0]) == {"q": ECONOMY, "per_page": "2"}
    last = html(client.get("/", query_string={"q": ECONOMY, "per_page": 2, "page": 8}))
    assert not links(last, "next") and last.count('<li class="hit">') == 1


def test_page_past_the_results_is_not_an_error(client):
    res = client.get("/", query_string={"q": ECONOMY, "page": 50})
    assert res.status_code == 200
    assert "لا توجد نتائج في هذه الصفحة" in html(res)


def test_source_facets_and_filter(client):
    page = html(client.get("/", query_string={"q": ECONOMY}))
    facets = page[page.index('class="facets"'):]
    assert re.search(r"<bdi>الجزيرة</bdi></a>\s*<span class=\"count\">6</span>", facets)
    href = next(h for h in links(facets) if query_of(h).get("source") == "العربية")
    assert query_of(href) == {"q": ECONOMY, "source": "العربية"}
    filtered = html(client.get(href))
    assert "5 مقالات" in filtered
    assert filtered.count('<li class="hit">') == 5
    assert "إزالة المصدر" in filtered


def test_date_filter_accepts_year_month_and_day(client):
    for lo, hi, expected in [("2023", "2023", "8 مقالات"), ("2023-09", "2023-09", "3 مقالات"),
                             ("2023-09-26", "2023-09-26", "مقال واحد"), ("٢٠٢٢", "", "12 مقالًا"),
                             ("", "2021-06", "3 مقالات")]:
        res = client.get("/", query_string={"q": ECONOMY, "from": lo, "to": hi},
                         follow_redirects=True)
        assert expected in html(res), (lo, hi)


def test_sort_newest_and_oldest(client):
    def dates(sort):
        page = html(client.get("/", query_string={"q": ECONOMY, "sort": sort, "per_page": 50}))
        return re.findall(r'<time datetime="([^"]+)"', page)

    newest = dates("newest")
    assert newest == sorted(newest, reverse=True) and newest[0] == "2023-10-01"
    assert dates("oldest") == sorted(newest)
    page = html(client.get("/", query_string={"q": ECONOMY}))
    sort_links = [h for h in links(page) if "sort=" in h]
    assert {query_of(h)["sort"] for h in sort_links} == {"newest", "oldest"}


def test_form_defaults_redirect_to_a_short_url(client):
    """The GET form sends every field; the page redirects to the short form."""
    res = client.get("/", query_string={"q": f" {ECONOMY} ", "from": "", "to": "", "source": "",
                                        "sort": "relevance", "page": "1"})
    assert res.status_code == 302
    assert query_of(res.location) == {"q": ECONOMY}
    assert client.get("/?q=").location == "/"
    assert client.get("/?q=&page=x").status_code == 400


def test_url_holds_the_whole_state(client):
    params = {"q": ECONOMY, "from": "2022", "to": "2023", "source": "الجزيرة", "sort": "oldest",
              "per_page": "2"}
    page = html(client.get("/", query_string=params))
    (nxt,) = links(page, "next")
    assert query_of(nxt) == {**params, "page": "2"}
    for name, value in [("from", "2022"), ("to", "2023"), ("source", "الجزيرة")]:
        assert f'name="{name}" value="{value}"' in page
    assert '<option value="oldest" selected>' in page


def test_timeline_per_year_over_long_spans(client):
    page = html(client.get("/", query_string={"q": ECONOMY}))
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "حسب السنة" in page
    bars = re.findall(r'<a href="([^"]*)" aria-label="([^"]*)">\s*<title>([^<]*)</title>', svg)
    assert ([query_of(h.replace("&amp;", "&"))["from"] for h, _, _ in bars]
            == ["2018", "2021", "2022", "2023"])
    assert bars[-1][2] == "2023: 8 مقالات"


def test_timeline_per_month_links_narrow_the_search(client):
    page = html(client.get("/", query_string={"q": ECONOMY, "from": "2023"}))
    assert "حسب الشهر" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<title>سبتمبر 2023: 3 مقالات</title>" in svg
    href = next(h for h in links(svg) if query_of(h)["to"] == "2023-09")
    assert query_of(href) == {"q": ECONOMY, "from": "2023-09", "to": "2023-09"}
    assert "3 مقالات" in html(client.get(href))
    assert " style=" not in svg


def test_no_results_is_friendly(client):
    res = client.get("/", query_string={"q": "كلمةغيرموجودةأبدا"})
    assert res.status_code == 200
    assert "لم نجد مقالات تطابق بحثك" in html(res)


def test_did_you_mean(client):
    page = html(client.get("/", query_string={"q": "الاقتصاض"}))
    assert "هل تقصد" in page
    href = next(h for h in links(page) if query_of(h).get("q") == ECONOMY)
    assert "15 مقالًا" in html(client.get(href))


def test_did_you_mean_on_the_bundled_archive(archive_index):
    page = html(create_app(archive_index).test_client().get("/?q=حفتز"))
    assert "هل تقصد" in page and ">حفتر</a>" in page


@pytest.mark.parametrize("q", ['"unclosed', "(", "AND", ")))", "<script>", ">x", "OR OR", "*"])
def test_malformed_queries_still_answer(client, q):
    res = client.get("/", query_string={"q": q})
    assert res.status_code == 200
    assert any(word in html(res) for word in ("نتيجة", "نتائج", "لم نجد", "كلمات"))
    assert client.get("/api/search", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize("params, words", [
    ({"page": "0"}, "رقم الصفحة"),
    ({"page": "abc"}, "رقم الصفحة"),
    ({"page": "101"}, "رقم الصفحة"),
    ({"per_page": str(MAX_PER_PAGE + 1)}, "عدد النتائج"),
    ({"per_page": "0"}, "عدد النتائج"),
    ({"sort": "random"}, "الترتيب"),
    ({"from": "abc"}, "تاريخ البداية"),
    ({"to": "2023-13"}, "تاريخ النهاية"),
    ({"from": "2024", "to": "2023"}, "بعد تاريخ النهاية"),
    ({"q": "ا" * (MAX_QUERY_CHARS + 1)}, "طويل"),
])
def test_bad_parameters_are_400_in_arabic(client, params, words):
    query = {"q": ECONOMY, **params}
    res = client.get("/", query_string=query)
    assert res.status_code == 400
    assert words in html(res) and "طلب غير صالح" in html(res)
    api = client.get("/api/search", query_string=query)
    assert api.status_code == 400 and words in api.get_json()["error"]


def test_long_query_at_the_limit_is_searched(client):
    q = ((ECONOMY + " ") * 110)[:MAX_QUERY_CHARS]  # the engine's limit, the web's too
    assert client.get("/", query_string={"q": q}).status_code == 200


def test_search_from_a_worker_thread(client):
    """Servers answer from worker threads, where signals (SIGALRM) are unavailable."""
    statuses = []
    worker = threading.Thread(target=lambda: statuses.append(
        client.get("/", query_string={"q": ECONOMY}).status_code))
    worker.start()
    worker.join(30)
    assert statuses == [200]


# -- article page ----------------------------------------------------------


def test_article_page(client):
    res = client.get("/article/gulf/oil", query_string={"q": "النفط"})
    page = html(res)
    assert res.status_code == 200
    assert "<h1>أسعار النفط ترتفع مع خفض الإنتاج</h1>" in page
    assert "26 سبتمبر 2023" in page and "الخليج الجديد" in page
    assert "<p>تقرير عن <mark>النفط</mark> أوبك" in page  # one <p> per line, highlighted
    assert page.count("<p>تقرير") + page.count("<p>ويقول") == 2
    assert "كلمات دلالية" in page and ">أوبك</a>" in page
    related = next(h for h in links(page)
                   if query_of(h).get("q") == "إيكونوميست: النفط يعود إلى الواجهة")
    assert related.startswith("/?")
    assert "مقالات مشابهة" in page
    assert "العودة إلى نتائج «النفط»" in page


def test_article_from_a_read_also_block_links_its_parent(client):
    page = html(client.get("/article/gulf/oil~1"))
    assert EMBEDDED_HEADLINE in page
    assert "تاريخ غير معروف" in page
    assert '<a href="/article/gulf/oil">أسعار النفط ترتفع مع خفض الإنتاج</a>' in page


def test_unknown_article_is_404_in_arabic(client):
    res = client.get("/article/no/such#id")
    assert res.status_code == 404
    assert "غير موجود" in html(res) and 'dir="rtl"' in html(res)
    api = client.get("/api/article/no/such")
    assert api.status_code == 404 and "error" in api.get_json()


def test_unknown_page_and_method(client):
    assert client.get("/no/such/page").status_code == 404
    res = client.post("/")
    assert res.status_code == 405 and "غير مسموح" in html(res)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/", "/api/search", "/article/gulf/oil", "/healthz"])
def test_405_names_the_allowed_methods(client, method, path):
    res = client.open(path, method=method)
    assert res.status_code == 405
    allowed = {m.strip() for m in res.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and method not in allowed
    assert res.headers["Content-Type"].startswith(
        "application/json" if path.startswith(("/api/", "/healthz")) else "text/html")


# -- escaping -----------------------------------------------------------------


def assert_inert(text: str):
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "onerror=alert(1)>" not in text.replace("onerror=alert(1)&gt;", "")


def test_hostile_article_is_inert_on_results_page(client):
    page = html(client.get("/", query_string={"q": "عاجل"}))
    assert_inert(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>عاجل</mark>" in page


def test_hostile_article_is_inert_on_article_page(client):
    page = html(client.get(f"/article/{XSS_ID.replace('#', '%23')}", query_string={"q": "عاجل"}))
    assert_inert(page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_hostile_article_is_inert_in_json(client):
    for url in ["/api/search?q=عاجل", f"/api/article/{XSS_ID.replace('#', '%23')}"]:
        res = client.get(url)
        assert res.mimetype == "application/json"
        raw = html(res)
        assert "<" not in raw and ">" not in raw  # escaped as \u003c / \u003e
    data = client.get(f"/api/article/{XSS_ID.replace('#', '%23')}").get_json()
    assert data["headline"] == f"خبر عاجل {XSS} {XSS_ATTR}"  # the data itself is intact


def test_query_with_markup_renders_as_text(client):
    page = html(client.get("/", query_string={"q": f"{XSS} {XSS_ATTR}"}))
    assert_inert(page)
    assert "&lt;script&gt;" in page


# -- JSON API ---------------------------------------------------------------


def test_api_search_is_the_cli_json(client, news_index):
    api = client.get("/api/search", query_string={"q": ECONOMY, "per_page": 3, "page": 2,
                                                  "from": "2022", "sort": "newest"})
    assert api.status_code == 200
    cli = CliRunner().invoke(search_command, [ECONOMY, "--index", str(news_index), "--json",
                                              "--limit", "3", "--page", "2", "--from", "2022",
                                              "--sort", "newest"])
    expected, got = json.loads(cli.output), api.get_json()
    expected.pop("took_ms"), got.pop("took_ms")
    assert got == expected
    assert list(api.get_json()) == list(json.loads(cli.output))  # same keys, same order


def test_api_search_requires_a_query(client):
    res = client.get("/api/search")
    assert res.status_code == 400 and "q" in res.get_json()["error"]


def test_api_article(client):
    data = client.get("/api/article/gulf/oil").get_json()
    assert data["headline"] == "أسعار النفط ترتفع مع خفض الإنتاج"
    assert data["related"] == ["إيكونوميست: النفط يعود إلى الواجهة"]
    assert data["more_like_this"]
    assert set(data["more_like_this"][0]) == {"id", "headline", "date", "source"}


def test_healthz(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok", "articles": 17, "generation": "gen-000001"}


# -- no index, failures, rebuilds -----------------------------------------------


def test_without_an_index(tmp_path):
    client = create_app(tmp_path / "empty").test_client()
    res = client.get("/healthz")
    assert res.status_code == 503 and "error" in res.get_json()
    for path in ["/", f"/?q={ECONOMY}", "/article/x"]:
        res = client.get(path)
        assert res.status_code == 503 and "arshif index" in html(res)
    assert client.get("/api/search?q=x").status_code == 503


class BrokenEngine:
    home = "nowhere"

    def search(self, req):
        raise RuntimeError("secret internal detail")


def test_unexpected_errors_are_a_generic_arabic_500(caplog):
    client = create_app(backend=BrokenEngine()).test_client()
    with caplog.at_level(logging.ERROR):
        res = client.get(f"/?q={ECONOMY}")
    assert res.status_code == 500
    page = html(res)
    assert "حدث خطأ غير متوقع" in page
    assert "Traceback" not in page and "secret internal detail" not in page
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)
    api = client.get("/api/search?q=x")
    assert api.status_code == 500 and "secret" not in html(api)


def test_app_is_not_in_debug_mode(news_index):
    assert not create_app(news_index).debug


def test_new_index_is_served_without_restart(tmp_path):
    archive = write_news(tmp_path / "archive")
    home = tmp_path / "index"
    build_index([archive], home)
    app = create_app(home)
    client = app.test_client()
    engine = app.extensions["arshif.backend"]
    assert "لم نجد" in html(client.get("/?q=البطاريق"))
    (archive / "new.txt").write_text(article_text(
        "البطاريق تعود إلى الشاطئ", date(2024, 1, 5), ["شوهدت البطاريق على الشاطئ."],
        "الجزيرة", "البطاريق"), "utf-8")
    build_index([archive], home)
    page = html(client.get("/?q=البطاريق"))
    assert "مقال واحد" in page and "<mark>البطاريق</mark>" in page
    assert client.get("/healthz").get_json()["generation"] == "gen-000002"
    assert app.extensions["arshif.backend"] is engine  # one Engine for the app's life


# -- serve command ------------------------------------------------------------------


def test_serve_without_index_fails_in_one_line(tmp_path):
    result = CliRunner().invoke(serve_command, ["--index", str(tmp_path / "none")])
    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "arshif index --index" in message


def test_serve_with_a_busy_port_fails_in_one_line(news_index):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(serve_command, ["--index", str(news_index), "--port",
                                                    str(port)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("arshif: cannot listen on 127.0.0.1:")
    assert "\n" not in result.output.strip()


def test_serve_prints_the_address(news_index, monkeypatch):
    seen = {}

    class FakeServer:
        effective_port = 5123

        def run(self):
            raise KeyboardInterrupt

        def close(self):
            seen["closed"] = True

    def fake_make_server(app, host, port, threads, sock, **options):
        seen.update(app=app, host=host, port=port, threads=threads, sock=sock, **options)
        return FakeServer()

    monkeypatch.setattr("web.commands.make_server", fake_make_server)
    result = CliRunner().invoke(serve_command, ["--index", str(news_index), "--port", "0",
                                                "--threads", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    port = seen["sock"].getsockname()[1]
    seen["sock"].close()
    assert f"http://127.0.0.1:{port}/ (1 process;" in result.output
    assert seen["threads"] == 3 and seen["closed"] and not seen["app"].debug


# -- helpers ----------------------------------------------------------------------------


def test_arabic_date():
    assert arabic_date("2023-09-26") == "26 سبتمبر 2023"
    assert arabic_date("2023-01-05T10:00:00") == "5 يناير 2023"
    assert arabic_date(date(2023, 12, 1)) == "1 ديسمبر 2023"
    assert arabic_date("2023-09") == "سبتمبر 2023"
    assert arabic_date("2023") == "2023"
    assert arabic_date(None) == "" and arabic_date("junk") == "junk"


def test_arabic_counts():
    assert [results_phrase(n) for n in (1, 2, 3, 10, 11, 100, 103)] == [
        "نتيجة واحدة", "نتيجتان", "3 نتائج", "10 نتائج", "11 نتيجة", "100 نتيجة", "103 نتائج"]
    assert articles_phrase(1234) == "1,234 مقالًا"
    assert seconds(3.2) == "أقل من 0.01 ثانية" and seconds(250) == "0.25 ثانية"


def test_page_links():
    assert page_links(1, 1) == []
    assert page_links(1, 8) == [1, 2, 3, None, 8]
    assert page_links(5, 9) == [1, None, 3, 4, 5, 6, 7, None, 9]
    assert page_links(1, 500)[-1] == 100  # the engine serves no deeper page


def test_timeline_fills_gaps_and_switches_to_years():
    months = [{"value": "2023-01", "count": 2}, {"value": "2023-04", "count": 4}]
    tl = build_timeline({"month": months, "year": [{"value": "2023", "count": 6}]})
    assert tl.unit == "month"
    assert [b.period for b in tl.bars] == ["2023-01", "2023-02", "2023-03", "2023-04"]
    assert [b.count for b in tl.bars] == [2, 0, 0, 4]
    assert tl.bars[3].height == tl.height and tl.bars[0].height == tl.height / 2
    assert tl.bars[0].x > tl.bars[3].x  # right to left
    span = {"month": [{"value": "2020-01", "count": 1}, {"value": "2023-01", "count": 1}],
            "year": [{"value": "2020", "count": 1}, {"value": "2023", "count": 1}]}
    assert build_timeline(span).unit == "year"
    assert [b.period for b in build_timeline(span).bars] == ["2020", "2021", "2022", "2023"]
    assert build_timeline({}) is None


def test_article_ids_round_trip_through_urls(client):
    with client.application.test_request_context():
        from flask import url_for

        url = url_for("pages.article", article_id=XSS_ID)
    assert url == "/article/world/2023%231~x"
    assert unquote(url.removeprefix("/article/")) == XSS_ID
    assert client.get(url).status_code == 200
