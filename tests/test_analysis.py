"""The Arabic analyzer: every normalization rule, stopwords, stemming, offsets."""

import pickle

import pytest
from hypothesis import given, settings, strategies as st

from indexer.analysis import ArabicAnalyzer
from indexer.normalize import RULES, make_normalizer, normalize
from indexer.stem import light10

A = ArabicAnalyzer()


def terms(text, **kw):
    return A.analyze(text, **kw)


@pytest.mark.parametrize(
    "variant, plain",
    [
        ("أحمد", "احمد"),  # hamza above alef
        ("إسلام", "اسلام"),  # hamza below
        ("آمال", "امال"),  # madda
        ("ٱلرحمن", "الرحمن"),  # wasla
        ("مسؤول", "مسءول"),  # hamza on waw
        ("مسئول", "مسءول"),  # hamza on yeh: same as on waw
        ("مستشفى", "مستشفي"),  # alef maksura
        ("فارسی", "فارسي"),  # Persian yeh
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("کتاب", "كتاب"),  # Persian kaf
        ("الْعَرَبِيَّةُ", "العربيه"),  # harakat and shadda
        ("الرحمٰن", "الرحمن"),  # superscript alef
        ("العـــربية", "العربيه"),  # tatweel
        ("\ufefb", "لا"),  # lam-alef ligature
        ("\ufee3\ufeae\ufea3\ufe92\ufe8e", "مرحبا"),  # presentation forms (PDF text)
        ("٢٠٢٣", "2023"),  # Arabic-Indic digits
        ("۲۰۲۳", "2023"),  # Persian digits
        ("BBC", "bbc"),  # Latin lowercase
        ("حف\u200cتر", "حفتر"),  # zero-width non-joiner inside a word
    ],
)
def test_normalization_rules(variant, plain):
    assert normalize(variant) == plain


def test_each_rule_does_its_own_job():
    for rule in RULES:
        alone = make_normalizer([rule])
        samples = {"tashkeel": "عَ", "tatweel": "عـا", "alef": "أ", "yeh": "ى", "teh_marbuta": "ة",
                   "hamza_carriers": "ؤ", "digits": "٣", "lower": "A", "persian": "ک",
                   "ligature": "\ufefb", "presentation": "\ufee3"}
        assert alone(samples[rule]) != samples[rule], rule
        assert make_normalizer([])(samples[rule]) == samples[rule], rule


def test_unknown_rule_is_an_error():
    with pytest.raises(ValueError):
        make_normalizer(["nope"])


@pytest.mark.parametrize(
    "word, stem",
    [
        ("الكتاب", "كتاب"),
        ("والكتاب", "كتاب"),
        ("وبالمدرسه", "مدرس"),  # و then one article, as in Larkey's light10
        ("للمدرسه", "مدرس"),
        ("المعلمون", "معلم"),
        ("المعلمين", "معلم"),
        ("سيارات", "سيار"),
        ("كتابها", "كتاب"),
        ("ال", "ال"),  # never below two letters
        ("وزن", "وزن"),  # و only stripped from words of 4+ letters
    ],
)
def test_light10(word, stem):
    assert light10(word) == stem


def test_protected_words_keep_their_first_letter():
    protected = frozenset({"وزير"})
    assert light10("وزير", protected) == "وزير"
    assert light10("الوزير", protected) == "وزير"
    assert light10("ووزير", protected) == "وزير"


def test_variants_analyze_to_the_same_terms():
    base = terms("الليبي")
    for variant in ["الليبى", "اللّيبِي", "الليبـــي", "الِلّيبي"]:
        assert terms(variant) == base


def test_stopwords_removed_after_normalizing():
    # "أنّ" (vocalized, hamza) is a stopword only once normalized.
    assert terms("قال أنّ الوزير في المدينة") == ["قال", "وزير", "مدين"]
    assert terms("إلى") == [] and terms("الى") == []


def test_question_words_dropped_from_queries_only():
    assert terms("متى ولد خاشقجي", query=True) == ["ولد", "خاشقج"]
    assert terms("متى ولد خاشقجي") == ["مت", "ولد", "خاشقج"]


def test_offsets_point_into_the_original_vocalized_text():
    text = "بَدَأَ قائدُ الشَّرْقِ اللِّيبـــيّ، «حفتر»"
    tokens = [t.copy() for t in A(text, chars=True, positions=True)]
    surfaces = [text[t.startchar:t.endchar] for t in tokens]
    assert surfaces == ["بَدَأَ", "قائدُ", "الشَّرْقِ", "اللِّيبـــيّ", "حفتر"]
    assert [t.pos for t in tokens] == [0, 1, 2, 3, 4]


def test_positions_skip_stopwords_consistently():
    tokens = [t.copy() for t in A("العلاقات بين البلدين", positions=True)]
    assert [(t.text, t.pos) for t in tokens] == [("علاق", 0), ("بلد", 1)]


