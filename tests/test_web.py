"""The web app through Flask's test client: every route, status code and guard."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from datetime import date
from html import unescape
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
    # Nothing inline (CSP) and nothing from elsewhere (offline): the one
    # script is the completions' own file.
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/suggest.js" defer>']
    assert " style=" not in page and "<style" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


@pytest.mark.parametrize("path", [f"/?q={ECONOMY}", "/article/gulf/oil?q=النفط", "/nope",
                                  "/?q=a&page=0", "/?q=كلمةغيرموجودة"])
def test_pages_have_nothing_inline(client, path):
    """The CSP forbids inline script and style: pages must not need them."""
    page = html(client.get(path))
    assert '<html lang="ar" dir="rtl">' in page and 'name="viewport"' in page
    assert all(' src="/static/' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "</script>" not in page.replace("></script>", "")  # no script body
    assert " style=" not in page and "<style" not in page
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


def timeline_bars(page: str) -> list[tuple[str, str]]:
    """(href, count shown) of each bar of a page's timeline."""
    chart = page[page.index('<ol class="timeline-bars"'):]
    chart = chart[:chart.index("</ol>")]
    return [(h.replace("&amp;", "&"), n) for h, n in
            re.findall(r'<a href="([^"]*)"[^>]*>\s*<span class="n[^"]*">([^<]*)</span>', chart)]


def test_timeline_per_month_over_years(client):
    page = html(client.get("/", query_string={"q": ECONOMY}))
    assert "حسب الشهر" in page
    bars = timeline_bars(page)
    assert [query_of(h)["from"] for h, _ in bars][:2] == ["2018-03", "2021-01"]
    assert bars[-1] == (bars[-1][0], "1") and query_of(bars[-1][0])["to"] == "2023-10"


def test_timeline_links_narrow_the_search(client):
    page = html(client.get("/", query_string={"q": ECONOMY, "from": "2023"}))
    assert "حسب الأسبوع" in page
    assert 'title="9 سبتمبر 2023 – 15 سبتمبر 2023: مقالان"' in page
    href = next(h for h, _ in timeline_bars(page) if query_of(h)["from"] == "2023-09-09")
    assert query_of(href) == {"q": ECONOMY, "from": "2023-09-09", "to": "2023-09-15"}
    assert "مقالان في" in html(client.get(href))
    assert " style=" not in page


def test_no_results_is_friendly(client):
    res = client.get("/", query_string={"q": "كلمةغيرموجودةأبدا"})
    assert res.status_code == 200
    assert "لم نجد مقالات تطابق بحثك" in html(res)


@pytest.mark.parametrize("q, said, tip", [
    ("كلمةغيرموجودةأبدا", "لم نجد مقالات تطابق بحثك", True),
    ("في من على", "لا يحوي إلا كلمات شائعة جدًا", False),
    ("((( ؟", "اكتب كلمة أو أكثر للبحث", False),
])
def test_an_empty_answer_says_why_and_what_to_try(client, q, said, tip):
    """Fewer or other words help a search that found nothing; a query of
    common words only, or of no word at all, is told what to type instead."""
    page = html(client.get("/", query_string={"q": q}))
    assert said in page
    assert ("جرّب كلمات أخرى أو أقل" in page) is tip


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


@pytest.mark.parametrize("params, words, code", [
    ({"page": "0"}, "رقم الصفحة", "bad_page"),
    ({"page": "abc"}, "رقم الصفحة", "bad_page"),
    ({"page": "101"}, "رقم الصفحة", "bad_page"),
    ({"per_page": str(MAX_PER_PAGE + 1)}, "عدد النتائج", "bad_per_page"),
    ({"per_page": "0"}, "عدد النتائج", "bad_per_page"),
    ({"sort": "random"}, "الترتيب", "bad_sort"),
    ({"from": "abc"}, "تاريخ البداية", "bad_date"),
    ({"to": "2023-13"}, "تاريخ النهاية", "bad_date"),
    ({"from": "2024", "to": "2023"}, "بعد تاريخ النهاية", "date_order"),
    ({"q": "ا" * (MAX_QUERY_CHARS + 1)}, "طويل", "query_too_long"),
])
def test_bad_parameters_are_400_in_arabic(client, params, words, code):
    query = {"q": ECONOMY, **params}
    res = client.get("/", query_string=query)
    assert res.status_code == 400
    assert words in html(res)
    # A date typed in the options is shown next to its field; the rest is an error page.
    inline = code in ("bad_date", "date_order")
    assert ("طلب غير صالح" in html(res)) != inline
    assert ('class="field-error"' in html(res)) == inline
    api = client.get("/api/search", query_string=query)
    assert api.status_code == 400 and words in api.get_json()["error"]
    assert api.get_json()["code"] == code


