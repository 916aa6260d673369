"""The search page in a real browser: Debian's Chromium driven by Playwright,
against the real waitress server (worker threads, static files, CSP)."""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from web import create_app
from web.commands import make_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ECONOMY = "الاقتصاد"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


def serving(index):
    """The app over ``index`` under waitress on a free loopback port, in a
    background thread: yields its address (for a module's fixture)."""
    server = make_server(create_app(index), "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(5)


@pytest.fixture(scope="module")
def server_url(news_index):
    yield from serving(news_index)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors (a CSP violation is one)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def search_from_home(page, url: str, q: str) -> None:
    page.goto(url + "/")
    box = page.locator("input[name=q]")
    assert box.evaluate("el => el === document.activeElement")  # autofocus
    box.type(q)
    box.press("Enter")
    page.wait_for_selector("ol.hits")


def test_search_paginate_filter_and_open(page, server_url, tmp_path):
    search_from_home(page, server_url, ECONOMY)
    assert params(page.url) == {"q": ECONOMY}

    # Right to left, highlighted.
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("ol.hits").evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert page.locator("ol.hits mark").count() >= 10
    assert page.locator("li.hit").count() == 10
    assert "15 مقالًا في 15 قصة" in page.locator(".summary").inner_text()
    # The stylesheet loaded (CSP allows it) and the timeline is drawn.
    mark_colour = page.locator("mark").first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert mark_colour != "rgba(0, 0, 0, 0)"
    assert page.locator(".timeline-bars a").count() == 13  # the months with a match

    shot = tmp_path / "results.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    # Pagination.
    page.click("a[rel=next]")
    page.wait_for_selector("ol.hits")
    assert params(page.url)["page"] == "2"
    assert page.locator("li.hit").count() == 5
    assert page.locator(".pagination .current").inner_text() == "2"

    # A source facet narrows the search and goes back to page 1.
    page.click(".facets a:has-text('العربية')")
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": ECONOMY, "source": "العربية"}
    sources = page.locator("li.hit .source").all_inner_texts()
    assert sources and set(sources) == {"العربية"}

    # A timeline bar narrows to its period.
    page.locator(".timeline-bars a").first.click()
    page.wait_for_selector("ol.hits")
    assert params(page.url)["from"] == params(page.url)["to"]

    # Open an article: highlighted body, back link.
    title = page.locator("li.hit h2 a").first.inner_text()
    page.locator("li.hit h2 a").first.click()
    page.wait_for_selector("article h1")
    assert page.url.startswith(server_url + "/article/")
    assert page.locator("article h1").inner_text() == title
    assert page.locator("article .body mark").count() >= 1
    assert not page.console_errors, page.console_errors


def test_filters_form_works_without_javascript(browser, server_url, tmp_path):
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.click("details.advanced summary")
    page.fill("input[name=from]", "2023-09")
    page.fill("input[name=to]", "2023-09")
    page.select_option("select[name=sort]", "newest")
    page.click("form.search-form button[type=submit]")
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": ECONOMY, "from": "2023-09", "to": "2023-09", "sort": "newest"}
    assert page.locator("li.hit").count() == 3
    dates = page.locator("li.hit time").all_inner_texts()
    assert dates == ["26 سبتمبر 2023", "12 سبتمبر 2023", "11 سبتمبر 2023"]
    context.close()


def test_phone_layout(browser, server_url, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.wait_for_selector("ol.hits")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "results-phone.png"
    page.screenshot(path=str(shot))
    print(f"\nphone screenshot: {shot}")
    page.goto(f"{server_url}/article/gulf/oil?q=النفط")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "article-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"article screenshot: {shot}")
    context.close()


@pytest.mark.parametrize("width", [390, 1366])
def test_facets_are_near_the_top_on_a_phone(browser, server_url, width):
    """On a phone the side column would come after all the results: the
    facets are folded above them instead; on a desktop they stay beside."""
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.wait_for_selector("ol.hits")
    folded, aside = page.locator("details.facets-phone"), page.locator("aside.facets")
    first_hit = page.locator("ol.hits > li").first.bounding_box()
    if width == 390:
        assert folded.is_visible() and not aside.is_visible()
        assert folded.bounding_box()["y"] < first_hit["y"]
        source = folded.locator("section a").first
        assert not source.is_visible()
        folded.locator("summary").click()
        assert source.is_visible()
        source.click()
        page.wait_for_selector("ol.hits")
        assert "source" in params(page.url)
    else:
        assert aside.is_visible() and not folded.is_visible()
        assert aside.bounding_box()["y"] < first_hit["y"] + first_hit["height"]
    context.close()


def test_bad_request_page_in_browser(page, server_url):
    response = page.goto(f"{server_url}/?q={ECONOMY}&page=0")
    assert response.status == 400
    assert "رقم الصفحة" in page.locator(".error-message").inner_text()


#: Where Chromium draws a date written inside a text: the left edge of its
#: first four characters (the year) and of its last two, found with a DOM
#: Range over the text node that holds it (null if no text node does).
DATE_EDGES_JS = """([selector, text]) => {
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const i = node.data.indexOf(text);
    if (i < 0) continue;
    const left = (a, b) => {
      const r = document.createRange(); r.setStart(node, a); r.setEnd(node, b);
      return r.getBoundingClientRect().left;
    };
    return [left(i, i + 4), left(i + text.length - 2, i + text.length)];
  }
  return null;
}"""


def reads_left_to_right(page, selector: str, text: str) -> bool:
    """Whether ``text`` (2023-09) is drawn as typed: the year left of the month."""
    edges = page.evaluate(DATE_EDGES_JS, [selector, text])
    assert edges is not None, f"{text} not found in {selector}"
    year, end = edges
    return year < end


def test_dates_in_right_to_left_text_read_as_typed(page, server_url):
    # The measurement sees the bug: an unisolated date after Arabic letters
    # is drawn month first.
    page.set_content('<p dir="rtl" id="plain">التاريخ بالصيغة 2023 أو 2023-09.</p>')
    assert not reads_left_to_right(page, "#plain", "2023-09")

    page.goto(f"{server_url}/?q={ECONOMY}")
    page.click("details.advanced summary")
    for text in ("2023-09", "2023-09-26"):
        assert reads_left_to_right(page, ".hint", text), text


def test_a_bad_date_is_fixed_in_place(page, server_url):
    """The message is next to the field, what was typed is kept, the options
    stay open; fixing the date searches."""
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.click("details.advanced summary")
    page.fill("input[name=from]", "2023-13")
    page.fill("input[name=to]", "2023")
    with page.expect_navigation() as nav:
        page.press("input[name=from]", "Enter")
    response = nav.value
    assert response.status == 400
    assert page.locator("details.advanced").get_attribute("open") is not None
    box = page.locator("input[name=from]")
    assert box.input_value() == "2023-13" and page.locator("input[name=to]").input_value() == "2023"
    assert page.locator("input[name=q]").input_value() == ECONOMY
    assert box.evaluate("el => el === document.activeElement")  # ready to be corrected
    message = page.locator("#from-error")
    assert message.is_visible() and "تاريخ البداية غير مفهوم" in message.inner_text()
    # Next to the field: just below it, within the field's own column.
    field, note = box.bounding_box(), message.bounding_box()
    assert 0 <= note["y"] - (field["y"] + field["height"]) < 40
    assert note["x"] < field["x"] + field["width"] and field["x"] < note["x"] + note["width"]
    assert box.get_attribute("aria-describedby") == "from-error"
    assert reads_left_to_right(page, "#from-error", "2023-09")
    assert page.locator(".error-page").count() == 0 and page.locator("ol.hits").count() == 0

    page.fill("input[name=from]", "2023-09")
    page.press("input[name=from]", "Enter")
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": ECONOMY, "from": "2023-09", "to": "2023"}
    # Chromium logs the 400 page's own status; nothing else went wrong (no CSP violation).
    others = [e for e in page.console_errors if "status of 400" not in e]
    assert not others, others


def test_home_page_shows_the_archive_on_a_phone(browser, server_url, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server_url + "/")
    facts = page.locator(".archive-facts")
    assert facts.is_visible() and "17 مقالًا" in facts.inner_text()
    assert page.locator(".archive-sources li").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "home-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nhome screenshot: {shot}")
    context.close()
def test_timeline_counts_show_on_a_phone_and_bars_narrow(browser, server_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server_url}/?q={ECONOMY}&from=2023-09-01&to=2023-09-30")
    counts = page.locator(".timeline-bars a .n")
    # Daily bars for one month; each count is drawn as text, no hover needed.
    assert page.locator(".timeline-bars").get_attribute("data-unit") == "day"
    assert page.locator(".timeline-bars li").count() == 30
    assert counts.all_inner_texts() == ["1", "1", "1"]
    for n in range(counts.count()):
        box = counts.nth(n).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
        assert counts.nth(n).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(".timeline-bars a").first.tap()
    page.wait_for_selector("ol.hits")
    assert params(page.url)["from"] == params(page.url)["to"] == "2023-09-11"
    assert page.locator("li.hit").count() == 1
    context.close()


def test_several_sources_from_the_facet(page, server_url):
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.click(".facets a:has-text('العربية')")
    page.wait_for_selector("ol.hits")
    page.click(".facets a:has-text('الجزيرة')")
    page.wait_for_selector("ol.hits")
    assert parse_qs(urlsplit(page.url).query)["source"] == ["العربية", "الجزيرة"]
    assert set(page.locator("li.hit .source").all_inner_texts()) == {"العربية", "الجزيرة"}
    assert page.locator(".chips li").count() == 3  # two sources and "remove all"
    # Searching again from the form keeps both sources.
    page.click("form.search-form button[type=submit]")
    page.wait_for_selector("ol.hits")
    assert parse_qs(urlsplit(page.url).query)["source"] == ["العربية", "الجزيرة"]
    # A selected source is a toggle: clicking it again removes it.
    page.click(".facets a[aria-current]:has-text('العربية')")
    page.wait_for_selector("ol.hits")
    assert parse_qs(urlsplit(page.url).query)["source"] == ["الجزيرة"]
    assert not page.console_errors, page.console_errors
# -- completions under the search box (web/static/suggest.js) -----------------------------

def open_suggestions(page, url: str, typed: str):
    page.goto(url + "/")
    box = page.locator("input[name=q]")
    box.type(typed)
    page.wait_for_selector("#q-suggestions [role=option]")
    return box


def test_suggestions_follow_the_combobox_pattern(page, server_url):
    box = open_suggestions(page, server_url, "ال")
    listbox = page.locator("#q-suggestions")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-controls") == "q-suggestions"
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("autocomplete") is None  # the browser's own history stays on
    assert listbox.get_attribute("role") == "listbox"
    assert listbox.evaluate("el => getComputedStyle(el).direction") == "rtl"
    options = page.locator("#q-suggestions [role=option]")
    assert options.count() >= 3
    # Arrow keys move the highlight (and wrap); the box keeps the focus.
    box.press("ArrowDown")
    box.press("ArrowDown")
    second = options.nth(1)
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    assert second.get_attribute("aria-selected") == "true"
    assert page.locator("#q-suggestions [aria-selected=true]").count() == 1
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == options.nth(0).get_attribute("id")
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == options.last.get_attribute("id")
    assert box.evaluate("el => el === document.activeElement")
    assert not page.console_errors, page.console_errors


def test_enter_searches_the_highlighted_suggestion(page, server_url):
    box = open_suggestions(page, server_url, "أسع")
    first = page.locator("#q-suggestions [role=option]").first
    chosen = first.get_attribute("data-value")
    assert chosen == "أسعار"
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": chosen}
    assert not page.console_errors, page.console_errors


def test_escape_closes_and_enter_searches_what_was_typed(page, server_url):
    box = open_suggestions(page, server_url, "النف")
    box.press("Escape")
    assert page.locator("#q-suggestions").is_hidden()
    assert box.get_attribute("aria-expanded") == "false"
    assert box.get_attribute("aria-activedescendant") is None
    assert box.input_value() == "النف"
    with page.expect_navigation():
        box.press("Enter")
    assert params(page.url) == {"q": "النف"}


def test_a_click_on_a_suggestion_searches_it(page, server_url):
    open_suggestions(page, server_url, "زلز")
    option = page.locator("#q-suggestions [role=option]").first
    text = option.get_attribute("data-value")
    with page.expect_navigation():
        option.click()
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": text}


def test_the_box_works_without_the_script(browser, server_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server_url + "/")
    box = page.locator("input[name=q]")
    assert box.get_attribute("role") is None and box.get_attribute("autocomplete") is None
    assert page.locator("#q-suggestions").count() == 0
    box.fill(ECONOMY)
    box.press("Enter")
    page.wait_for_selector("ol.hits")
    assert params(page.url) == {"q": ECONOMY}
    context.close()


@pytest.fixture(scope="module")
def years_url(tmp_path_factory):
    """An archive whose matches for WHEAT span six and a half years of months."""
    from datetime import date

    from indexer.writer import build_index
    from tests.conftest import article_text

    root = tmp_path_factory.mktemp("years")
    archive = root / "archive"
    archive.mkdir()
    for n in range(12):
        when = date(2019 + n // 2 + (n == 11), 1 + (n * 5) % 12, 10)
        (archive / f"wheat-{n}.txt").write_text(article_text(
            f"أسعار القمح في تقرير رقم {n}", when, ["ارتفعت أسعار القمح في الأسواق."],
            "الجزيرة", "القمح"), "utf-8")
    build_index([archive], root / "index")
    yield from serving(root / "index")


WHEAT = "القمح"


def _timeline_geometry(page) -> dict:
    return page.evaluate("""() => {
        const box = e => e.getBoundingClientRect();
        const scroller = box(document.querySelector('.timeline-scroll'));
        const bars = [...document.querySelectorAll('.timeline-bars li')].map(box);
        const axis = [...document.querySelectorAll('.timeline .axis span')].map(box);
        const counts = [...document.querySelectorAll('.timeline-bars a')].map(
            a => [box(a), box(a.querySelector('.n'))]);
        return {scroller: [scroller.left, scroller.right],
                bars: bars.map(b => [b.left, b.right]),
                axis: axis.map(b => [b.left, b.right]),
                counts: counts.map(([a, n]) => [a.left, a.right, n.left, n.right, n.width]),
                page: document.documentElement.scrollWidth};
    }""")


def test_a_long_timeline_shows_every_bar_on_a_desktop(page, years_url):
    """Six and a half years of months (80 columns) fit the column of
    results: no bar is out of view, each count stands inside its own column,
    and the axis's dates are the two ends of the bars."""
    page.goto(f"{years_url}/?q={WHEAT}")
    assert page.locator(".timeline-bars").get_attribute("data-unit") == "month"
    assert page.locator(".timeline").get_attribute("class") == "timeline dense"
    geo = _timeline_geometry(page)
    left, right = geo["scroller"]
    assert len(geo["bars"]) == 80
    assert all(left - 1 <= a and b <= right + 1 for a, b in geo["bars"])
    assert len(geo["counts"]) == 12
    for a_left, a_right, n_left, n_right, width in geo["counts"]:
        assert width > 0 and a_left - 1 <= n_left and n_right <= a_right + 1
    (_, oldest_right), (newest_left, _) = geo["axis"]
    assert abs(oldest_right - geo["bars"][0][1]) <= 1  # right to left: oldest on the right
    assert abs(newest_left - geo["bars"][-1][0]) <= 1
    assert page.console_errors == []


def test_a_long_timeline_scrolls_with_its_axis_on_a_phone(browser, years_url):
    """Past what a phone's width holds, the bars and their axis scroll
    together (the page does not): the dates stay at the ends of the bars."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.goto(f"{years_url}/?q={WHEAT}")
    geo = _timeline_geometry(page)
    assert geo["page"] <= 390
    left, _ = geo["scroller"]
    assert geo["bars"][-1][0] < left  # the newest months are reached by scrolling
    (_, oldest_right), (newest_left, _) = geo["axis"]
    assert abs(oldest_right - geo["bars"][0][1]) <= 1
    assert abs(newest_left - geo["bars"][-1][0]) <= 1
    # A shade at each edge, under covers that scroll with the bars: the
    # shade shows where bars lie beyond the edge.
    attachments = page.locator(".timeline-scroll").evaluate(
        "el => getComputedStyle(el).backgroundAttachment")
    assert attachments.replace(" ", "") == "local,local,scroll,scroll"
    page.locator(".timeline-scroll").evaluate("el => el.scrollBy(-10000, 0)")
    geo = _timeline_geometry(page)
    assert left - 1 <= geo["bars"][-1][0] and geo["axis"][1][0] >= left - 1
    context.close()
