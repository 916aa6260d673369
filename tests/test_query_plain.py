"""``plain_query`` builds exactly the query Whoosh's parser would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from whoosh import query as wq

from search.engine import Engine
from search.query import clean, plain_query, quoted_dates
from search.settings import SearchSettings

WORDS = ["الاقتصاد", "والاقتصاد", "اقتصاد", "النفط", "في", "من", "ما", "هي", "متى", "لماذا",
         "بماذا", "الأسواقُ", "وزير", "الوزير", "٢٠٢٣", "2023", "Oil", "oil", "COVID19", "ﻻ",
         "قطر", "تقرير", "عن", "هل", "كيف", "أين", "مصر", "ليفربول", "ليفيربول", "ـ", "x", "é"]


@pytest.fixture(scope="module")
def parser(news_index):
    return Engine(news_index).view().live.parser


#: Prefixes: each word and the start of some, a ``*`` after them.
PREFIXES = [f"{word}*" for word in WORDS if word != "ـ"] + ["ال*", "الاقت*", "وال*", "نف*",
                                                          "أس*", "الأسو*", "٢٠*", "CO*"]


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS + PREFIXES), max_size=8))
def test_same_as_the_whoosh_parser(parser, words):
    text = clean(" ".join(words))
    fast = plain_query(parser, text)
    assert fast is not None
    assert repr(fast) == repr(parser.parse(text))


def _same(fast, parsed) -> bool:
    """The same query, and each phrase with its words' places in the text
    (``repr`` leaves them out; quoted prefixes and highlighting read them)."""
    def places(q):
        return [(type(sub).__name__, getattr(sub, "char_ranges", None)) for sub in q.leaves()]
    return repr(fast) == repr(parsed) and places(fast) == places(parsed)


#: Words that every field keeps, one term each: a phrase of them is a phrase in every field.
PHRASE_WORDS = ["الاقتصاد", "والاقتصاد", "النفط", "وزير", "قطر", "تقرير", "مصر", "ليفربول",
                "2023", "٢٠٢٣", "Oil", "oil"]


def _phrase(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(WORDS + PREFIXES),
                                st.lists(st.sampled_from(PHRASE_WORDS), min_size=2,
                                         max_size=4).map(_phrase)), max_size=6))
def test_phrases_of_plain_words_are_built_as_the_parser_builds_them(parser, parts):
    text = clean(" ".join(parts))
    fast = plain_query(parser, text)
    assert fast is not None
    assert _same(fast, parser.parse(text))


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(WORDS),
                                st.lists(st.sampled_from(WORDS), min_size=1,
                                         max_size=3).map(_phrase)), max_size=5))
def test_a_phrase_the_fields_keep_less_of_goes_to_the_parser(parser, parts):
    """A phrase with stopwords, a letter-less word or one word: built as
    the parser builds it, or left to the parser."""
    text = clean(" ".join(parts))
    fast = plain_query(parser, text)
    if fast is not None:
        assert _same(fast, parser.parse(text))


@pytest.mark.parametrize("text", ['"النفط"', '"في النفط"', '""', 'a"النفط قطر"', '"النفط قطر',
                                  '"النفط قطر"~2', '"الاقت* النفط"', "النفط OR قطر", "-قطر",
                                  "العنوان:النفط", "نف*ط",
                                  "*", "نف**", "*نف", "النفط *", "(قطر)", "قطر^2", "a AND b",
                                  "2023-09", "ـ*", "العنوان:النفط*", "(نف*)", "-نف*"])
def test_syntax_goes_to_the_parser(parser, text):
    assert plain_query(parser, clean(text)) is None


def test_and_grouping_goes_to_the_parser(news_index):
    engine = Engine(news_index, SearchSettings(conjunctive=True))
    assert plain_query(engine.view().live.parser, "النفط قطر") is None


def test_a_rewrite_that_changes_nothing_copies_nothing(parser):
    """``quoted_dates`` over a query without a date clause gives the very
    clauses it was given; over one with a quoted date, a new query, the
    original left as it was."""
    plain = parser.parse(clean('"وزير الخارجية" OR (النفط AND NOT قطر)'))
    assert quoted_dates(parser.schema, plain) is plain
    dated = parser.parse(clean('النفط التاريخ:"26 سبتمبر 2023"'))
    before = repr(dated)
    rewritten = quoted_dates(parser.schema, dated)
    assert rewritten is not dated and repr(rewritten) != before
    assert repr(dated) == before


def test_a_phrase_on_a_view_without_positions_is_a_bonus_of_its_words(news_index):
    """A quoted phrase matches as a phrase in the fields with positions;
    in the view without them (``body_exact``), its words, with the view's
    boost, add to the score of the documents that hold them all.  The
    query comes out normalized (normalizing it again changes nothing)."""
    engine = Engine(news_index)
    q = engine.parse('"النفط قطر"').query
    assert isinstance(q, wq.AndMaybe)
    assert [type(sub) for sub in q.a.subqueries] == [wq.Phrase] * 3
    assert "body_exact" not in {sub.fieldname for sub in q.a.subqueries}
    boost = dict(engine.view().live.parser.plain_fields)["body_exact"]
    assert q.b == wq.And([wq.Term("body_exact", "النفط"), wq.Term("body_exact", "قطر")],
                         boost=boost)
    assert q.normalize() == q and repr(q.normalize()) == repr(q)


def test_a_words_terms_are_kept_with_the_parser_and_bounded(news_index, monkeypatch):
    """A word searched again is not analyzed again; past PARSED_WORDS words
    the parser's store starts afresh, and every parse stays the parser's."""
    import search.query as query_module

    parser = Engine(news_index).view().live.parser
    calls = []
    original = type(parser.schema["body"]).process_text

    def counted(field, *args, **kwargs):
        calls.append(args[0])
        return original(field, *args, **kwargs)

    monkeypatch.setattr(type(parser.schema["body"]), "process_text", counted)
    first = repr(plain_query(parser, "الاقتصاد النفط"))
    analyzed = len(calls)
    assert analyzed and repr(plain_query(parser, "الاقتصاد النفط")) == first
    assert len(calls) == analyzed
    monkeypatch.setattr(query_module, "PARSED_WORDS", 3)
    for text in ["وزير", "قطر", "مصر", "تقرير", "الاقتصاد النفط"]:
        assert repr(plain_query(parser, text)) == repr(parser.parse(text))
        assert len(parser.field_tokens) <= 3
