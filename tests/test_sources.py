"""Sources: display names from a sources file, several sources at once, a
filter that ignores case and spelling, and an unknown source explained."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer import manifest, store
from indexer.sources import DEFAULT_SOURCES, SourcesFileError, read_sources, source_key
from indexer.writer import build_index
from search.backend import Request, open_backend
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

SOURCES_TSV = (
    "# slug<TAB>name<TAB>url\n"
    "\n"
    "aljazirah\tالجزيرة\thttps://www.al-jazirah.com\n"
    "OKAZ\tعكاظ\n"
    "3alyoum\tعاليوم\thttps://www.3alyoum.com\n"
)
RECORDS = [
    {"id": f"{source}-{n}", "title": f"خبر الاقتصاد {n} من {source}",
     "content": f"تقرير عن الاقتصاد رقم {n}.", "date": f"2015-07-2{n}", "source": source}
    for source, count in (("aljazirah", 3), ("okaz", 2), ("3alyoum", 1), ("الخليج الجديد", 1))
    for n in range(1, count + 1)
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    (root / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS),
                                  "utf-8")
    (root / "sources.tsv").write_text(SOURCES_TSV, "utf-8")
    result = CliRunner().invoke(main, ["index", str(root / "a.jsonl"), "--index",
                                       str(root / "index"), "--sources",
                                       str(root / "sources.tsv"), "-q"])
    assert result.exit_code == 0, result.output
    return root / "index"


@pytest.fixture(scope="module")
def engine(home):
    return open_backend(home)


@pytest.fixture(scope="module")
def client(home):
    return create_app(home).test_client()


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url.replace("&amp;", "&")).query)


# -- the sources file ---------------------------------------------------------


def test_sources_file_is_read(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text(SOURCES_TSV, "utf-8")
    assert read_sources(path) == {
        "aljazirah": {"name": "الجزيرة", "url": "https://www.al-jazirah.com"},
        "OKAZ": {"name": "عكاظ", "url": ""},
        "3alyoum": {"name": "عاليوم", "url": "https://www.3alyoum.com"},
    }


@pytest.mark.parametrize(("text", "problem"), [
    ("aljazirah\n", "line 1: expected"),
    ("a\tb\tc\td\n", "line 1: expected"),
    ("a\tالف\tjavascript:alert(1)\n", "must start with http"),
    ("# c\nokaz\tعكاظ\nOkaz\tعكاظ\n", "line 3: 'Okaz' is already named on line 2"),
])
def test_a_bad_sources_file_stops_the_build(tmp_path, text, problem):
    path = tmp_path / "s.tsv"
    path.write_text(text, "utf-8")
    with pytest.raises(SourcesFileError, match=problem):
        read_sources(path)
    (tmp_path / "a.jsonl").write_text(json.dumps(RECORDS[0]), "utf-8")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "a.jsonl"), "--index",
                                       str(tmp_path / "ix"), "--sources", str(path), "-q"])
    assert result.exit_code == 1 and problem.split(":")[-1].strip() in result.output
    assert store.current_dir(tmp_path / "ix") is None  # nothing was built


def test_the_default_file_names_the_shared_corpora_sources():
    names = read_sources(ROOT / DEFAULT_SOURCES)
    assert names["aljazirah"]["name"] == "الجزيرة" and names["3alyoum"]["name"] == "عاليوم"
    keys = {source_key(slug) for slug in names}
    # ANT's <SRC> values and its folder names (any case) are named too.
    assert {"alarabia", "bbc", "cnn", "skynews"} <= keys
    assert all(entry["url"].startswith("https://") for entry in names.values())


@pytest.mark.skipif(not (CORPORA / "saudinewsnet" / "dataset").is_dir(),
                    reason="shared corpora not present")
def test_the_default_file_names_every_saudinewsnet_source():
    slugs = {r["source"] for f in sorted((CORPORA / "saudinewsnet" / "dataset").glob("*.json"))
             for r in json.loads(f.read_text("utf-8"))}
    named = {source_key(s) for s in read_sources(ROOT / DEFAULT_SOURCES)}
    assert {source_key(s) for s in slugs} <= named


def test_index_reads_the_default_file_when_present(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / DEFAULT_SOURCES).write_text("okaz\tعكاظ\n", "utf-8")
    (tmp_path / "a.jsonl").write_text(json.dumps(RECORDS[3]), "utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["index", "a.jsonl", "--index", "ix", "-q"])
    assert result.exit_code == 0, result.output
    info = manifest.read(store.current_dir(tmp_path / "ix"))
    assert info["source_names"] == {"okaz": {"name": "عكاظ", "url": ""}}


def test_an_update_publishes_new_names(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(RECORDS[3]), "utf-8")
    build_index([tmp_path / "a.jsonl"], tmp_path / "ix")
    assert build_index([tmp_path / "a.jsonl"], tmp_path / "ix", update=True).unchanged
    names = {"okaz": {"name": "عكاظ", "url": ""}}
    summary = build_index([tmp_path / "a.jsonl"], tmp_path / "ix", update=True,
                          source_names=names)
    assert not summary.unchanged
    hit = open_backend(tmp_path / "ix").search(Request(q="الاقتصاد")).hits[0]
    assert (hit.source, hit.source_name) == ("okaz", "عكاظ")


# -- display names ------------------------------------------------------------


def test_results_and_facets_show_display_names(engine, client):
    result = engine.search(Request(q="الاقتصاد"))
    names = {f["value"]: f["name"] for f in result.facets["source"]}
    assert names == {"aljazirah": "الجزيرة", "okaz": "عكاظ", "3alyoum": "عاليوم",
                     "الخليج الجديد": "الخليج الجديد"}  # a source without a name keeps its own
    assert {(h.source, h.source_name) for h in result.hits} >= {("aljazirah", "الجزيرة")}
    page = client.get("/", query_string={"q": "الاقتصاد"}).get_data(as_text=True)
    facets = page[page.index('<aside class="facets"'):]
    assert "<bdi>الجزيرة</bdi>" in facets and "<bdi>عكاظ</bdi>" in facets
    assert "aljazirah</bdi>" not in page
    assert '<a class="source" href="/?q=' in page and "<bdi>عاليوم</bdi></a>" in page


def test_stats_the_home_page_and_the_cli_name_the_sources(engine, client, home):
    stats = engine.stats()
    assert stats["sources"] == [("aljazirah", 3), ("okaz", 2), ("3alyoum", 1),
                                ("الخليج الجديد", 1)]
    assert stats["source_names"] == {"aljazirah": "الجزيرة", "okaz": "عكاظ",
                                     "3alyoum": "عاليوم"}
    page = client.get("/").get_data(as_text=True)
    listed = page[page.index('<ul class="archive-sources"'):]
    assert re.findall(r"<bdi>(.*?)</bdi>", listed) == ["الجزيرة", "عكاظ", "عاليوم",
                                                      "الخليج الجديد"]
    out = CliRunner().invoke(main, ["stats", "--index", str(home)])
    assert out.exit_code == 0, out.output
    assert "        3  الجزيرة (aljazirah)" in out.output.splitlines()
    assert "        1  الخليج الجديد" in out.output.splitlines()


def test_article_page_names_and_links_the_source(client):
    page = client.get("/article/aljazirah-1").get_data(as_text=True)
    assert ('<a class="source" href="https://www.al-jazirah.com" rel="noopener noreferrer">'
            "<bdi>الجزيرة</bdi></a>") in page
    data = client.get("/api/article/aljazirah-1").get_json()
    assert (data["source"], data["source_name"]) == ("aljazirah", "الجزيرة")
    assert data["source_url"] == "https://www.al-jazirah.com"
    assert "<bdi>عكاظ</bdi>" in client.get("/article/okaz-1").get_data(as_text=True)


# -- the source filter ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["aljazirah", "ALJAZIRAH", " AlJazirah ", "الجزيرة",
                                   "الجزيره", "الْجَزِيرَة"])
def test_the_filter_ignores_case_and_spelling(engine, typed):
    result = engine.search(Request(q="الاقتصاد", sources=(typed,)))
    assert result.total == 3 and {h.source for h in result.hits} == {"aljazirah"}


def test_several_sources_at_once(engine, client):
    result = engine.search(Request(q="الاقتصاد", sources=("aljazirah", "عكاظ")))
    assert result.total == 5
    assert {h.source for h in result.hits} == {"aljazirah", "okaz"}
    # The facet still offers the other sources, counted without the source filter.
    assert {f["value"]: f["count"] for f in result.facets["source"]}["3alyoum"] == 1
    api = client.get("/api/search?q=الاقتصاد&source=aljazirah&source=عكاظ").get_json()
    assert api["total"] == 5


def test_facet_links_add_and_remove_sources(client):
    page = client.get("/?q=الاقتصاد&source=aljazirah").get_data(as_text=True)
    facets = page[page.index('<aside class="facets"'):]
    links = dict((name, href) for href, name in
                 re.findall(r'<a href="([^"]*)"[^>]*><bdi>([^<]*)</bdi></a>', facets))
    assert query_of(links["عكاظ"])["source"] == ["aljazirah", "okaz"]  # added
    assert "source" not in query_of(links["الجزيرة"])  # selected: removed
    assert 'aria-current="true"><bdi>الجزيرة</bdi>' in facets
    both = client.get(links["عكاظ"].replace("&amp;", "&"))
    assert both.status_code == 200
    page = both.get_data(as_text=True)
    assert "5 مقالات في" in page
    chips = page[page.index('<ul class="chips"'):page.index("</ul>", page.index('class="chips"'))]
    assert chips.count("المصدر:") == 2
    # The form keeps both sources.
    assert len(re.findall(r'<input name="source" value="[^"]+"', page)) == 2


def test_cli_source_is_repeatable(home):
    out = CliRunner().invoke(main, ["search", "الاقتصاد", "--index", str(home), "--source",
                                    "ALJAZIRAH", "--source", "3alyoum", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["total"] == 4 and {h["source"] for h in data["hits"]} == {"aljazirah", "3alyoum"}


def test_an_unknown_source_says_so_and_suggests_the_closest(engine, client, home):
    result = engine.search(Request(q="الاقتصاد", sources=("aljazira",)))
    assert result.total == 0
    assert result.unknown_sources == [{"source": "aljazira", "closest": "الجزيرة"}]
    page = client.get("/", query_string={"q": "الاقتصاد", "source": "الجزيرا"}).get_data(
        as_text=True)
    assert "لا يوجد مصدر باسم «<bdi>الجزيرا</bdi>»" in page
    href = re.search(r'هل تقصد:\s*<a href="([^"]*)"><bdi>الجزيرة</bdi>', page).group(1)
    assert query_of(href)["source"] == ["الجزيرة"]
    assert "3 مقالات في" in client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert "Traceback" not in page
    out = CliRunner().invoke(main, ["search", "الاقتصاد", "--index", str(home),
                                    "--source", "okas"])
    assert out.exit_code == 1
    assert "no source named 'okas'; closest: عكاظ" in out.output
    nothing = engine.search(Request(q="الاقتصاد", sources=("zzzzzzzz",)))
    assert nothing.unknown_sources == [{"source": "zzzzzzzz", "closest": None}]


@pytest.mark.parametrize("typed", ["ALJAZIRAH", "الجزيره", '"الجزيرة"', "aljazirah"])
def test_the_query_names_sources_as_the_filter_does(engine, typed):
    """``المصدر:`` in the query matches a source as the filter does: by value
    or display name, case and spelling aside."""
    result = engine.search(Request(q=f"الاقتصاد المصدر:{typed}"))
    assert result.total == 3 and {h.source for h in result.hits} == {"aljazirah"}
    assert not result.unknown_sources


@pytest.mark.parametrize("text", ["الاقتصاد المصدر:الخليج الجديد",
                                  "المصدر:الخليج الجديد الاقتصاد",
                                  '(المصدر:الخليج الجديد) الاقتصاد'])
def test_a_source_name_of_several_words_needs_no_quotes(engine, text):
    """The words after ``المصدر:`` that make a known source's name are that
    name; a single known word stays a source of its own."""
    result = engine.search(Request(q=text))
    assert result.total == 1 and {h.source for h in result.hits} == {"الخليج الجديد"}
    assert not result.unknown_sources
    single = engine.search(Request(q="المصدر:عكاظ تقرير"))  # no source "عكاظ تقرير"
    assert single.total == 2 and {h.source for h in single.hits} == {"okaz"}


def test_sources_named_in_the_query_are_alternatives(engine):
    """Two sources named in a query are either (an article has one source):
    under OR grouping they were two required clauses, and matched nothing."""
    result = engine.search(Request(q="الاقتصاد المصدر:aljazirah المصدر:عكاظ"))
    assert result.total == 5 and {h.source for h in result.hits} == {"aljazirah", "okaz"}
    years = engine.search(Request(q="الاقتصاد المصدر:aljazirah التاريخ:2015 التاريخ:2016"))
    assert years.total == 3


def test_an_unknown_source_in_the_query_says_so_and_links_the_closest(engine, client, home):
    result = engine.search(Request(q="الاقتصاد المصدر:الجزيرا"))
    assert result.total == 0 and result.code == "unknown_source"
    assert result.unknown_sources == [{"source": "الجزيرا", "closest": "الجزيرة",
                                       "query": 'الاقتصاد المصدر:"الجزيرة"'}]
    page = client.get("/", query_string={"q": "الاقتصاد المصدر:الجزيرا"}).get_data(as_text=True)
    assert "لا يوجد مصدر باسم «<bdi>الجزيرا</bdi>»" in page
    href = re.search(r'هل تقصد:\s*<a href="([^"]*)"><bdi>الجزيرة</bdi>', page).group(1)
    assert query_of(href)["q"] == ['الاقتصاد المصدر:"الجزيرة"'] and "source" not in query_of(href)
    assert "3 مقالات في" in client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    # Where other clauses match, the unknown source is still named.
    besides = engine.search(Request(q="الاقتصاد -المصدر:zzzzzzzz"))
    assert besides.total == 7 and besides.code != "unknown_source"
    assert besides.unknown_sources == [{"source": "zzzzzzzz", "closest": None}]
    out = CliRunner().invoke(main, ["search", "الاقتصاد المصدر:okas", "--index", str(home)])
    assert out.exit_code == 1 and "no source named 'okas'; closest: عكاظ" in out.output


def test_a_source_typed_in_part_suggests_the_whole_name():
    from search.sources import SourceNames

    names = SourceNames({"skynews": {"name": "سكاي نيوز عربية"}}, ["skynews", "العربية"])
    assert names.resolve("سكاي") == []
    assert names.closest("سكاي") == "سكاي نيوز عربية"  # a whole word of the name
    assert names.closest("نيوز") == "سكاي نيوز عربية"
    assert names.closest("عربيه") == "العربية"  # alike as a whole comes first
    assert names.closest("سك") is None  # part of a word is not a name


def test_too_many_sources_is_a_clear_400(client):
    res = client.get("/api/search?q=x&" + "&".join(f"source=s{n}" for n in range(51)))
    assert res.status_code == 400 and "المصادر" in res.get_json()["error"]
