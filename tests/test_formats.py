"""The writer's fast posting formats (indexer/formats.py) and
``ArabicAnalyzer.index_terms`` against Whoosh's generic path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from whoosh.formats import Frequency, Positions

from indexer.analysis import (
    MAX_WORD_CHARS,
    SECTION_BREAK,
    WORD_RE,
    ArabicAnalyzer,
    find_words,
)
from indexer.formats import WordCounts, WordPositions
from indexer.schema import build_schema
from indexer.settings import IndexSettings

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_TEXTS = [p.read_text("utf-8") for p in sorted((ROOT / "data" / "archive").glob("*.txt"))]

TEXTS = [
    "",
    "   ",
    "أسعار النفط ترتفع مع خفض الإنتاج",
    "وَزِيرُ الخارجية في هذا اليوم من أجل ذلك",  # diacritics, stopwords
    "عنوان الخبر" + SECTION_BREAK + "نص الخبر عن الاقتصاد",
    SECTION_BREAK + SECTION_BREAK + "بعد فاصلين" + SECTION_BREAK,
    "كلمة " + "ب" * (MAX_WORD_CHARS + 1) + " أخرى " + "ت" * MAX_WORD_CHARS,
    "الـــــنفط 2023 COVID-19 e-mail_address ؟،؛ كأس-العالم",
    *ARCHIVE_TEXTS,
]

ANALYZERS = [ArabicAnalyzer(), ArabicAnalyzer().view("none"), ArabicAnalyzer().view("skeleton")]


def generic(analyzer: ArabicAnalyzer, text: str) -> list[tuple[str, int]]:
    return [(t.text, t.pos) for t in analyzer(text, positions=True, mode="index")]


@pytest.mark.parametrize("analyzer", ANALYZERS, ids=["light10", "exact", "skeleton"])
@pytest.mark.parametrize("text", TEXTS)
def test_index_terms_are_the_tokens(analyzer, text):
    assert analyzer.index_terms(text) == generic(analyzer, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"ابتثجحخدذرسشصضطظعغفقكلمنهوىيءآأإؤئةـًٌٍَُِّْ",
                                         " ", "\n", ".", "،", SECTION_BREAK, "x", "7", "_"]),
               max_size=120))
def test_index_terms_on_any_text(text):
    for analyzer in ANALYZERS:
        assert analyzer.index_terms(text) == generic(analyzer, text)


@pytest.mark.parametrize("ours, theirs", [(WordCounts, Frequency), (WordPositions, Positions)])
@pytest.mark.parametrize("text", TEXTS)
def test_formats_give_whooshs_postings(ours, theirs, text):
    for analyzer in ANALYZERS:
        for boost in (1.0, 2.5):
            mine = sorted(ours(field_boost=boost).word_values(text, analyzer, mode="index"))
            expected = sorted(theirs(field_boost=boost).word_values(text, analyzer,
                                                                     mode="index"))
            assert mine == expected


def test_other_values_take_the_generic_path():
    analyzer = ArabicAnalyzer()
    tokens = list(analyzer("النفط والغاز", positions=True, mode="index"))
    assert sorted(WordPositions().word_values(tokens, analyzer, mode="index", tokenize=False)) \
        == sorted(Positions().word_values(tokens, analyzer, mode="index", tokenize=False))
    query = sorted(WordCounts().word_values("ما النفط", analyzer, mode="query"))
    assert query == sorted(Frequency().word_values("ما النفط", analyzer, mode="query"))


def test_the_schema_uses_them():
    schema = build_schema(IndexSettings())
    assert isinstance(schema["body"].format, WordPositions)
    assert isinstance(schema["body_exact"].format, WordCounts)
    assert schema["body"].format.supports("positions")
    assert not schema["body_skel"].format.supports("positions")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.text(alphabet=st.sampled_from(list("اب_ـَ\u200c\u0670x1 ")),
                                      max_size=40))
def test_find_words_is_the_word_pattern(text):
    assert find_words(text) == WORD_RE.findall(text)
