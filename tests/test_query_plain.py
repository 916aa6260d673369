"""``plain_query`` builds exactly the query Whoosh's parser would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from search.engine import Engine
from search.query import clean, plain_query
from search.settings import SearchSettings

WORDS = ["الاقتصاد", "والاقتصاد", "اقتصاد", "النفط", "في", "من", "ما", "هي", "متى", "لماذا",
         "بماذا", "الأسواقُ", "وزير", "الوزير", "٢٠٢٣", "2023", "Oil", "oil", "COVID19", "ﻻ",
         "قطر", "تقرير", "عن", "هل", "كيف", "أين", "مصر", "ليفربول", "ليفيربول", "ـ", "x", "é"]


@pytest.fixture(scope="module")
def parser(news_index):
    return Engine(news_index).view().live.parser


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=8))
def test_same_as_the_whoosh_parser(parser, words):
    text = clean(" ".join(words))
    fast = plain_query(parser, text)
    assert fast is not None
    assert repr(fast) == repr(parser.parse(text))


@pytest.mark.parametrize("text", ['"النفط"', "النفط OR قطر", "-قطر", "العنوان:النفط", "نف*",
                                  "(قطر)", "قطر^2", "a AND b", "2023-09"])
def test_syntax_goes_to_the_parser(parser, text):
    assert plain_query(parser, clean(text)) is None


def test_and_grouping_goes_to_the_parser(news_index):
    engine = Engine(news_index, SearchSettings(conjunctive=True))
    assert plain_query(engine.view().live.parser, "النفط قطر") is None
