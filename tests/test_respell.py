"""Did you mean (search/respell.py): offered whenever a rare word's
respelling finds many more articles, not only when nothing is found, and
never a rarer or unrelated word."""

from __future__ import annotations

import json

import pytest

from indexer.writer import build_index
from search import budget, respell
from search.backend import Request
from search.engine import Engine
from web import create_app

by_one = respell.counted_one_by_one

#: (headline, body, copies): الرياض, النفط and كوميدي in many articles; the
#: misspellings الريض and النفظ once each; قطر in a few; الصرع, a word,
#: in the headlines of two articles.
ARTICLES = [
    ("قمة في الرياض", "تعقد القمة في الرياض هذا الأسبوع", 60),
    ("أسعار النفط ترتفع", "ارتفعت أسعار النفط في الأسواق", 60),
    ("عرض كوميدي جديد", "يقدم الممثل عرضا كوميديا على المسرح", 60),
    ("الصراع في المنطقة", "يستمر الصراع منذ سنوات", 110),
    ("علاج الصرع", "دواء جديد لمرضى الصرع", 2),
    ("زيارة إلى الريض", "وصل الوفد إلى الريض أمس", 1),
    ("سوق النفظ", "تراجع سوق النفظ قليلا", 1),
    ("قطر تستضيف", "تستضيف قطر مؤتمرا", 3),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("respell")
    folder = root / "archive"
    folder.mkdir()
    lines = [json.dumps({"id": f"{n}-{i}", "title": headline, "content": f"{body} رقم {i}"},
                        ensure_ascii=False)
             for n, (headline, body, copies) in enumerate(ARTICLES) for i in range(copies)]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    build_index([folder], root / "index")
    return Engine(root / "index")


def test_slips_are_arabic_misspellings():
    assert "رياض" in respell.slips("ريض")  # a long vowel left out
    assert "نفط" in respell.slips("نفظ")  # the same shape, other dots
    assert "قطر" in respell.slips("قطررر")  # a key pressed three times
    assert respell.slips("ريلض")["رياض"] == 2  # a keyboard neighbour (ا beside ل)
    assert respell.slips("ريض")["رياض"] == 1
    assert "كوميد" not in respell.slips("كوفيد")  # ف and م share nothing
    assert "رفض" not in respell.slips("ريض")


def test_a_rare_word_is_respelt_even_when_it_finds_articles(engine):
    for typed, meant in (("الريض", "الرياض"), ("النفظ", "النفط")):
        result = engine.search(Request(q=typed))
        assert result.total == 1
        assert result.suggestion == meant
        assert engine.search(Request(q=meant)).total >= respell.GAIN * result.total


def test_the_other_words_are_kept_as_typed(engine):
    assert engine.search(Request(q="أسعار النفظ")).suggestion == "أسعار النفط"
    assert engine.search(Request(q='"سوق النفظ"')).suggestion is None  # a phrase: left alone


def test_no_unrelated_or_rarer_word_is_offered(engine):
    """كوفيد is not in the archive; كوميدي is one edit away but not a slip."""
    assert engine.search(Request(q="كوفيد")).suggestion is None
    # A frequent word is what was meant, whatever its neighbours.
    assert engine.search(Request(q="الرياض")).suggestion is None
    assert engine.search(Request(q="النفط")).suggestion is None


@pytest.mark.parametrize("typed, held, neighbour, offered", [
    ("ريض", 0, 1, True),  # nothing found: any respelling helps
    ("ريض", 1, 50, True),
    ("ريض", 1, 49, False),  # not GAIN times as many
    ("ريض", 3, 150, True),
    ("ريض", 4, 1000, False),  # not rare: at most 3 of 100 articles (RARE_FLOOR)
    ("ريلض", 1, 100, True),  # a less likely slip (a keyboard neighbour) needs twice the gain
    ("ريلض", 1, 99, False),
])
def test_a_respelling_must_find_gain_times_the_articles(typed, held, neighbour, offered):
    frequency = {typed: held, "رياض": neighbour}
    got = respell.respell_word(typed, str, 100,
                               by_one(lambda s: frequency.get(s, 0)),
                               lambda n: None)
    assert (got == "رياض") is offered


def test_a_word_of_its_own_is_not_respelt():
    """يتماثل (recovers) is rare beside يتمثل (consists in), but far too
    frequent to be a slip of it: a slip is made in far fewer than one of
    GAIN occurrences."""
    forms = {"يتماثل": 12, "يتمثل": 284}

    def respelt():
        return respell.respell_word("يتماثل", str, 57_000, by_one(lambda s: forms.get(s, 0)),
                                    lambda n: None, by_one(lambda f: forms.get(f, 0)))

    assert respelt() is None
    forms["يتمثل"] = 12 * respell.GAIN
    assert respelt() == "يتمثل"


def test_a_word_the_headlines_use_is_not_respelt(engine):
    counts = by_one(lambda s: {"رياض": 90}.get(s, 0))
    assert respell.respell_word("ريض", str, 100, counts, lambda n: None,
                                headlines=lambda w: 1) == "رياض"
    assert respell.respell_word("ريض", str, 100, counts, lambda n: None,
                                headlines=lambda w: respell.KNOWN_HEADLINES) is None
    # In two headlines, held by 2 articles against 110: a word, not a slip.
    assert engine.search(Request(q="الصرع")).suggestion is None
    assert engine.search(Request(q="الريض")).suggestion == "الرياض"  # in one headline


def test_a_misspelling_whose_stem_is_a_word_is_respelt():
    """With the forms known, the typed form's rarity is what counts: سرقيه
    (the slip of شرقيه) stems to سرق (steal), a frequent word."""
    forms = {"السرقيه": 1, "الشرقيه": 2116}
    stems = {"سرق": 900, "شرق": 5000}

    def stem_of(word):
        return word[2:5]

    got = respell.respell_word("السرقيه", stem_of, 57_000, by_one(lambda s: stems.get(s, 0)),
                               lambda n: None, by_one(lambda f: forms.get(f, 0)))
    assert got == "الشرقيه"


def test_rare_is_a_share_of_a_large_archive():
    frequency = {"ريض": 20, "رياض": 5000}

    held = by_one(lambda stem: frequency.get(stem, 0))

    assert respell.respell_word("ريض", str, 116_000, held, lambda n: None) == "رياض"
    assert respell.respell_word("ريض", str, 19_000, held, lambda n: None) is None


def test_the_lookups_are_charged(engine, monkeypatch):
    charged = []
    respell.respell_word("ريض", str, 100, by_one(lambda s: 0),
                         charged.append)
    # Each slip of three letters or more is its own stem here.
    assert charged == [len({w for w in respell.slips("ريض") if len(w) >= respell.MIN_STEM})]
    monkeypatch.setattr(budget, "QUERY_UNITS", budget.RESPELL_UNITS)  # past it: no suggestion
    fresh = Engine(engine.home)  # nothing kept yet (``test_a_respelling_is_found_once``)
    result = fresh.search(Request(q="الريض", highlight=False))
    assert result.total == 1 and result.suggestion is None


def test_a_respelling_is_found_once_per_generation(engine, monkeypatch):
    """The generation keeps a word's respelling: asked again (the next
    page, the next reader), no term is looked up, and the answer is the same."""
    fresh = Engine(engine.home)
    gen = fresh.view().gen
    looked_up = []
    real = gen.doc_frequency
    monkeypatch.setattr(gen, "doc_frequency",
                        lambda *a: looked_up.append(a) or real(*a))
    first = fresh.search(Request(q="أسعار النفظ", highlight=False)).suggestion
    assert first == "أسعار النفط" and looked_up
    looked_up.clear()
    assert fresh.search(Request(q="النفظ أسعار", page=2)).suggestion == "النفط أسعار"
    assert looked_up == []
    assert Engine(engine.home).search(Request(q="النفظ")).suggestion == "النفط"


def test_the_page_offers_it_above_the_results(engine):
    client = create_app(backend=engine).test_client()
    html = client.get("/", query_string={"q": "الريض"}).get_data(as_text=True)
    assert "هل تقصد" in html and "الرياض" in html
    assert 'class="hits"' in html


def test_a_pressed_key_and_a_moved_suffix(engine):
    assert engine.search(Request(q="قطررر")).suggestion == "قطر"
    # The slip is made on the word and looked up by its stem: اسعر
    # (nothing) -> اسعار (stem سعر, 12 articles).
    assert engine.search(Request(q="اسعر")).suggestion == "أسعار"


def test_the_archive_spelling_is_shown(engine):
    """The respelt word in its most frequent headline spelling, hamza kept
    (the respelling itself is normalized: اسعار)."""
    assert engine.search(Request(q="اسعارر")).suggestion == "أسعار"
    # A respelt form must itself be written in the archive: بالرياض never is.
    assert engine.search(Request(q="بالريض")).suggestion is None