@pytest.mark.parametrize("field, other", [("from", "to"), ("to", "from")])
def test_a_bad_date_is_shown_next_to_its_field(client, field, other):
    """What was typed stays, the options stay open, and the message is by the field."""
    res = client.get("/", query_string={"q": ECONOMY, field: " 2023-13 ", other: "",
                                        "source": "الجزيرة", "sort": "relevance"})
    page = html(res)
    assert res.status_code == 400
    assert re.search(r'<details class="advanced" open>', page)
    box = re.search(rf'<input name="{field}" value="2023-13"[^>]*>', page).group()
    assert 'aria-invalid="true"' in box and f'aria-describedby="{field}-error"' in box
    assert "autofocus" in box
    label = page[page.index(box):page.index("</label>", page.index(box))]
    assert f'<span class="field-error" id="{field}-error">' in label
    assert "غير مفهوم" in label and '<bdi dir="ltr">2023-09</bdi>' in label
    assert re.search(rf'<input name="{other}" value=""', page)
    assert 'name="source" value="الجزيرة"' in page and f'value="{ECONOMY}"' in page
    assert '<li class="hit">' not in page and "طلب غير صالح" not in page


def test_a_bad_date_without_a_query_keeps_the_form_too(client):
    page = html(client.get("/", query_string={"from": "abc"}))
    assert '<input name="from" value="abc"' in page and 'class="field-error"' in page


def test_a_bad_date_in_the_query_is_explained_in_the_page(client):
    """The page says the query's date is not one, its example dates reading
    left to right; the query stays in the box as typed."""
    page = html(client.get("/", query_string={"q": f"{ECONOMY} التاريخ:2023-13"}))
    assert "لم نفهم التاريخ في الاستعلام" in page and '<bdi dir="ltr">2023-09</bdi>' in page
    assert f'value="{ECONOMY} التاريخ:2023-13"' in page and '<li class="hit">' not in page


def test_ltr_runs_isolate_latin_and_numbers():
    from web.formatting import ltr_runs

    assert ltr_runs("اكتبه مثل 2023 أو 2023-09.") == (
        'اكتبه مثل <bdi dir="ltr">2023</bdi> أو <bdi dir="ltr">2023-09</bdi>.')
    assert ltr_runs("شغّل arshif index الآن") == 'شغّل <bdi dir="ltr">arshif index</bdi> الآن'
    assert "<b>" not in ltr_runs("<b>1</b>") and "&lt;" in ltr_runs("<b>1</b>")  # escaped


def test_api_errors_are_arabic_with_a_stable_code(client, tmp_path):
    """One language for the API's human texts (Arabic), and a code for programs."""
    arabic = re.compile("^[^a-zA-Z]*$")  # no English words (the parameter name q aside)
    cases = [(client.get("/api/search"), 400, "missing_query"),
             (client.get("/api/article/no-such-id"), 404, "not_found"),
             (client.post("/api/search?q=x"), 405, "method_not_allowed"),
             (create_app(tmp_path / "none").test_client().get("/api/search?q=x"), 503,
              "no_index")]
    for res, status, code in cases:
        data = res.get_json()
        assert res.status_code == status and set(data) == {"error", "code"}
        assert data["code"] == code
        assert arabic.match(data["error"].replace(" q ", " ")), data["error"]
    ok = client.get("/api/search", query_string={"q": "كلمةغيرموجودةأبدا"}).get_json()
    assert ok["code"] == "no_results" and ok["message"] == "لم نجد مقالات تطابق بحثك."


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
    assert "<h1>أسعار <mark>النفط</mark> ترتفع مع خفض الإنتاج</h1>" in page
    assert "<h1>أسعار النفط ترتفع مع خفض الإنتاج</h1>" in html(client.get("/article/gulf/oil"))
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
    assert set(data["more_like_this"][0]) == {"id", "headline", "date", "source", "source_name"}


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