def test_tokenizer_splits_on_arabic_punctuation():
    assert terms("كوتشلي؟ نعم،لا؛ربما") == ["كوتشل", "ربما"]


def test_giant_tokens_are_skipped():
    assert terms("ا" * 500 + " كتاب") == ["كتاب"]


def test_analyzer_pickles_without_its_cache():
    A.analyze("الكتاب")  # fill the cache
    clone = pickle.loads(pickle.dumps(A))
    assert clone == A and "_cache" not in clone.__dict__
    assert clone.analyze("الكتاب") == ["كتاب"]


def test_fingerprint_follows_the_configuration():
    assert A.fingerprint() == ArabicAnalyzer().fingerprint()
    assert ArabicAnalyzer(stemmer="none").fingerprint() != A.fingerprint()
    assert ArabicAnalyzer(query_clitics="").fingerprint() != A.fingerprint()


_ARABIC_AND_MORE = st.text(
    alphabet=st.one_of(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
                       st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF),
                       st.sampled_from("\u200b\u200c\u200d\u200e\u200f\u061c abcΣσ")),
    max_size=12)


@settings(max_examples=500, deadline=None)
@given(_ARABIC_AND_MORE, st.sets(st.sampled_from(RULES)))
def test_normalizer_equals_the_pyarabic_chain(token, rules):
    """The one translate table gives what pyarabic's functions give, run in
    order on the whole token (normalize_ligature, strip_tashkeel, ...)."""
    import unicodedata

    # The normalizer's own private steps, so the check runs exactly the chain it was made from.
    from indexer.normalize import _pyarabic_steps, _table, has_presentation_forms  # noqa: PLC2701

    expected = token
    if "presentation" in rules and has_presentation_forms(expected):
        expected = unicodedata.normalize("NFKC", expected)
    # pyarabic's functions on the whole token, where the normalizer's table
    # was made from them one character at a time.
    expected = _pyarabic_steps(rules, _table(rules))(expected)
    if "lower" in rules:
        expected = expected.lower()
    assert make_normalizer(rules)(token) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
    st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF),
    st.sampled_from(" \t\n\u00a0\u2029\u200b\u0640\u064e\u0670ΑΣσİiAz5٥😀"),
    # Every kind of whitespace str.split knows.
    st.sampled_from("\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u1680\u2000\u200a\u2028\u202f"
                    "\u205f\u3000")), max_size=40))
def test_normalize_text_is_word_by_word(text):
    """The whole-text array path gives the words normalized one by one,
    split as ``str.split`` splits them."""
    from indexer.normalize import normalize_text

    assert normalize_text(text) == " ".join(map(normalize, text.split()))


def test_index_sections_analyzes_each_new_word_once():
    """However often a word occurs in a text (a huge record repeats a few
    words millions of times), it is analyzed once."""
    analyzer = ArabicAnalyzer()
    analyzed = []
    plain = analyzer.index_term
    analyzer.index_term = lambda word: analyzed.append(word) or plain(word)
    sections = analyzer.index_sections("الاقتصاد في الأسواق " * 500 + "\u2029" + "الاقتصاد")
    assert sorted(analyzed) == sorted(["الاقتصاد", "في", "الأسواق"])
    assert sections == [["اقتصاد", "اسواق"] * 500, ["اقتصاد"]]


@pytest.mark.parametrize("rules", [RULES, (), ("tashkeel", "alef", "lower"),
                                   ("presentation", "yeh", "digits")])
def test_code_point_map_is_each_code_point_normalized_alone(rules):
    """The table is made from the characters a rule can change only: it
    equals normalizing every BMP code point on its own."""
    import numpy as np

    from indexer.normalize import DELETED, UNMAPPED, code_point_map, has_presentation_forms

    normalize_one = make_normalizer(rules)
    expected = np.arange(0x10000, dtype=np.uint32)
    for code in [*range(0xD800), *range(0xE000, 0x10000)]:
        ch = chr(code)
        out = normalize_one(ch)
        if has_presentation_forms(ch) or ch == "\u03a3" or len(out) > 1:
            expected[code] = UNMAPPED
        else:
            expected[code] = ord(out) if out else DELETED
    assert (code_point_map(rules) == expected).all()
    assert code_point_map(rules) is code_point_map(tuple(reversed(rules)))  # made once


def test_word_units_spaces_exactly_the_characters_outside_words():
    import numpy as np

    from indexer.analysis import WORD_CHAR_RE, word_units

    units = word_units(RULES)
    outside = np.fromiter((WORD_CHAR_RE.match(chr(code)) is None for code in range(0x10000)),
                          dtype=bool, count=0x10000)
    outside[0xD800:0xE000] = False  # surrogates: never normalized in place
    assert (units[outside] == ord(" ")).all()
    assert (units[~outside] != ord(" ")).all()
