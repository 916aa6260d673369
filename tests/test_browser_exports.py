"""Results to take away, in Chromium: printing a results or article page
prints the articles alone, and the page's download link saves the CSV."""

from __future__ import annotations

import pytest

# The server, browser and page of the browser tests (they skip without Chromium).
from test_browser import browser, page, server_url  # noqa: F401

pytestmark = pytest.mark.browser

ECONOMY = "الاقتصاد"
#: What a printout leaves out: the site's controls around the articles.
CONTROLS = (".site-header", "form.search-form", ".facets", ".site-footer", ".pagination",
            ".downloads", ".timeline", ".sort")


def visible(tab, selector: str) -> bool:
    found = tab.locator(selector)
    return found.count() > 0 and any(found.nth(i).is_visible() for i in range(found.count()))


def test_printing_a_results_page_prints_the_results(page, server_url):  # noqa: F811
    page.goto(f"{server_url}/?q={ECONOMY}")
    page.wait_for_selector("ol.hits")
    assert all(visible(page, s) for s in CONTROLS)  # on screen, every control is there

    page.emulate_media(media="print")
    hidden = [s for s in CONTROLS if visible(page, s)]
    assert not hidden, f"printed: {hidden}"
    hits = page.locator("li.hit")
    assert hits.count() == 10 and all(hits.nth(i).is_visible() for i in range(10))
    assert page.locator("li.hit mark").first.is_visible()
    # Without the search box, the printout says what was searched.
    assert page.locator("#results-title").is_visible()
    assert ECONOMY in page.locator("#results-title").inner_text()
    assert page.locator(".summary").is_visible()
    assert not page.console_errors, page.console_errors


def test_printing_an_article_prints_the_article(page, server_url):  # noqa: F811
    page.goto(f"{server_url}/article/gulf/oil?q={ECONOMY}")
    page.wait_for_selector("article.article")
    assert visible(page, ".similar") and visible(page, ".site-header")
    page.emulate_media(media="print")
    for selector in (".site-header", "form.search-form", ".site-footer", ".similar", ".back"):
        assert not visible(page, selector), selector
    assert page.locator("article.article h1").is_visible()
    assert "أسعار النفط" in page.locator("article.article h1").inner_text()
    assert page.locator("article.article .body p").first.is_visible()
    assert page.locator(".keywords").is_visible()


def test_download_link_saves_the_csv(page, server_url, tmp_path):  # noqa: F811
    page.goto(f"{server_url}/?q={ECONOMY}&source=الجزيرة")
    with page.expect_download() as info:
        page.locator(".downloads a", has_text="CSV").click()
    download = info.value
    assert download.suggested_filename == f"arshif-{ECONOMY}.csv"
    saved = tmp_path / "results.csv"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrank,id,headline,date,source,score,link\r\n")
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 6 and all(",الجزيرة," in line for line in lines[1:])
