"""The search box's completions (indexer/completions.py): built at index
time from the headlines, matched as the analyzer matches, ranked by how
many headlines hold them, shown in their most frequent spelling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer import completions
from indexer.analysis import ArabicAnalyzer
from indexer.writer import build_index
from search.engine import Engine
from web import create_app

#: (headline, how many articles carry it).  وزير الخارجية is spelt three
#: ways (hamza, taa marbuta); الرياض is the most frequent word.
HEADLINES = [
    ("وزير الخارجية يزور الرياض", 4),
    ("وزير الخارجيه يلتقي نظيره", 1),
    ("وزير الداخلية في الرياض", 2),
    ("أسعار النفط ترتفع", 3),
    ("اسعار النفط تنخفض", 1),
    ("الرياض: أمطار غزيرة", 2),
    ("مؤتمر في الرياض", 1),
    ("النِّفط والغاز", 1),
]


def write_archive(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines, n = [], 0
    for headline, times in HEADLINES:
        for _ in range(times):
            n += 1
            lines.append(json.dumps({"id": f"a{n}", "title": headline,
                                     "content": f"نص الخبر رقم {n} عن الأحداث"},
                                    ensure_ascii=False))
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("completions")
    build_index([write_archive(root / "archive")], root / "index")
    return Engine(root / "index")


def texts(found) -> list[str]:
    return [text for text, _ in found]


def test_entries_are_words_and_phrases_without_stopwords_or_punctuation():
    analyzer = ArabicAnalyzer()
    found = completions.entries("الرياض: أمطار غزيرة في المدينة", analyzer)
    keys = {key for key, _ in found}
    assert keys == {"رياض", "امطار", "غزيره", "مدينه", "امطار غزيره"}
    # No phrase across the colon, none with the stopword في.
    assert ("رياض", "الرياض") in found


def test_completions_ranked_by_headline_count(engine):
    found = engine.complete("الر")
    assert found[0] == ("الرياض", 9)
    assert engine.complete("وزير")[0] == ("وزير", 7)


def test_spelling_and_article_do_not_matter(engine):
    """Hamza, taa marbuta, tashkeel, and the article typed or not: the same
    completions."""
    assert engine.complete("اسعار") == engine.complete("أسعار") == engine.complete("الأسعار")
    assert texts(engine.complete("رياض")) == texts(engine.complete("الرياض"))
    assert engine.complete("النفط")[0] == ("النفط", 5)
    assert engine.complete("النِّفْط")[0] == ("النفط", 5)


def test_the_most_frequent_spelling_is_shown(engine):
    """أسعار (3 headlines) over اسعار (1); الخارجية (4) over الخارجيه (1)."""
    assert engine.complete("اسعار ا")[0] == ("أسعار النفط", 4)
    assert engine.complete("وزير الخ")[0] == ("وزير الخارجية", 5)


def test_phrases_complete_the_last_word_and_keep_what_was_typed(engine):
    found = texts(engine.complete("وزير ال"))
    assert found[:2] == ["وزير الخارجية", "وزير الداخلية"]
    # A space after a word: the phrases it begins.
    assert texts(engine.complete("وزير ")) == ["وزير الخارجية", "وزير الداخلية"]
    # Earlier words are kept as typed; no phrase -> the last word alone.
    assert engine.complete("عاجل الرياض")[0] == ("عاجل الرياض", 9)
    assert texts(engine.complete("مؤتمر النف")) == ["مؤتمر النفط", "مؤتمر النفط ترتفع"]


def test_phrases_of_one_headline_are_left_out(engine):
    """مؤتمر الرياض... only ``مؤتمر في الرياض`` (a stopword between), and
    ``يلتقي نظيره`` is in one headline: no phrase."""
    assert texts(engine.complete("يلتقي")) == ["يلتقي"]


def test_nothing_to_complete(engine):
    assert engine.complete("") == []
    assert engine.complete("   ") == []
    assert engine.complete("؟!") == []
    assert engine.complete("زلزال") == []


def test_api_suggest(engine):
    client = create_app(backend=engine).test_client()
    response = client.get("/api/suggest", query_string={"q": "الري"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["query"] == "الري"
    assert data["suggestions"][0] == {"text": "الرياض", "count": 9}
    assert client.get("/api/suggest").get_json() == {"query": "", "suggestions": []}
    long = client.get("/api/suggest", query_string={"q": "ا" * 501})
    assert long.status_code == 400
    assert "طويل" in long.get_json()["error"]


def test_a_damaged_completions_file_is_reported(tmp_path):
    build_index([write_archive(tmp_path / "archive")], tmp_path / "index")
    engine = Engine(tmp_path / "index")
    path = Path(engine.stats()["path"]) / engine.generation() / completions.NAME
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="damaged"):
        Engine(tmp_path / "index").complete("الر")


def test_a_build_reads_the_headlines_it_left_then_deletes_them(tmp_path, monkeypatch):
    """A build leaves each new segment's headlines beside it for the
    completions (reading them from the stored fields decompresses whole
    documents), which give the same file as the stored fields do; the
    headlines files are gone once the completions are written."""
    left = []
    write_generation = completions.write_generation

    def spy(folder):
        left.extend(Path(folder).glob(f"*{completions.HEADLINES_EXTENSION}"))
        write_generation(folder)

    monkeypatch.setattr(completions, "write_generation", spy)
    build_index([write_archive(tmp_path / "archive")], tmp_path / "index")
    engine = Engine(tmp_path / "index")
    generation = Path(engine.stats()["path"]) / engine.generation()
    assert left and not any(path.exists() for path in left)
    written = (generation / completions.NAME).read_bytes()
    write_generation(generation)  # now from the stored fields
    assert (generation / completions.NAME).read_bytes() == written
