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

#: (headline, body, copies): الرياض, النفط and كوميدي in many articles; the
#: misspellings الريض and النفظ once each; قطر in a few.
ARTICLES = [
    ("قمة في الرياض", "تعقد القمة في الرياض هذا الأسبوع", 12),
    ("أسعار النفط ترتفع", "ارتفعت أسعار النفط في الأسواق", 12),
    ("عرض كوميدي جديد", "يقدم الممثل عرضا كوميديا على المسرح", 12),
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
        assert engine.search(Request(q=meant)).total >= 10 * result.total


def test_the_other_words_are_kept_as_typed(engine):
    assert engine.search(Request(q="أسعار النفظ")).suggestion == "أسعار النفط"
    assert engine.search(Request(q='"سوق النفظ"')).suggestion is None  # a phrase: left alone


def test_no_unrelated_or_rarer_word_is_offered(engine):
    """كوفيد is not in the archive; كوميدي is one edit away but not a slip."""
    assert engine.search(Request(q="كوفيد")).suggestion is None
    # A frequent word is what was meant, whatever its neighbours.
    assert engine.search(Request(q="الرياض")).suggestion is None
    assert engine.search(Request(q="النفط")).suggestion is None


@pytest.mark.parametrize("held, neighbour, offered", [
    (0, 1, True),  # nothing found: any respelling helps
    (1, 10, True),
    (1, 9, False),  # not ten times as many
    (3, 30, True),
    (4, 1000, False),  # not rare: at most 3 of 100 articles (RARE_FLOOR)
])
def test_a_respelling_must_find_ten_times_the_articles(held, neighbour, offered):
    frequency = {"ريض": held, "رياض": neighbour}
    got = respell.respell_word("ريض", str, 100,
                               respell.counted_one_by_one(lambda s: frequency.get(s, 0)),
                               lambda n: None)
    assert (got == "رياض") is offered


def test_rare_is_a_share_of_a_large_archive():
    frequency = {"ريض": 20, "رياض": 5000}

    held = respell.counted_one_by_one(lambda stem: frequency.get(stem, 0))

    assert respell.respell_word("ريض", str, 116_000, held, lambda n: None) == "رياض"
    assert respell.respell_word("ريض", str, 19_000, held, lambda n: None) is None


def test_the_lookups_are_charged(engine, monkeypatch):
    charged = []
    respell.respell_word("ريض", str, 100, respell.counted_one_by_one(lambda s: 0),
                         charged.append)
    # Each slip of three letters or more is its own stem here.
    assert charged == [len({w for w in respell.slips("ريض") if len(w) >= respell.MIN_STEM})]
    monkeypatch.setattr(budget, "QUERY_UNITS", budget.RESPELL_UNITS)  # past it: no suggestion
    result = engine.search(Request(q="الريض", highlight=False))
    assert result.total == 1 and result.suggestion is None


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
