"""A story printed by several papers is one entry of the results page, in
Debian's Chromium (Playwright) against the real waitress server; its
"N more" opens the story's other articles without any script."""

from __future__ import annotations

import os
import threading

import pytest

from web import create_app
from web.commands import make_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
QUERY = "وزير الخارجية"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


@pytest.fixture(scope="module")
def server_url(story_index):
    server = make_server(create_app(story_index), "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(5)


@pytest.mark.parametrize("viewport,scripts", [((1280, 900), True), ((390, 844), False)])
def test_one_entry_per_story_and_its_other_articles(server_url, viewport, scripts):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
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
        browser.close()
