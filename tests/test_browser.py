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


@pytest.fixture(scope="module")
def server_url(news_index):
    """The app under waitress on a free loopback port, in a background thread."""
    server = make_server(create_app(news_index), "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(5)


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
    assert page.locator("svg.timeline-chart a").count() == 4

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
    page.locator("svg.timeline-chart a").first.click()
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


def test_bad_request_page_in_browser(page, server_url):
    response = page.goto(f"{server_url}/?q={ECONOMY}&page=0")
    assert response.status == 400
    assert "رقم الصفحة" in page.locator(".error-message").inner_text()
