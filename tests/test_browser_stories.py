"""A story printed by several papers is one entry of the results page, in
Debian's Chromium (Playwright) against the real waitress server; its
"N more" opens the story's other articles without any script."""

from __future__ import annotations

import pytest

# The browser of the browser tests (they skip without Chromium) and their server.
from test_browser import browser, serving  # noqa: F401

pytestmark = pytest.mark.browser

QUERY = "وزير الخارجية"


@pytest.fixture(scope="module")
def server_url(story_index):
    yield from serving(story_index)


@pytest.mark.parametrize("viewport,scripts", [((1280, 900), True), ((390, 844), False)])
def test_one_entry_per_story_and_its_other_articles(browser, server_url, viewport,  # noqa: F811
                                                    scripts):
    context = browser.new_context(viewport=dict(zip(("width", "height"), viewport,
                                                    strict=True)),
                                  java_script_enabled=scripts, locale="ar")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{server_url}/?q={QUERY}")
    page.wait_for_selector("ol.hits")

    assert page.locator("li.hit").count() == 5
    assert "7 مقالات في 5 قصص" in page.locator(".summary").inner_text()
    story = page.locator("li.hit details.story")
    assert story.count() == 1
    assert story.evaluate("el => getComputedStyle(el).direction") == "rtl"
    summary = story.locator("summary")
    assert "ومقالان آخران عن الخبر نفسه" in summary.inner_text()
    links = story.locator("ul a")
    assert not links.first.is_visible()  # closed until asked

    summary.click()
    assert links.count() == 2 and links.first.is_visible()
    sources = set(links.all_inner_texts())
    shown = page.locator("li.hit:has(details.story) .meta .source").inner_text()
    assert sources | {shown} == {"واس", "الرياض", "المدينة"}
    assert story.locator("time").count() == 2

    links.first.click()
    page.wait_for_selector("article h1")
    assert "/article/" in page.url
    assert not errors, errors
    context.close()


@pytest.fixture(scope="module")
def big_story_url(tmp_path_factory):
    """A story printed more times than a result lists (test_story_page.NEWS)."""
    from conftest import write_story_news
    from indexer.writer import build_index
    from test_story_page import NEWS

    root = tmp_path_factory.mktemp("big-story")
    build_index([write_story_news(root / "archive", NEWS)], root / "index")
    yield from serving(root / "index")


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)])
def test_a_cut_list_leads_to_the_whole_story(browser, big_story_url, viewport):  # noqa: F811
    from test_story_page import BIG

    context = browser.new_context(viewport=dict(zip(("width", "height"), viewport,
                                                    strict=True)), locale="ar")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{big_story_url}/?q=اجتماعا وزاريا")
    page.locator("li.hit details.story summary").first.click()
    link = page.get_by_role("link", name=f"كل مقالات القصة ({BIG})")
    assert link.is_visible()
    link.click()
    page.wait_for_selector("ol.story-members")
    assert "/story/" in page.url
    rows = page.locator("ol.story-members > li")
    assert rows.count() == BIG
    assert rows.first.locator("time").count() == 1
    assert page.locator("ol.story-members").evaluate(
        "el => getComputedStyle(el).direction") == "rtl"
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    rows.nth(3).locator("a").click()
    page.wait_for_selector("article h1")
    assert "/article/" in page.url
    assert not errors, errors
    context.close()