def test_home_page_shows_what_is_in_the_archive(client, news_index):
    from search.engine import Engine

    stats = Engine(news_index).stats()
    page = html(client.get("/"))
    start = page.index('class="archive-facts"')
    facts = page[start:page.index("</p>", start)]
    assert "17 مقالًا" in facts
    assert "من مارس 2018 إلى أكتوبر 2023" in facts  # the months of the oldest and newest
    named = [(name, n) for name, n in stats["sources"] if name]
    assert f"{len(named)} مصادر" in facts
    chips = re.findall(r'<li><bdi>([^<]*)</bdi> <span class="count">([\d,]+)</span></li>', page)
    assert [(unescape(n), int(c)) for n, c in chips] == named
    assert ("الجزيرة", 6) in named


def test_home_page_lists_the_largest_sources_and_counts_the_rest(tmp_path):
    from web.pages import HOME_SOURCES

    folder = tmp_path / "archive"
    folder.mkdir()
    for n in range(HOME_SOURCES + 3):
        for k in range(n + 1):  # source n has n + 1 articles
            (folder / f"s{n}-{k}.txt").write_text(article_text(
                f"خبر {k} من المصدر {n}", date(2020, 1 + n % 12, 1 + k % 28),
                [f"نص الخبر {k} للمصدر {n}."], f"مصدر {n}", "خبر"), "utf-8")
    build_index([folder], tmp_path / "index")
    page = html(create_app(tmp_path / "index").test_client().get("/"))
    chips = re.findall(r'<li><bdi>([^<]*)</bdi> <span class="count">([\d,]+)</span></li>', page)
    assert len(chips) == HOME_SOURCES and chips[0] == (f"مصدر {HOME_SOURCES + 2}",
                                                       str(HOME_SOURCES + 3))
    assert '<li class="more">وغيرها: 3 مصادر</li>' in page
    assert f"{HOME_SOURCES + 3} مصدرًا" in page


def test_archive_stats_are_counted_once_per_generation(tmp_path, monkeypatch):
    """The home page reads them on every visit: counted when a generation is
    first asked, again only after a rebuild."""
    from search import engine as engine_module

    archive = write_news(tmp_path / "archive")
    home = tmp_path / "index"
    build_index([archive], home)
    counted = []
    real = engine_module.store.disk_size
    monkeypatch.setattr(engine_module.store, "disk_size",
                        lambda folder: counted.append(folder) or real(folder))
    client = create_app(home).test_client()
    for _ in range(3):
        assert "17 مقالًا" in html(client.get("/"))
    assert len(counted) == 1
    (archive / "new.txt").write_text(article_text(
        "البطاريق تعود إلى الشاطئ", date(2024, 1, 5), ["شوهدت البطاريق على الشاطئ."],
        "الجزيرة", "البطاريق"), "utf-8")
    build_index([archive], home)
    page = html(client.get("/"))
    assert "18 مقالًا" in page and "إلى يناير 2024" in page
    assert len(counted) == 2
    html(client.get("/"))
    assert len(counted) == 2


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
    assert page_links(98, 100) == [1, None, 96, 97, 98, 99, 100]


def test_article_ids_round_trip_through_urls(client):
    with client.application.test_request_context():
        from flask import url_for

        url = url_for("pages.article", article_id=XSS_ID)
    assert url == "/article/world/2023%231~x"
    assert unquote(url.removeprefix("/article/")) == XSS_ID
    assert client.get(url).status_code == 200
