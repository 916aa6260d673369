"""Search: Arabic query variants, syntax, filters, highlighting, suggestions."""

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from indexer.writer import build_index
from search.backend import Request, SearchError
from search.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ID = "000_be18b8559e209b80"

EXTRA = {
    # A vocalized article: highlighting must land on the original characters.
    "vocalized": "وَزِيرُ الخارجيَّةِ يزورُ القاهرة\nتاريخ النشر: 2024-02-10\n"
                 "قالَ وَزِيرُ الخارجيَّةِ إنَّ الزيارةَ الرسميّة ناجحة.\nالمصدر | العربية\n",
    "html": "خبر فيه <script>alert(1)</script> وسوم\nتاريخ النشر: 2022-05-01\n"
            "نص <b>عريض</b> و\"'><img src=x onerror=alert(1)> عن الزعفران المصري.\n"
            "المصدر | <i>مصدر</i>\n",
    "old": "الزعفران الليبي في أزمة\nتاريخ النشر: 2019-03-15\n"
           "تراجع الزعفران الليبي بسبب النزاع.\nالمصدر | الجزيرة نت\n",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    archive = tmp / "archive"
    shutil.copytree(ROOT / "data" / "archive", archive)
    for name, text in EXTRA.items():
        (archive / f"{name}.txt").write_text(text, "utf-8")
    build_index([archive], tmp / "index")
    return Engine(tmp / "index")


def ids(engine, q, **kw):
    return [h.id for h in engine.search(Request(q=q, **kw)).hits]


@pytest.mark.parametrize(
    "query",
    [
        "حفتر",
        "الليبي",
        "الليبى",  # alef maksura
        "اللِّيبِيّ",  # diacritics
        "الليبـــي",  # tatweel
        "وبالليبي",  # attached prefixes
        "إجراء مباحثات",  # hamza
        "اجراء مباحثات",  # without hamza
        "رسميه",  # teh marbuta written as heh
        "زيارة",
        "٢٦ سبتمبر",  # Arabic-Indic digits
        "من هو حفتر؟",  # question words and Arabic question mark
    ],
)
def test_every_spelling_variant_finds_the_example(engine, query):
    assert EXAMPLE_ID in ids(engine, query)


def test_headline_match_ranks_first(engine):
    assert ids(engine, "حفتر روسيا")[0] == EXAMPLE_ID


def test_phrase_query(engine):
    assert EXAMPLE_ID in ids(engine, '"الشرق الليبي"')
    assert EXAMPLE_ID not in ids(engine, '"الليبي الشرق"')


def test_exclusion_with_minus_and_not(engine):
    assert EXAMPLE_ID in ids(engine, "روسيا")
    assert EXAMPLE_ID not in ids(engine, "روسيا -حفتر")
    assert EXAMPLE_ID not in ids(engine, "روسيا NOT حفتر")
    assert f"{EXAMPLE_ID}~1" in ids(engine, "روسيا -حفتر")


@pytest.mark.parametrize("excluded", [["حفتر"], ["حفتر", "الزعفران"]])
def test_a_query_of_exclusions_alone_finds_the_articles_without_them(engine, excluded):
    """``-a -b`` and ``NOT a NOT b`` both find every article with neither
    word (Whoosh searched nothing for ``-a``, and ``NOT a NOT b`` found the
    articles missing either)."""
    everything = set(ids(engine, "*", per_page=50))
    having = set().union(*(ids(engine, word, per_page=50) for word in excluded))
    assert having and everything - having
    for text in (" ".join(f"-{w}" for w in excluded), " ".join(f"NOT {w}" for w in excluded)):
        result = engine.search(Request(q=text, per_page=50))
        assert {h.id for h in result.hits} == everything - having, text
        assert result.total == len(everything - having)


def test_and_or_grouping(engine):
    assert ids(engine, "حفتر AND القاهرة") == []
    assert set(ids(engine, "(حفتر OR القاهرة)")) >= {EXAMPLE_ID, "vocalized"}


@pytest.mark.parametrize("field", ["العنوان", "headline"])
def test_field_query_and_arabic_alias(engine, field):
    assert ids(engine, f"{field}:القاهرة") == ["vocalized"]
    assert ids(engine, f"{field}:ناجحة") == []  # only in the body


def test_source_field_query(engine):
    assert ids(engine, 'المصدر:"الجزيرة نت" الزعفران') == ["old"]


def test_date_query_in_the_query_language(engine):
    assert ids(engine, "الزعفران التاريخ:2019") == ["old"]
    assert ids(engine, "الزعفران date:2022-05") == ["html"]
    assert ids(engine, "الزعفران التاريخ:٢٠١٩-٠٣") == ["old"]  # Arabic-Indic digits
    # Quoted, a date may be written as the archives write them.
    assert ids(engine, 'الزعفران التاريخ:"15 مارس 2019"') == ["old"]
    assert ids(engine, 'الزعفران التاريخ:"2022-05"') == ["html"]
    assert engine.search(Request(q='الزعفران التاريخ:"15 مارسس 2019"')).code == "bad_date"


@pytest.mark.parametrize("text, found", [
    ("date:[2019 to 2022]", {"old", "html"}),
    ("date:{2019 to 2022]", {"html"}),  # an excluded bound excludes its whole year
    ("date:[2019 to 2022}", {"old"}),
    ("date:{2019-03 to 2022-05}", set()),
    ("التاريخ:>2019", {"html"}),
    ("التاريخ:>=2019", {"old", "html"}),
    ("التاريخ:<2022-05", {"old"}),
    ("التاريخ:<=2022-05", {"old", "html"}),
])
def test_date_ranges_in_the_query_language(engine, text, found):
    assert set(ids(engine, f"الزعفران {text}")) == found


@pytest.mark.parametrize("text", ["الزعفران التاريخ:abc", "الزعفران التاريخ:2019-13",
                                  "التاريخ:2019..2022", "الزعفران date:[abc to 2020]",
                                  "الزعفران التاريخ:>2019-02-30",
                                  "الزعفران التاريخ:2019-01..2019-06"])
def test_a_date_in_the_query_that_is_not_one_is_reported(engine, text):
    """A date clause that is not a date searches nothing and says so: it is
    not dropped, which would search without the filter the user asked for."""
    result = engine.search(Request(q=text))
    assert result.total == 0 and not result.hits
    assert result.code == "bad_date"
    assert "2023-09" in result.message


def test_date_and_source_filters(engine):
    assert ids(engine, "الزعفران", date_from=date(2020, 1, 1)) == ["html"]
    assert ids(engine, "الزعفران", date_to=date(2020, 1, 1)) == ["old"]
    assert ids(engine, "الزعفران", sources=("الجزيرة نت",)) == ["old"]


def test_sort_by_date(engine):
    newest = ids(engine, "الزعفران OR حفتر", sort="newest", per_page=50)
    oldest = ids(engine, "الزعفران OR حفتر", sort="oldest", per_page=50)
    dated = [i for i in newest if i in oldest]
    assert newest.index("html") < newest.index("old")
    assert oldest.index("old") < oldest.index("html")
    assert len(dated) == len(newest)


def test_pagination(engine):
    everything = ids(engine, "الزعفران OR حفتر OR روسيا OR ليبيا", per_page=50)
    pages = [ids(engine, "الزعفران OR حفتر OR روسيا OR ليبيا", per_page=2, page=p) for p in (1, 2)]
    assert pages[0] + pages[1] == everything[:4]
    result = engine.search(Request(q="الزعفران OR حفتر OR روسيا OR ليبيا", per_page=2))
    assert result.pages == -(-result.total // 2)


def test_bad_requests_raise_search_error(engine):
    for req in (Request(q="x", page=0), Request(q="x", page=10_000), Request(q="x", sort="bogus"),
                Request(q="x", date_from=date(2024, 1, 1), date_to=date(2023, 1, 1))):
        with pytest.raises(SearchError):
            engine.search(req)


@pytest.mark.parametrize("query", ['"حفتر', "(حفتر", "حفتر)", "AND", "OR حفتر", ")))", "العنوان:",
                                   "*", "حفتر^", "[2023 TO", "-", '"', "~", "حفتر:روسيا:",
                                   "\x00حفتر"])
def test_malformed_queries_never_raise(engine, query):
    result = engine.search(Request(q=query))
    assert result.total >= 0
    if "حفتر" in query:
        assert EXAMPLE_ID in [h.id for h in result.hits]


def test_only_stopwords_gives_a_message(engine):
    result = engine.search(Request(q="في من على"))
    assert result.total == 0 and result.message
    assert result.code == "only_common_words"


@pytest.mark.parametrize("q", ["في من على", "", "حفتر", "كلمةلاتوجدأبدا"])
def test_took_ms_is_rounded_on_every_path(engine, q):
    """To a tenth of a millisecond, whichever way the query was answered."""
    took = engine.search(Request(q=q)).took_ms
    assert took == round(took, 1)
    assert len(repr(took).partition(".")[2]) <= 1


def test_messages_are_arabic_and_named_by_a_code(engine):
    cases = {"": "empty_query", "((( ؟ ،": "empty_query", '"" !': "empty_query",
             "في": "only_common_words", "(في)": "only_common_words",
             "كلمةلاتوجدأبدا": "no_results"}
    for q, code in cases.items():
        result = engine.search(Request(q=q))
        assert result.code == code, q
        assert re.search("[\u0621-\u064a]", result.message) and not re.search("[a-z]",
                                                                                result.message)
    past = engine.search(Request(q="حفتر", page=7))
    assert past.total and not past.hits and past.code == "past_last_page"
    assert past.message.startswith("لا توجد نتائج في هذه الصفحة")
    assert engine.search(Request(q="حفتر")).code is None


def test_highlighting_marks_all_inflected_forms_with_diacritics(engine):
    [hit] = [h for h in engine.search(Request(q="وزير الخارجية")).hits if h.id == "vocalized"]
    # Exactly the matched words, as written (diacritics kept), nothing else.
    assert re.findall(r"<mark>(.*?)</mark>", hit.headline_html) == ["وَزِيرُ", "الخارجيَّةِ"]
    assert re.findall(r"<mark>(.*?)</mark>", hit.snippet_html) == ["وَزِيرُ", "الخارجيَّةِ"]
    assert hit.snippet_html.replace("<mark>", "").replace("</mark>", "") == \
        "قالَ وَزِيرُ الخارجيَّةِ إنَّ الزيارةَ الرسميّة ناجحة."


def test_highlighting_marks_the_words_a_prefix_found(engine):
    """A prefix's matches are marked, on the results and on the article page;
    a prefix the query excludes is not."""
    result = engine.search(Request(q="الخارج*"))
    [hit] = [h for h in result.hits if h.id == "vocalized"]
    assert re.findall(r"<mark>(.*?)</mark>", hit.headline_html) == ["الخارجيَّةِ"]
    assert "<mark>الخارجيَّةِ</mark>" in engine.article("vocalized", q="الخارج*").body_html
    excluded = engine.article("vocalized", q="وزير -الخارج*").body_html
    assert re.findall(r"<mark>(.*?)</mark>", excluded) == ["وَزِيرُ"]


def test_highlighting_marks_a_phrase_where_it_occurs(engine):
    """A quoted phrase marks its words where they make the phrase, in the
    results and on the article page; apart, they are not marked."""
    [hit] = [h for h in engine.search(Request(q='"وزير الخارجية"')).hits if h.id == "vocalized"]
    assert re.findall(r"<mark>(.*?)</mark>", hit.headline_html) == ["وَزِيرُ", "الخارجيَّةِ"]

    def marked(q):
        return re.findall(r"<mark>(.*?)</mark>", engine.article("vocalized", q=q).body_html)

    assert marked('"الرسمية ناجحة"') == ["الرسميّة", "ناجحة"]
    assert marked('"الخارجية ناجحة"') == []
    assert marked('"الخارجية ناجحة" القاهرة') == []  # only in the headline
    assert marked('"الخارجية ناجحة" وزير') == ["وَزِيرُ"]


def test_a_quoted_word_with_a_star_is_a_prefix_in_the_phrase(engine):
    """``"وزير الخار*"`` finds and marks the phrase with any word the prefix
    begins; the same words apart, or the phrase with the unfinished word
    searched as it is, do not."""
    [hit] = [h for h in engine.search(Request(q='"وزير الخار*"')).hits if h.id == "vocalized"]
    assert re.findall(r"<mark>(.*?)</mark>", hit.headline_html) == ["وَزِيرُ", "الخارجيَّةِ"]
    assert "vocalized" not in ids(engine, '"وزير الخار"')
    assert "vocalized" not in ids(engine, '"الخار* وزير"')
    assert ids(engine, '"وزير الخار*"') == ids(engine, '"وزير الخارجية"')
    # A quoted single word with a star is the prefix.
    assert "vocalized" in ids(engine, '"الخار*"')
    assert "vocalized" not in ids(engine, '"الخار"')


def test_highlighting_joins_stemmer_families(engine):
    [hit] = [h for h in engine.search(Request(q="الليبي")).hits if h.id == EXAMPLE_ID]
    marked = set(re.findall(r"<mark>(.*?)</mark>", hit.snippet_html))
    assert {"الليبي", "بالشرق"} & marked == {"الليبي"}
    assert marked <= {"الليبي", "الليبية", "بالشرق الليبي"}


def test_snippets_are_whole_words(engine):
    result = engine.search(Request(q="فاجنر"))
    body = engine.article(EXAMPLE_ID).body
    for fragment in result.hits[0].snippet_html.split(" … "):
        plain = re.sub(r"</?mark>", "", fragment).strip(" …")
        start = body.find(plain)
        assert start >= 0
        assert start == 0 or body[start - 1].isspace()
        end = start + len(plain)
        assert end == len(body) or body[end].isspace()


def test_html_in_articles_is_escaped(engine):
    [hit] = engine.search(Request(q="عريض")).hits
    for html in (hit.headline_html, hit.snippet_html):
        assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in hit.headline_html
    assert "&lt;img" in hit.snippet_html
    article = engine.article("html", q="عريض")
    assert "<b>" not in article.body_html and "&lt;b&gt;" in article.body_html
    assert "<mark>عريض</mark>" in article.body_html
    article = engine.article("html", q="خبر")
    assert article.headline_html.startswith("<mark>خبر</mark> فيه &lt;script&gt;")


def test_facets_count_sources_years_and_months(engine):
    facets = engine.search(Request(q="الزعفران")).facets
    assert {f["value"]: f["count"] for f in facets["source"]} == {"<i>مصدر</i>": 1, "الجزيرة نت": 1}
    assert [f["value"] for f in facets["year"]] == ["2019", "2022"]
    assert [f["value"] for f in facets["month"]] == ["2019-03", "2022-05"]


def test_did_you_mean(engine):
    result = engine.search(Request(q="حفتير"))
    assert result.total == 0
    assert result.suggestion == "حفتر"
    assert engine.search(Request(q="حفتر")).suggestion is None


def test_took_ms_and_total(engine):
    result = engine.search(Request(q="حفتر"))
    assert result.total == len(result.hits) >= 1
    assert result.took_ms > 0


def test_article_and_more_like_this(engine):
    article = engine.article(EXAMPLE_ID, q="حفتر")
    assert article.date == "2023-09-26"
    assert article.related == ["إيكونوميست: حفتر يستغل كارثة فيضانات ليبيا لبسط نفوذه"]
    assert "<mark>حفتر</mark>" in article.body_html
    assert engine.article("no-such-id") is None
    similar = [h.id for h in engine.more_like_this(EXAMPLE_ID)]
    assert EXAMPLE_ID not in similar and similar


def test_more_like_this_reads_the_part_of_a_huge_article_the_page_marks(tmp_path):
    """Its key terms come from the body's first WHOLE_CHARLIMIT characters:
    a record of megabytes is not analyzed whole for the article page."""
    from search.highlight import WHOLE_CHARLIMIT

    head = "محصول القمح والشعير في الحقول " * (WHOLE_CHARLIMIT // 30 + 1)
    tail = "أسعار الذهب والفضة في الأسواق " * 20_000
    archive = tmp_path / "archive"
    archive.mkdir()
    for name, body in (("huge", head + tail), ("wheat", "موسم القمح والشعير وفير في الحقول"),
                       ("gold", "ارتفعت أسعار الذهب والفضة في الأسواق")):
        (archive / f"{name}.txt").write_text(
            f"خبر {name}\nتاريخ النشر: 2024-01-0{len(name)}\n{body}\nالمصدر | اختبار\n", "utf-8")
    build_index([archive], tmp_path / "index")
    engine = Engine(tmp_path / "index")
    [huge] = [h.id for h in engine.search(Request(q="القمح")).hits if h.id != "wheat"]
    assert [h.id for h in engine.more_like_this(huge)] == ["wheat"]


def test_prefix_queries_find_words_with_the_article(news_index):
    """Stems have no article, so ``الاقتص*`` searches the stemmed fields as ``اقتص*``."""
    engine = Engine(news_index)
    with_article = engine.search(Request(q="الاقتص*"))
    assert with_article.total >= 15
    assert with_article.total == engine.search(Request(q="اقتص*")).total
    assert engine.search(Request(q="ال*")).total >= 15  # too short to strip: left alone


def test_strip_article():
    from indexer.stem import strip_article

    assert strip_article("الليب") == "ليب" and strip_article("والاقتص") == "اقتص"
    assert strip_article("ال") == "ال" and strip_article("الب") == "الب"
    assert strip_article("ال*ي") == "ال*ي" and strip_article("وزي") == "وزي"
