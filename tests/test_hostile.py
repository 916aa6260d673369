"""Hostile queries and pages: nothing escapes, nothing executes, nothing runs away.

* Property tests (hypothesis, bounded examples, no deadline) of the query
  parser, the archive readers and the highlighter on arbitrary Unicode
  (Arabic with diacritics, bidi controls, operators, very long input): no
  exception escapes, and what they return is well formed.
* Every web response to arbitrary parameters and article ids is a 2xx/3xx/4xx
  with well-formed HTML (parsed with html.parser, tags balanced) or JSON.
* XSS: an index whose ids, headlines, bodies, sources, keywords and related
  headlines hold ``<script>``, ``"'><img onerror=…>`` and ``javascript:``
  renders them as inert text on every page and in the JSON API.
* Headers, debug mode, path traversal.
* Query cost: ``*``, prefixes, wildcards and ranges expand to a bounded number
  of terms, scanning a bounded part of the vocabulary (counted, not timed);
  the per-search time limit gives partial results; page depth is capped.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from whoosh import query as wq

from conftest import HANG_GUARD_S, hang_guard
from indexer.analysis import ArabicAnalyzer
from indexer.article import Article, Reject
from indexer.decode import UnreadableFile, decode_bytes
from indexer.readers.archive import read_file
from indexer.readers.detect import detect_format
from indexer.readers.records import read_csv, read_json, read_jsonl
from indexer.readers.sgml import read_sgml
from indexer.readers.text import parse_text_article
from indexer.writer import build_index
from search import matching, query as query_module
from search.backend import MAX_PAGE, Request, SearchError
from search.engine import Engine
from search.highlight import Marks, highlight_text
from web import create_app
from web.app import CSP

#: Examples per property (ARSHIF_HYPOTHESIS_EXAMPLES=2000 for a long bug hunt).
EXAMPLES = int(os.environ.get("ARSHIF_HYPOTHESIS_EXAMPLES", "60"))
FAST = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=max(10, EXAMPLES // 3), deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# -- strategies -------------------------------------------------------------------------------

ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى"
MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0640"  # tashkeel, tatweel
BIDI = ("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        "\u200b\u200c\u200d\ufeff")
SYNTAX = " \t\n\"'()[]{}:*?+-~^<>=&|\\/.,،؛؟«»٭"
FRAGMENTS = ["AND", "OR", "NOT", "TO", "ANDNOT", "العنوان:", "المصدر:", "التاريخ:", "date:",
             "headline:", "source:", "body:", "id:", "*", "**", "*:*", "[", "]", "[a TO", "{",
             "\"", "الاقتصاد", "النفط",
             "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "javascript:alert(1)",
             "2023-09", "date:[2023 to 2022]", "^2", "~3", "\u202e", "\x00", "%00",
             "../../etc/passwd"]

arabic_text = st.text(alphabet=st.sampled_from(ARABIC + MARKS + BIDI + SYNTAX + "abcXYZ019٠١٩"),
                      max_size=200)
any_text = st.text(max_size=300)  # any Unicode scalar value except surrogates
query_text = st.one_of(
    arabic_text, any_text,
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), arabic_text), max_size=12).map(" ".join),
)


def analyzer() -> ArabicAnalyzer:
    return _ANALYZER


_ANALYZER = ArabicAnalyzer()


# -- HTML checks --------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
#: Elements the app itself never uses and an injection would need.
FORBIDDEN_TAGS = {"script", "img", "iframe", "object", "embed", "style", "base", "frame", "math",
                  "audio", "video", "frameset", "applet"}
OWN_SCRIPT = [("src", "/static/suggest.js"), ("defer", None)]
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "poster", "data"}


class PageChecker(HTMLParser):
    """Parses a page; records problems: unbalanced tags, active content."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        # The app's own script (the completions), once, from its own file.
        own_script = tag == "script" and attrs == OWN_SCRIPT and self.tags.count("script") == 1
        if tag in FORBIDDEN_TAGS and not own_script:
            self.problems.append(f"<{tag}> element")
        if tag == "svg":
            self.problems.append("<svg> element")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.problems.append("meta http-equiv")
        if tag == "form" and len([t for t in self.tags if t == "form"]) > 2:
            self.problems.append("extra forms")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}")
            if name == "style":
                self.problems.append("style attribute")
            if name in URL_ATTRS and value is not None:
                bare = "".join(ch for ch in value if ch > " ").lower()
                if bare.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"{name}={value!r}")
                if bare.startswith("//") or (":" in bare.split("/")[0]
                                             and not bare.startswith("/")):
                    self.problems.append(f"off-site {name}={value!r}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_page(body: str) -> PageChecker:
    checker = PageChecker()
    checker.feed(body)
    checker.close()
    if checker.stack:
        checker.problems.append(f"unclosed {checker.stack}")
    assert not checker.problems, checker.problems
    assert checker.tags[:1] == ["html"], checker.tags[:3]
    return checker


def check_response(res) -> None:
    """Any response: no 5xx, the security headers, a well-formed inert body."""
    assert res.status_code < 500, (res.status_code, res.get_data(as_text=True)[:300])
    assert res.headers["Content-Security-Policy"] == CSP
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"]
    if 300 <= res.status_code < 400:
        location = res.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        return
    body = res.get_data(as_text=True)
    if res.mimetype == "application/json":
        json.loads(body)
        assert "<" not in body and ">" not in body  # escaped: never readable as HTML
    elif res.mimetype == "text/html":
        check_page(body)


# -- a hostile index ------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ATTR = "\"'><img src=x onerror=alert(2)>"
JS = "javascript:alert(3)"
HOSTILE_IDS = [SCRIPT, ATTR, JS, "../../etc/passwd", "a/../../b", "id with spaces?&#=%",
               "٪٢٠\u202e"]


def write_hostile_archive(folder: Path) -> Path:
    folder.mkdir(parents=True)
    records = []
    for n, hid in enumerate(HOSTILE_IDS):
        records.append({
            "id": hid,
            "title": f"{SCRIPT} عنوان {ATTR} {JS} رقم {n}",
            "body": f"الاقتصاد {SCRIPT} نص {ATTR}\n<a href=\"{JS}\">رابط</a> {JS} "
                    f"<svg onload=alert(4)> <iframe src={JS}></iframe> &lt;b&gt; &amp; رقم {n}",
            "source": [f"{SCRIPT} مصدر", ATTR, JS, f"مصدر \u202e{n}"][n % 4],
            "keywords": [JS, ATTR, f"{SCRIPT}"],
            "date": f"2023-0{n % 9 + 1}-1{n % 9}",
        })
    (folder / "hostile.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    # The text format adds related headlines (links) and an embedded article
    # whose parent id is a hostile file name.
    text = "\n".join([
        f"{ATTR} خبر نصي {SCRIPT}", "تاريخ النشر: 2023-09-26", f"الاقتصاد نص {SCRIPT} {JS}",
        "اقرأ أيضاً", f"{JS} {ATTR}", f"المصدر | {ATTR}", f"كلمات دلالية: {JS}، {SCRIPT}",
        "إقرأ أيضاً:", f"{SCRIPT} مقال مضمن", f"الاقتصاد نص مضمن {ATTR}",
    ]) + "\n"
    (folder / "\"'><img src=x onerror=alert(5)>.txt").write_text(text, "utf-8")
    return folder


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    summary = build_index([write_hostile_archive(root / "archive")], root / "index")
    assert summary.indexed == len(HOSTILE_IDS) + 2
    return root / "index"


@pytest.fixture(scope="module")
def hclient(hostile_home):
    return create_app(hostile_home).test_client()


@pytest.fixture(scope="module")
def hengine(hostile_home):
    return Engine(hostile_home)


def all_ids(engine: Engine) -> list[str]:
    return [d["id"] for d in engine.searcher().all_stored_fields()]


def article_url(article_id: str, api: bool = False) -> str:
    return ("/api/article/" if api else "/article/") + quote(article_id, safe="/")


# -- 1. the query parser -----------------------------------------------------------------------

@FAST
@given(text=query_text)
def test_parser_never_raises(hengine, text):
    parsed = hengine.parse(text)
    assert parsed.query is not None
    assert len(parsed.text) <= query_module.MAX_QUERY_CHARS


@FAST
@given(text=query_text)
def test_search_never_raises(hengine, text):
    result = hengine.search(Request(q=text, per_page=5))
    assert result.total >= 0 and len(result.hits) <= 5
    json.dumps(result.as_dict())


@FEW
@given(text=st.text(alphabet=st.characters(codec=None, categories=("Cs", "Lo", "Zs", "Po")),
                    max_size=50))
def test_lone_surrogates_in_queries(hengine, text):
    """What a terminal passes for undecodable argv bytes (\\udcff): searchable, no crash."""
    hengine.search(Request(q=text + " \udcff الاقتصاد"))


@pytest.mark.parametrize("text", ["date:[2023 to", "date:[to", "التاريخ:[2023 TO",
                                  "date:[2023 to] النفط", "(date:[ to"])
def test_unfinished_date_ranges_answer(hengine, text):
    """An unfinished range parses to a query holding a copy of Whoosh's null
    query, which matches nothing (it used to raise, a 500 on the web)."""
    result = hengine.search(Request(q=text))
    assert result.total >= 0
    hengine.ranked_ids(text)


def test_a_wildcard_of_many_stars_is_linear_against_long_words(tmp_path):
    """``*ا*ا*…*ظ`` against an archive holding a word of forty alefs: the
    vocabulary scan and the highlighting give up on it at once (a
    backtracking expression takes minutes there) and find what matches."""
    archive = tmp_path / "archive"
    archive.mkdir()
    long_word = "ي" + "ا" * 40
    (archive / "a.txt").write_text(
        f"صرخة طويلة\nتاريخ النشر: 2024-01-01\nقال {long_word} ثم الظلام والانتظار\n"
        "المصدر | اختبار\n", "utf-8")
    build_index([archive], tmp_path / "index")
    engine = Engine(tmp_path / "index")
    hostile = "*" + "ا*" * 14 + "ظ"
    with hang_guard("a wildcard of many stars"):
        assert engine.search(Request(q=hostile)).total == 0
        result = engine.search(Request(q=f"صرخة {hostile}"))
        found = engine.search(Request(q="*ن*ظ*ر"))
    assert result.total == 1 and "<mark>" not in result.hits[0].snippet_html
    [hit] = found.hits
    assert re.findall("<mark>(.*?)</mark>", hit.snippet_html) == ["والانتظار"]


@pytest.mark.parametrize("text", ["الاقتصاد " * 20_000, "(" * 50_000, "\"" + "ا" * 100_000,
                                  "a* " * 30_000, "NOT " * 20_000])
def test_very_long_queries_are_refused_or_cut(hengine, text):
    """A request past the limit is refused; a batch or eval query is cut, so
    the parser never reads past MAX_QUERY_CHARS, whatever the query's length."""
    with pytest.raises(SearchError, match="too long"):
        hengine.search(Request(q=text))
    limit = query_module.MAX_QUERY_CHARS
    assert hengine.parse(text).query == hengine.parse(text[:limit]).query
    assert _outcome(hengine.ranked_ids, text) == _outcome(hengine.ranked_ids, text[:limit])


def _outcome(function, *args):
    """What ``function`` returns, or the kind of error it raises."""
    try:
        return function(*args)
    except SearchError as exc:
        return type(exc)


# -- 2. the readers ----------------------------------------------------------------------------

@FAST
@given(data=st.binary(max_size=3000))
def test_decode_any_bytes(data):
    try:
        text = decode_bytes(data)
    except UnreadableFile as exc:
        assert exc.reason
    else:
        assert isinstance(text, str) and "\x00" not in text and "\r" not in text and text.strip()


def _items_ok(items) -> None:
    for item in items:
        assert isinstance(item, (Article, Reject))
        if isinstance(item, Reject):
            assert item.reason
        else:
            assert isinstance(item.body, str) and isinstance(item.id, str)


@FAST
@given(text=st.one_of(any_text, arabic_text, st.text(max_size=3000)))
def test_format_readers_on_any_text(text):
    assert detect_format("x.txt", text) in ("sgml", "json", "jsonl", "csv", "text")
    _items_ok(parse_text_article(text, "x.txt", "x"))
    _items_ok(read_json("x.json", text=text))
    _items_ok(read_jsonl("x.jsonl", text=text))
    _items_ok(read_csv("x.csv", text=text))
    _items_ok(read_sgml("x.sgml", text))


sgmlish = st.lists(st.sampled_from(["<DOC>", "</DOC>", "<DOC id=x>", "<DOCNO>", "</DOCNO>",
                                    "<TEXT>", "</TEXT>", "<TITLE>", "<P>", "</P>", "<", ">", "&",
                                    "&amp;", "&#1575;", "\n", " ", "نص", "عنوان", "<DOC ", "<TEXT ",
                                    "\n<a ", "   "]),
                   max_size=300).map("".join)
jsonish = st.lists(st.sampled_from(['{', '}', '[', ']', '"body"', '"title"', ':', ',', '"نص"',
                                    '1' * 50, 'null', 'true', '\n', '"', '\\u', '\\"']),
                   max_size=200).map("".join)
csvish = st.lists(st.sampled_from(["id", "title", "body", ",", ";", "\t", "\n", '"', '""', "نص",
                                   "عنوان", " ", "|"]), max_size=200).map("".join)


@FAST
@given(text=st.one_of(sgmlish, jsonish, csvish))
def test_readers_on_format_shaped_junk(text):
    for body in (text, "title,body\n" + text, "<DOC>\n" + text, "[" + text,
                 '{"body": "x"}\n' + text):
        assert detect_format("x", body)
        _items_ok(read_json("x", text=body))
        _items_ok(read_jsonl("x", text=body))
        _items_ok(read_csv("x", text=body))
        _items_ok(read_sgml("x", body))
        _items_ok(parse_text_article(body, "x", "x"))


@FEW
@given(data=st.binary(max_size=4000),
       name=st.sampled_from(["a.txt", "b.json", "c.jsonl", "d.csv", "e.sgml", "f.tsv", "g"]))
def test_read_file_on_any_bytes(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        result = read_file(path, roots=[Path(tmp)])
    assert result.articles or result.rejects  # one or the other, never nothing
    _items_ok(result.articles + result.rejects)


# -- 2b. any value in any field and any file name: the build survives, the pages answer ----------

#: Characters that broke builds, pages or links: lone surrogates (a JSON
#: "\ud800" escape; a file name that is not UTF-8), NUL and other controls,
#: line breaks, bidi controls, noncharacters, URL syntax.
NASTY = ["\ud800", "\udfff", "\udcff", "\x00", "\x01", "\x1f", "\x7f", "\x85", "\n", "\r", "\t",
         "\u2028", "\u202e", "\u2066", "\u200f", "\ufeff", "\ufffe", "\uffff", "\U0010ffff",
         "\U0001fffe", "\ufdd0", "/", "//", ".", "..", "#", "?", "%", "~", "\\", " ", "،", "ن"]
any_value = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),  # surrogates too
    st.lists(st.one_of(st.sampled_from(NASTY), arabic_text), max_size=8).map("".join),
)
#: File names as bytes: anything but "/" and NUL; never hidden ("." names are
#: skipped by design); invalid UTF-8, newlines and controls included.
name_bytes = st.binary(min_size=1, max_size=30).map(
    lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_").lstrip(b".") or b"x")
RECORD_FIELDS = ("id", "headline", "body", "date", "source", "keywords")
DIGIT_LETTERS = "بتثجحخدذرز"


def _marker(n: int) -> str:
    """A word only record ``n`` holds (Arabic letters: indexed as written)."""
    return "وسم" + "".join(DIGIT_LETTERS[int(d)] for d in f"{n:03d}")


def _write_fuzz_archive(folder: Path, files) -> dict[str, int]:
    """Write ``files`` ([(format, name bytes, [record values])]); return the
    number of records of each file, by its name as the index shows it."""
    import csv
    import io

    from indexer.decode import path_text
    records: dict[str, int] = {}
    n = 0
    for number, (fmt, name, rows) in enumerate(files):
        raw = os.fsencode(folder) + b"/" + str(number).encode() + b"-" + name + {
            "jsonl": b".jsonl", "csv": b".csv", "text": b".txt"}[fmt]
        values = []
        for row in rows:
            n += 1
            values.append({**row, "body": f"{_marker(n)} {row['body']}"})
        if fmt == "jsonl":  # ensure_ascii: surrogates as \ud800 escapes, as the issue showed
            data = "".join(json.dumps(v) + "\n" for v in values).encode("ascii")
        elif fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(RECORD_FIELDS)
            writer.writerows([v[f] for f in RECORD_FIELDS] for v in values)
            data = out.getvalue().encode("utf-8", "surrogatepass")
        else:  # one article, the archive's own format
            v = values[0]
            data = "\n".join([v["headline"], f"تاريخ النشر: {v['date']}", v["body"],
                              f"المصدر | {v['source']}", f"كلمات دلالية: {v['keywords']}"]
                             ).encode("utf-8", "surrogatepass")
        with open(raw, "wb") as fh:
            fh.write(data)
        records[path_text(raw)] = len(values)
    return records


fuzz_file = st.tuples(
    st.sampled_from(["jsonl", "csv", "text"]), name_bytes,
    st.lists(st.fixed_dictionaries({f: any_value for f in RECORD_FIELDS}), min_size=1,
             max_size=3))


@FEW
@given(files=st.lists(fuzz_file, min_size=1, max_size=4))
def test_any_value_in_any_field_or_file_name_is_indexed_or_reported(files):
    """Random code points (lone surrogates, NUL, bidi controls, noncharacters)
    in every field of JSON Lines, CSV and text articles, and random bytes in
    file names: the build never fails; every record is indexed or reported;
    every indexed article's page, its search, and the link from its search
    result answer without a server error."""
    import re

    from indexer.writer import NothingToIndex
    with tempfile.TemporaryDirectory() as tmp:
        archive, home = Path(tmp) / "archive", Path(tmp) / "index"
        archive.mkdir()
        records = _write_fuzz_archive(archive, [(fmt, name, rows if fmt != "text" else rows[:1])
                                                for fmt, name, rows in files])
        try:
            summary = build_index([archive], home)
        except NothingToIndex as exc:  # everything rejected: reported, nothing published
            summary, docs = exc.summary, []
        else:
            with Engine(home).searcher() as searcher:
                docs = [dict(d) for d in searcher.all_stored_fields()]
        report = summary.report
        for path, written in records.items():
            rejected = [e for e in report if e["path"] == path and e["kind"] != "date"]
            indexed = [d for d in docs if d["path"] == path]
            whole = any(e["kind"] == "rejected" and not e["record"] for e in rejected)
            assert whole or len(indexed) + len(rejected) == written, (path, rejected, indexed)
        json.dumps(report, ensure_ascii=False).encode("utf-8")  # --rejects can write it
        if not docs:
            return
        client = create_app(home).test_client()
        for doc in docs:
            for api in (False, True):
                res = client.get(article_url(doc["id"], api))
                assert res.status_code == 200, doc["id"]
                check_response(res)
            for q in (doc["headline"], doc["source"], doc["body"][:100]):
                check_response(client.get("/?" + urlencode({"q": q})))
                check_response(client.get("/api/search?" + urlencode({"q": q})))
        found = 0
        for n in range(1, sum(records.values()) + 1):
            res = client.get("/?" + urlencode({"q": _marker(n)}))
            assert res.status_code == 200
            check_response(res)
            for link in re.findall(r'href="(/article/[^"]+)"', res.get_data(as_text=True)):
                assert client.get(html.unescape(link)).status_code == 200, link
            api = client.get("/api/search?" + urlencode({"q": _marker(n)}))
            assert api.status_code == 200
            found += bool(api.get_json()["total"])
        # The markers survive decoding unless a file fell back to another
        # encoding: most indexed records are found by theirs.
        assert found or not any(d["body"].startswith("وسم") for d in docs)


def test_the_bad_values_of_the_issue_build_and_their_pages_answer(tmp_path):
    """A JSON "\\ud800" in a headline or keywords, a file name that is not
    UTF-8 and one with a newline: the build succeeds (and again, and an
    update finds nothing changed), and each article opens from the link of
    its search result."""
    from click.testing import CliRunner

    from arshif.cli import main
    archive, home = tmp_path / "archive", tmp_path / "index"
    archive.mkdir()
    (archive / "a.jsonl").write_text(
        '{"id":"r","headline":"x\\ud800","body":"نص وسمأول"}\n'
        '{"id":"k","headline":"y","body":"نص وسمثان","keywords":"a\\ud800b"}\n', "utf-8")
    with open(os.fsencode(archive) + b"/bad\xff.txt", "wb") as fh:
        fh.write("خبر باسم غير صالح\nنص وسمثالث\n".encode())
    (archive / "new\nline.txt").write_text("خبر باسم بسطرين\nنص وسمرابع\n", "utf-8")
    for args in ([], [], ["--update"]):
        result = CliRunner().invoke(main, ["index", str(archive), "--index", str(home), "--json",
                                           *args])
        assert result.exit_code == 0, result.output + repr(result.exception)
        report = json.loads(result.stdout)
        assert report["indexed"] == 4  # an update's counts are a rebuild's
    assert report["added"] == 0 and report["unchanged"]
    client = create_app(home).test_client()
    expected = {"وسمأول": "r", "وسمثان": "k", "وسمثالث": "bad\\xff", "وسمرابع": "new line"}
    for word, article_id in expected.items():
        res = client.get("/?" + urlencode({"q": word}))
        check_response(res)
        links = re.findall(r'href="(/article/[^"?]+)[^"]*"', res.get_data(as_text=True))
        assert links == [article_url(article_id)], word
        page = client.get(html.unescape(links[0]))
        assert page.status_code == 200
        check_response(page)
        api = client.get(article_url(article_id, api=True)).get_json()
        assert api["id"] == article_id
    article = client.get(article_url("r", api=True)).get_json()
    assert article["headline"] == "x\ufffd"
    assert client.get(article_url("k", api=True)).get_json()["keywords"] == "a\ufffdb"


def test_a_nul_or_any_space_between_words_separates_them(hengine):
    """Controls and spaces of every kind split words (a NUL joined them);
    joiners and bidi marks inside a word are dropped (as the index drops them)."""
    clean = query_module.clean
    for sep in ("\x00", "\t", "\x1f", "\x85", "\xa0", "\u2028", "\u3000"):
        assert clean(f"حفتر{sep}روسيا") == "حفتر روسيا", repr(sep)
    assert clean("حف\u200cتر\u202e") == "حفتر"
    nul = hengine.search(Request(q="الاقتصاد\x00رقم"))
    assert nul.total == hengine.search(Request(q="الاقتصاد رقم")).total > 0


@pytest.mark.parametrize("text", [
    "<DOC>\n" + "<TEXT>" * 100_000,
    "<DOC>\n" + "<TEXT " * 100_000,
    "<DOC " * 100_000,
    "<DOC>\n<TEXT>\n" + "\n<a " * 100_000,
    "<DOC>\n<TEXT>\n" + "\n" * 500_000 + "x",
    "<DOC>\n<TEXT><" + " " * 500_000 + "x</TEXT>",
    "<DOC>\n<TITLE>" + "&" * 200_000 + "\n<TEXT>x",
], ids=["text-open", "text-attr", "doc-attr", "line-tags", "blank-lines", "p-spaces", "ampersands"])
def test_sgml_reader_is_linear(text):
    """Each of these took minutes (quadratic regexes) before the fix."""
    with hang_guard("reading hostile SGML"):
        _items_ok(read_sgml("x.sgml", text))


@pytest.mark.parametrize("line", ["كلمات دلالية: أ" + " " * 1_000_000 + "ب",
                                  "كلمات دلالية: " + "، " * 300_000])
def test_keyword_split_is_linear(line):
    """The split on separators with spaces around took hours on 1 MB."""
    with hang_guard("splitting a hostile keywords line"):
        parse_text_article("عنوان\nنص\n" + line, "x", "x")
        list(read_jsonl("x", text=json.dumps({"body": "x", "keywords": line})))


# -- 3. the highlighter -----------------------------------------------------------------------

def _strip_marks(html_text: str) -> str:
    import html
    assert html_text.count("<mark>") == html_text.count("</mark>")
    return html.unescape(html_text.replace("<mark>", "").replace("</mark>", ""))


@FAST
@given(text=st.one_of(any_text, arabic_text), terms=st.lists(st.sampled_from(
    ["اقتصاد", "نفط", "ا", "", "<script>", "الاقتصاد", "a", "\u064e"]), max_size=4))
def test_highlighter_on_any_text(text, terms):
    for whole in (True, False):
        out = highlight_text(text, Marks(frozenset(terms)), analyzer(), whole=whole)
        checker = PageChecker()
        checker.feed(f"<p>{out}</p>")
        assert set(checker.tags) <= {"p", "mark"} and not checker.problems, (out, checker.problems)
        if whole:
            assert _strip_marks(out) == text  # every character kept, only marks added


@FEW
@given(word=st.text(alphabet=st.sampled_from(ARABIC + MARKS + "\u200c\u200d"), min_size=2,
                    max_size=12))
def test_highlighter_marks_vocalized_arabic(word):
    text = f"قبل {word} بعد"
    tokens = [t.text for t in analyzer()(word, mode="index")]
    assume(tokens)
    out = highlight_text(text, Marks(frozenset(tokens)), analyzer(), whole=True)
    assert "<mark>" in out and _strip_marks(out) == text


def test_highlighter_on_very_long_input():
    text = ("الاقتصادُ " + "\u200f" + "كلمة " * 50 + "\n") * 4000  # ~1.2 MB
    with hang_guard("highlighting 1.2 MB"):
        snippet = highlight_text(text, Marks(frozenset({"اقتصاد"})), analyzer())
        whole = highlight_text(text, Marks(frozenset({"اقتصاد"})), analyzer(), whole=True)
    assert "<mark>" in snippet and len(snippet) < 2000
    assert _strip_marks(whole) == text


# -- 4. every response is well formed ------------------------------------------------------------

params = st.fixed_dictionaries({}, optional={
    "q": query_text, "page": st.one_of(st.integers(-5, 200).map(str), any_text),
    "per_page": st.one_of(st.integers(-1, 120).map(str), any_text),
    "from": st.one_of(st.sampled_from(["2023", "2023-09", "2023-09-26", "1066", "2999-13-45", "x"]),
                      any_text),
    "to": st.one_of(st.sampled_from(["2023", "2022-02-30", ""]), any_text),
    "source": st.one_of(st.sampled_from([SCRIPT, ATTR, JS, "الجزيرة"]), any_text),
    "sort": st.one_of(st.sampled_from(["relevance", "newest", "oldest", "x"]), any_text),
    "junk": any_text,
})


@FAST
@given(args=params, api=st.booleans())
def test_search_page_and_api_with_any_parameters(hclient, args, api):
    res = hclient.get(("/api/search?" if api else "/?") + urlencode(args))
    check_response(res)


@FAST
@given(article_id=st.one_of(any_text, st.sampled_from(HOSTILE_IDS), query_text), api=st.booleans(),
       q=st.one_of(st.just(""), query_text))
def test_article_page_with_any_id(hclient, article_id, api, q):
    res = hclient.get(article_url(article_id, api) + ("?" + urlencode({"q": q}) if q else ""))
    check_response(res)


@pytest.mark.parametrize("path", [
    "/article/../../etc/passwd", "/article/..%2f..%2fetc%2fpasswd",
    "/article/%2e%2e/%2e%2e/etc/passwd",
    "/api/article/../../../etc/passwd", "/api/article/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fsetup.cfg",
    "/static/%2e%2e/app.py", "/article//etc/passwd", "/article/%00", "/article/" + "a" * 5000,
    "/../../etc/passwd", "/static//etc/passwd",
])
def test_no_file_outside_the_index_is_read(hclient, path):
    res = hclient.get(path)
    check_response(res)
    body = res.get_data()
    assert b"root:x:0:0" not in body and b"[metadata]" not in body and b"create_app" not in body
    assert res.status_code in (200, 301, 308, 400, 404)
    # 200 only for an article of the index, e.g. the one whose id is "../../etc/passwd".
    if res.status_code == 200:
        assert path.startswith(("/article/", "/api/article/"))


def test_hostile_ids_are_articles_of_the_index(hclient, hengine):
    for hid in all_ids(hengine):
        for api in (False, True):
            res = hclient.get(article_url(hid, api))
            assert res.status_code == 200, hid
            check_response(res)
            if api:
                assert res.get_json()["id"] == hid


# -- 5. XSS: hostile content is inert everywhere ------------------------------------------------

def hostile_pages(hclient, hengine) -> list[str]:
    paths = ["/", "/?" + urlencode({"q": "الاقتصاد"}),
             "/?" + urlencode({"q": "الاقتصاد", "per_page": 50}),
             "/?" + urlencode({"q": f"{SCRIPT} {ATTR} {JS}"}),
             "/?" + urlencode({"q": f"الاقتصاد {JS}"}),
             "/?" + urlencode({"q": "الاقتصاد", "sort": "newest"}),
             "/?" + urlencode({"q": SCRIPT, "page": "x"}),
             "/?" + urlencode({"q": ATTR, "from": JS}),
             "/nope/" + quote(SCRIPT), "/api/search?" + urlencode({"q": "الاقتصاد"}),
             "/api/search?" + urlencode({"q": ATTR}), "/healthz"]
    for source in {d.get("source", "") for d in hengine.searcher().all_stored_fields()}:
        paths.append("/?" + urlencode({"q": "الاقتصاد", "source": source}))
    for hid in all_ids(hengine):
        paths += [article_url(hid), article_url(hid) + "?" + urlencode({"q": f"الاقتصاد {SCRIPT}"}),
                  article_url(hid, api=True)]
    return paths


def test_hostile_content_is_inert_on_every_page(hclient, hengine):
    paths = hostile_pages(hclient, hengine)
    seen_escaped = 0
    for path in paths:
        res = hclient.get(path)
        check_response(res)  # no <script>/<img>/<svg>/<iframe>, on*=, style=, javascript: URLs
        body = res.get_data(as_text=True)
        if res.mimetype == "text/html":
            seen_escaped += ("&lt;script&gt;" in body or "&lt;img" in body
                             or "&#34;&#39;&gt;" in body)
            assert "onerror=alert" not in body.replace("onerror=alert(2)&gt;", "").replace(
                "onerror=alert(5)&gt;", "") or "&lt;img" in body
    assert seen_escaped >= len(paths) // 3  # the hostile text is there, as text


def test_hostile_json_keeps_the_data_intact(hclient):
    data = hclient.get(article_url(SCRIPT, api=True)).get_json()
    assert data["id"] == SCRIPT and data["headline"].startswith(SCRIPT)
    assert SCRIPT in data["body"] and JS in data["keywords"]
    query = urlencode({"q": "الاقتصاد", "per_page": 50})
    hits = hclient.get("/api/search?" + query).get_json()["hits"]
    assert {h["id"] for h in hits} >= set(HOSTILE_IDS)
    for h in hits:
        assert "<script>" not in h["headline_html"] and "<img" not in h["snippet_html"]


def test_links_to_hostile_ids_stay_on_the_site(hclient):
    for path in ["/?" + urlencode({"q": "الاقتصاد", "per_page": 50}), article_url(SCRIPT),
                 article_url(JS)]:
        page = hclient.get(path).get_data(as_text=True)
        check_page(page)
        hrefs = [v for k, v in _attributes(page) if k in URL_ATTRS]
        assert len(hrefs) > 5, hrefs
        assert all(h.startswith(("/", "#")) and not h.startswith("//") for h in hrefs), hrefs
        # ("javascript:" in an href="…" inside the escaped article TEXT is just text.)


def _attributes(page: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            out.extend((k, v or "") for k, v in attrs)

    Collect().feed(page)
    return out


# -- 6. headers, debug ------------------------------------------------------------------------

def test_csp_forbids_inline_script():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and "unsafe" not in CSP
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_debug_stays_off_even_with_flask_debug_set(hostile_home, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app(hostile_home)
    assert not app.debug
    # An unexpected error is then the generic Arabic 500, not a raised exception.
    client = app.test_client()

    class Broken:
        home = "x"

        def search(self, req):
            raise RuntimeError("secret detail")

    broken = create_app(backend=Broken()).test_client()
    res = broken.get("/?q=x")
    assert res.status_code == 500 and "secret" not in res.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


# -- 7. query cost is bounded ------------------------------------------------------------------

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def write_vocabulary(folder: Path, docs: int, words: int, seed: int = 7) -> Path:
    """Random 4-8 letter words: a vocabulary of about docs × words terms."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "vocab.jsonl", "w", encoding="utf-8") as fh:
        for n in range(docs):
            body = " ".join("".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 8)))
                            for _ in range(words))
            fh.write(json.dumps({"id": f"v{n}", "title": f"وثيقة {n}", "body": body,
                                 "date": "2023-01-01"},
                                ensure_ascii=False) + "\n")
    return folder


@pytest.fixture(scope="module")
def vocab_home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vocab")
    build_index([write_vocabulary(root / "archive", 500, 60)], root / "index")
    return root / "index"


EXPENSIVE = ["*", "ا*", "*ا*", "**", "headline:*", "body:*", "id:*", "body:[ا TO ي]",
             "ب* ت* ث* ج* ح*", "*ا*ب*", "(ا* OR ب*) AND -ت*", "العنوان:ا*",
             '"ا* ب*"', '"ا* ا* ا* ا* ا*"~3']


def test_expansions_are_capped(vocab_home):
    """A prefix is searched as its MAX_EXPANSIONS most frequent expansions."""
    engine = Engine(vocab_home)
    searcher = engine.searcher()
    reader = searcher.reader()
    cap = matching.MAX_EXPANSIONS
    field = searcher.schema["body"]
    uncapped = [field.from_bytes(t) for t in reader.expand_prefix("body", "ا")]
    assert len(uncapped) > 10 * cap
    prefix = engine.parse("النص:ا*").query
    kept = matching.expand(prefix, engine.view().gen, reader, field)
    assert len(kept) == cap and set(kept) <= set(uncapped)
    frequencies = sorted((reader.doc_frequency("body", t) for t in uncapped), reverse=True)
    assert min(reader.doc_frequency("body", t) for t in kept) == frequencies[cap - 1]
    expected = set().union(*(searcher.docs_for_query(wq.Term("body", t)) for t in kept))
    assert engine.search(Request(q="النص:ا*", per_page=1)).total == len(expected)
    # "*" means every article: one cheap query, not an OR over the vocabulary.
    assert engine.search(Request(q="*", per_page=1)).total == searcher.doc_count()


class CountingReader:
    """An index reader that counts the vocabulary entries it hands out."""

    SCANS = ("lexicon", "expand_prefix", "terms_from")  # what multi-term queries walk

    def __init__(self, reader):
        self._reader = reader
        self.scanned = 0

    def __getattr__(self, name):
        attr = getattr(self._reader, name)
        if name not in self.SCANS:
            return attr

        def counted(*args, **kwargs):
            for item in attr(*args, **kwargs):
                self.scanned += 1
                yield item
        return counted


def expansion_costs(engine: Engine, q: str) -> list[tuple[int, int]]:
    """(vocabulary entries scanned, terms kept) of each term expansion of ``q``.

    Every prefix, wildcard and range must be a capped expansion (or ``*``,
    every document): the cost of a query is then bounded by counts, not by
    the machine's speed.  Counted on a newly opened engine: a generation
    keeps the expansions it made, and would not scan again."""
    engine = Engine(engine.home, engine.settings)
    costs = []
    searcher = engine.searcher()
    gen = engine.view().gen
    for node in query_module.walk(engine.parse(q).query):
        if isinstance(node, wq.MultiTerm):
            counting = CountingReader(searcher.reader())
            spanned: list[int] = []
            span = gen.span

            def counted_span(*args, _span=span, _spanned=spanned):
                found = _span(*args)
                _spanned.append(len(found))
                return found

            def counted_matching(fieldname, low, high, most, pattern, _spanned=spanned):
                _spanned.append(gen.span_size(fieldname, low, high, most))
                return type(gen).span_matching(gen, fieldname, low, high, most, pattern)

            gen.span = counted_span  # the term arrays' scans, counted too
            gen.span_matching = counted_matching  # and a wildcard's scan of them
            try:
                kept = matching.expand(node, gen, counting, searcher.schema[node.fieldname])
            finally:
                del gen.span, gen.span_matching
            costs.append((counting.scanned + sum(spanned), len(kept)))
    return costs


def assert_bounded(engine: Engine, q: str) -> None:
    for scanned, kept in expansion_costs(engine, q):
        assert scanned <= matching.MAX_SCANNED_TERMS, (q, scanned)
        assert kept <= matching.MAX_EXPANSIONS, (q, kept)
    result = engine.search(Request(q=q))
    assert result.total > 0 or result.message, q


@pytest.mark.parametrize("q", EXPENSIVE)
def test_expensive_queries_are_bounded(vocab_home, q):
    assert_bounded(Engine(vocab_home), q)


def test_page_depth_is_capped(hclient, hengine):
    with pytest.raises(SearchError):
        hengine.search(Request(q="الاقتصاد", page=MAX_PAGE + 1))
    for path in [f"/?q=x&page={MAX_PAGE + 1}", f"/api/search?q=x&page={MAX_PAGE + 1}",
                 "/?q=x&page=99999999999999999999", "/?q=x&per_page=100000"]:
        res = hclient.get(path)
        assert res.status_code == 400
        check_response(res)


def test_expensive_queries_do_not_tie_up_workers(vocab_home):
    """Twenty concurrent worst-case queries all come back (none blocks the
    others): answered, or, a heavy one that waited GATE_WAIT_S for another
    heavy one, refused as busy with a time to retry.  Which of the two
    depends on the machine's speed, not on the engine."""
    client_app = create_app(vocab_home)
    errors, done = [], []

    def worker(q):
        try:
            res = client_app.test_client().get("/api/search?" + urlencode({"q": q}))
            busy = (res.status_code == 503 and res.get_json().get("code") == "busy"
                    and res.headers.get("Retry-After"))
            (done if res.status_code == 200 or busy else errors).append((q, res.status_code))
        except Exception as exc:
            errors.append((q, repr(exc)))

    threads = [threading.Thread(target=worker, args=(EXPENSIVE[n % len(EXPENSIVE)],))
               for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        # a hang guard: the queries are bounded (test_expensive_queries_are_bounded)
        t.join(HANG_GUARD_S)
    assert not errors and len(done) == 20


@pytest.mark.slow
def test_expensive_queries_on_a_300k_word_vocabulary(tmp_path):
    """Queries that expand to the whole vocabulary stay fast (uncapped and capped
    timings in docs/reliability.md)."""
    build_index([write_vocabulary(tmp_path / "archive", 3000, 100)], tmp_path / "index")
    engine = Engine(tmp_path / "index")
    vocabulary = sum(1 for _ in engine.searcher().reader().lexicon("body"))
    assert vocabulary > 5 * matching.MAX_SCANNED_TERMS
    for q in EXPENSIVE:
        assert_bounded(engine, q)
    # The scan bound is what holds here: a leading wildcard meets it.
    scanned_most = max(scanned for scanned, _ in expansion_costs(engine, "*ا*"))
    assert scanned_most == matching.MAX_SCANNED_TERMS
