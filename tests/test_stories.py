"""Stories: near-duplicate articles grouped at index time, shown once.

The fixture archive (tests/conftest.py ``STORY_NEWS``) holds one agency
story printed three times (word for word under another headline, and
edited), another story on the same subject, the first story's text again
a month later, and a short brief printed twice.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from arshif.cli import main
from conftest import STORY, STORY_EDITED
from indexer import manifest, minhash, stories
from indexer.normalize import normalize_text
from indexer.writer import build_index
from search.backend import Request
from search.engine import Engine
from web import create_app

STORY_IDS = {"spa/visit", "riyadh/visit", "madina/visit"}


def groups(home) -> set[frozenset[str]]:
    """The index's stories as sets of article ids."""
    ix = manifest.open_current(home)
    try:
        folder = ix.storage.folder
        with ix.searcher() as searcher:
            ids = {docnum: fields["id"] for docnum, fields in searcher.iter_docs()}
    finally:
        ix.close()
    found = stories.Stories(folder)
    everyone = np.arange(len(found))
    assert found.sizes(everyone).tolist() == [len(found.members(n)) for n in everyone]
    assert found.sizes(everyone[::-1]).tolist() == found.sizes(everyone).tolist()[::-1]
    return {frozenset(ids[int(d)] for d in found.members(n)) for n in range(len(found))}


def test_exact_and_edited_copies_are_one_story_and_others_are_not(story_index):
    assert groups(story_index) == {
        frozenset(STORY_IDS), frozenset({"spa/japan"}), frozenset({"spa/again"}),
        frozenset({"riyadh/brief"}), frozenset({"madina/brief"})}


def test_the_edited_copy_is_similar_and_the_other_story_is_not():
    """The thresholds' margins on the fixture: the edit is well above
    SIMILARITY, the other story on the same subject well below."""
    from conftest import OTHER_STORY
    edited = minhash.similarity(minhash.signature(STORY), minhash.signature(STORY_EDITED))
    other = minhash.similarity(minhash.signature(STORY), minhash.signature(OTHER_STORY))
    assert edited >= stories.SIMILARITY + 0.1
    assert other < stories.SIMILARITY / 2


def test_signatures_ignore_spelling_variants_and_skip_short_texts():
    vocalized = STORY.replace("الخارجية", "الخارجيّة").replace("أكثر", "اكثر")
    assert np.array_equal(minhash.signature(vocalized), minhash.signature(STORY))
    assert minhash.is_empty(minhash.signature("خبر قصير من بضع كلمات"))


def test_words_are_those_of_the_word_pattern_each_hashed_once():
    """A signature's words are the runs of ``\\w`` of the normalized text
    (letters and digits of any script, beyond the BMP too), and equal words
    hash equal wherever they stand."""
    text = normalize_text(STORY) + " كلمة_واحدة \U0001d7d9\U0001d7da3 ، ؟ (الرياض) الرياض"
    words = re.findall(r"\w+", text)
    hashes = minhash.word_hashes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))
    assert len(hashes) == len(words)
    first = {}
    for word, value in zip(words, hashes.tolist(), strict=True):
        assert first.setdefault(word, value) == value
    assert len(set(first.values())) == len(first)


def test_signature_values_are_datasketchs_low_bits_of_its_minhash():
    """The stored values are the lowest BITS bits of datasketch's MinHash of
    the shingle hashes (b-bit MinHash), one byte each."""
    from datasketch import MinHash
    sketch = MinHash(num_perm=minhash.NUM_PERM, seed=minhash.SEED, scheme=minhash.SCHEME,
                     hashfunc=int)
    sketch.update_batch(minhash.shingle_hashes(STORY).tolist())
    stored = minhash.signature(STORY)
    assert stored.dtype == np.uint8 and stored.shape == (minhash.NUM_PERM,)
    assert np.array_equal(stored, sketch.hashvalues % (1 << minhash.BITS))


_WORDS = ["النفط", "وزير", "الخارجية", "أمس", "قال", "١٢", "2023", "😀", "ـــ", "كلمة_واحدة",
          "الرياض،", "(جدة)", "oil", "ﻻ", "مُحَمَّد"]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(_WORDS), max_size=70).map(" ".join),
                      min_size=1, max_size=3 * minhash.BATCH))
def test_signatures_of_many_texts_are_datasketchs_one_at_a_time(texts):
    """Batched, each text's signature is what datasketch gives it alone (or
    EMPTY under MIN_WORDS words): no shingle runs from one text into the next."""
    from datasketch import MinHash

    def alone(text: str) -> np.ndarray:
        shingles = minhash.shingle_hashes(text)
        if not len(shingles):
            return minhash.EMPTY
        sketch = MinHash(num_perm=minhash.NUM_PERM, seed=minhash.SEED, scheme=minhash.SCHEME,
                         hashfunc=int)
        sketch.update_batch(shingles.tolist())
        return (sketch.hashvalues % (1 << minhash.BITS)).astype(np.uint8)

    assert np.array_equal(minhash.signatures(texts), np.stack([alone(t) for t in texts]))


def test_signatures_are_made_without_datasketch():
    """datasketch (and the scipy it imports) is never loaded by arshif: the
    permutations are drawn as datasketch draws them (below), so a search or
    a build does not pay its start-up."""
    code = ("import sys, arshif.cli, web, search.engine, indexer.minhash; "
            "assert indexer.minhash.signature(' '.join(map(str, range(40)))).any(); "
            "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_permutations_are_datasketchs():
    from datasketch import MinHash
    a, b = MinHash(num_perm=minhash.NUM_PERM, seed=minhash.SEED,
                   scheme=minhash.SCHEME).permutations
    mine_a, mine_b = minhash.permutations()
    assert np.array_equal(mine_a[:, 0], np.asarray(a)) and np.array_equal(mine_b[:, 0],
                                                                          np.asarray(b))


def test_the_estimate_discounts_values_equal_by_chance():
    """b-bit values of different minima are equal once in 2**BITS: two
    unrelated texts estimate near 0, a text and itself 1."""
    assert minhash.estimate(minhash.NUM_PERM) == 1.0
    assert minhash.estimate(minhash.NUM_PERM * minhash.CHANCE) == 0.0
    from conftest import OTHER_STORY
    unrelated = minhash.similarity(minhash.signature(STORY), minhash.signature("كلمة " * 30))
    assert abs(unrelated) < 0.1
    assert minhash.similarity(minhash.signature(OTHER_STORY), minhash.signature(OTHER_STORY)) == 1


def test_band_keys_differ_between_bands():
    """A band's key holds its values and its number: equal values in two
    different bands are no LSH candidate."""
    same = np.zeros((1, minhash.NUM_PERM), dtype=np.uint8)
    keys = stories.band_keys(same)
    assert keys.shape == (1, stories.BANDS) and len(set(keys[0].tolist())) == stories.BANDS
    other = same.copy()
    other[0, stories.ROWS] = 1  # the second band's first value
    changed = stories.band_keys(other)[0] != keys[0]
    assert changed.tolist() == [False, True] + [False] * (stories.BANDS - 2)


def test_grouping_does_not_depend_on_document_order():
    """Leaders and members come from the documents' keys, not their numbers."""
    texts = [STORY, STORY_EDITED, STORY + " وأضاف الوزير أن الاجتماع مفتوح.", "كلمة " * 30]
    sigs = np.stack([minhash.signature(t) for t in texts])
    days = np.array([5, 6, 5, 5])
    keys = [(5, "b"), (6, "c"), (5, "a"), (5, "d")]
    first = stories.group(keys, sigs, days)
    perm = [3, 1, 0, 2]
    second = stories.group([keys[i] for i in perm], sigs[perm], days[perm])
    as_keys = [keys[int(first[i])] for i in range(4)]
    assert [as_keys[i] for i in perm] == [keys[perm[int(j)]] for j in second]
    assert as_keys == [(5, "a"), (5, "a"), (5, "a"), (5, "d")]


def test_dates_far_apart_are_two_stories():
    sig = minhash.signature(STORY)
    sigs = np.stack([sig, sig, sig])
    leader = stories.group([(1, "a"), (1 + stories.MAX_DAYS, "b"), (2 + stories.MAX_DAYS, "c")],
                           sigs, np.array([1, 1 + stories.MAX_DAYS, 2 + stories.MAX_DAYS]))
    assert leader.tolist() == [0, 0, 2]
    # An undated article joins only an undated leader.
    leader = stories.group([(1, "a"), (2**62, "b"), (2**62, "c")], sigs, np.array([1, -1, -1]))
    assert leader.tolist() == [0, 1, 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(-1, 12)),
                min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_articles_alone_in_their_days_are_skipped_without_changing_a_group(docs, rnd):
    """``group`` skips the articles that share no band key with another
    within MAX_DAYS days (most of an archive): the leaders are those of the
    loop over every article.  Signatures are four texts' with some values
    changed, so that some share a band or two and some are verified alike."""
    bases = np.stack([minhash.signature(t) for t in
                      (STORY, STORY_EDITED, "كلمة " * 30, "خبر عن الطقس في الرياض " * 5)])
    sigs = np.stack([bases[base] for base, _, _ in docs])
    for row, (_, changed, _) in enumerate(docs):
        for col in rnd.sample(range(minhash.NUM_PERM), changed):
            sigs[row, col] = rnd.randrange(256)
    days = np.array([day for _, _, day in docs])
    keys = stories.story_keys([f"{n:03d}" for n in range(len(docs))], days)
    found = stories.group(keys, sigs, days)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stories, "_alone", lambda keys, days, grouped: np.zeros(len(keys), bool))
        assert found.tolist() == stories.group(keys, sigs, days).tolist()


def test_search_shows_each_story_once(story_index):
    engine = Engine(story_index)
    result = engine.search(Request(q="وزير الخارجية"))
    assert (result.total, result.stories) == (7, 5)
    assert len(result.hits) == 5 and result.pages == 1
    shown = [hit for hit in result.hits if hit.id in STORY_IDS]
    assert len(shown) == 1
    story = shown[0].story
    assert (story.id, story.articles, story.more) == ("riyadh/visit", 3, 2)
    assert {o["id"] for o in story.others} == STORY_IDS - {shown[0].id}
    by_id = {o["id"]: o for o in story.others}
    if "madina/visit" in by_id:
        assert by_id["madina/visit"] == {"id": "madina/visit", "source": "المدينة",
                                         "source_name": "المدينة", "date": "2023-09-27"}
    lone = next(hit for hit in result.hits if hit.id == "spa/japan")
    assert (lone.story.articles, lone.story.more, lone.story.others) == (1, 0, [])
    # Every article is still ranked on its own for evaluation.
    assert len(engine.ranked_ids("وزير الخارجية")) == 7


def test_similar_articles_leave_out_the_story_and_show_each_other_story_once(story_index):
    engine = Engine(story_index)
    for article_id in sorted(STORY_IDS):
        similar = [h.id for h in engine.more_like_this(article_id)]
        assert similar and not STORY_IDS & set(similar), article_id
        assert "spa/again" in similar  # the same text a month later: another story
    # The story printed three times is similar to its reprint a month later:
    # shown once, by one of its articles.
    again = [h.id for h in engine.more_like_this("spa/again", limit=10)]
    assert len(STORY_IDS & set(again)) == 1


def test_a_page_holds_per_page_stories(story_index):
    engine = Engine(story_index)
    pages = [engine.search(Request(q="وزير الخارجية", per_page=2, page=n)) for n in (1, 2, 3)]
    assert [len(p.hits) for p in pages] == [2, 2, 1]
    assert all(p.pages == 3 for p in pages)
    shown = [hit.story.id for p in pages for hit in p.hits]
    assert len(set(shown)) == 5
    assert [hit.rank for p in pages for hit in p.hits] == [1, 2, 3, 4, 5]


def test_the_api_carries_stories(story_index):
    client = create_app(story_index).test_client()
    data = client.get("/api/search", query_string={"q": "وزير الخارجية"}).get_json()
    assert (data["total"], data["stories"], data["pages"]) == (7, 5, 1)
    for hit in data["hits"]:
        story = hit["story"]
        assert set(story) == {"id", "articles", "more", "others"}
        assert story["more"] == story["articles"] - 1 == len(story["others"])
        for other in story["others"]:
            assert set(other) == {"id", "source", "source_name", "date"}
    grouped = [hit for hit in data["hits"] if hit["story"]["more"]]
    assert len(grouped) == 1 and grouped[0]["story"]["articles"] == 3


def test_the_article_page_lists_the_same_news_from_other_sources(story_index, monkeypatch):
    """Left out of "more like this", the article's own story is listed
    apart: its other articles, linked, and the whole story past a few."""
    client = create_app(story_index).test_client()
    page = client.get("/article/spa/visit").get_data(as_text=True)
    section = page.split('class="same-story"')[1].split("</section>")[0]
    assert "الخبر نفسه في مصادر أخرى" in section
    assert re.findall(r'href="/article/([^"?]+)', section) == ["riyadh/visit", "madina/visit"]
    assert "كل مقالات القصة" not in section
    data = client.get("/api/article/spa/visit").get_json()
    assert data["same_story"]["articles"] == 3
    assert [o["id"] for o in data["same_story"]["others"]] == ["riyadh/visit", "madina/visit"]
    assert not {o["id"] for o in data["more_like_this"]} & STORY_IDS
    # A story alone says nothing of the kind.
    assert 'class="same-story"' not in client.get("/article/spa/japan").get_data(as_text=True)
    assert client.get("/api/article/spa/japan").get_json()["same_story"] == {
        "articles": 1, "others": []}
    # Past what the page lists, the whole story is a link away.
    monkeypatch.setattr("web.context.SAME_STORY", 1)
    section = client.get("/article/spa/visit").get_data(as_text=True).split(
        'class="same-story"')[1].split("</section>")[0]
    assert re.findall(r'href="/article/([^"?]+)', section) == ["riyadh/visit"]
    assert 'href="/story/spa/visit"' in section and "كل مقالات القصة (3)" in section


def test_the_results_page_shows_one_entry_per_story(story_index):
    client = create_app(story_index).test_client()
    page = client.get("/", query_string={"q": "وزير الخارجية"}).get_data(as_text=True)
    assert page.count('<li class="hit">') == 5
    assert "7 مقالات في 5 قصص" in page
    assert page.count('<details class="story">') == 1
    assert "ومقالان آخران عن الخبر نفسه" in page


def test_the_cli_shows_stories(story_index):
    out = CliRunner().invoke(main, ["search", "وزير الخارجية", "--index", str(story_index)])
    assert out.exit_code == 0
    assert out.output.startswith("7 articles in 5 stories")
    assert "+ 2 more: " in out.output
    data = json.loads(CliRunner().invoke(main, ["search", "وزير الخارجية", "--json", "--index",
                                                str(story_index)]).output)
    assert data["stories"] == 5


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_in_parts_groups_as_one_process(tmp_path, story_index, jobs):
    from conftest import write_story_news
    build_index([write_story_news(tmp_path / "archive")], tmp_path / "index", jobs=jobs)
    assert groups(tmp_path / "index") == groups(story_index)


def _story_groups_script():
    """scripts/story_groups.py as a module (scripts/ is not a package)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "scripts" / "story_groups.py"
    spec = importlib.util.spec_from_file_location("story_groups", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recall_candidates_are_found_without_the_groups():
    """Candidates: dated, other sources, at most MAX_DAYS apart, and a long
    shared body run or most of the headline's words; never the signatures."""
    from datetime import datetime, timedelta

    from conftest import BRIEF, OTHER_STORY
    script = _story_groups_script()
    day = datetime(2023, 9, 26)
    far = timedelta(days=stories.MAX_DAYS + 1)
    docs = {
        0: {"source": "واس", "date": day, "headline": "اجتماع وزاري", "body": STORY},
        1: {"source": "الرياض", "date": day + timedelta(days=1), "headline": "اجتماع",
            "body": STORY_EDITED},
        2: {"source": "واس", "date": day, "headline": "اجتماع", "body": STORY},  # same source as 0
        3: {"source": "المدينة", "date": day + far, "headline": "اجتماع", "body": STORY},
        4: {"source": "عكاظ", "date": day, "headline": "اجتماع", "body": OTHER_STORY},
        5: {"source": "عكاظ", "date": None, "headline": "اجتماع", "body": STORY},  # undated
        6: {"source": "المدينة", "date": day, "body": BRIEF,
            "headline": "وزير الخارجية يصل إلى الرياض في زيارة رسمية"},
        7: {"source": "الوطن", "date": day + timedelta(days=2), "body": "يصل الوزير اليوم.",
            "headline": "وزير الخارجية يصل الى الرياض في زياره"},
    }
    assert script.candidate_pairs(docs) == {(0, 1): "run", (1, 2): "run", (1, 3): "run",
                                            (6, 7): "headline"}


def test_recall_is_the_share_of_labelled_pairs_the_index_groups(story_index):
    script = _story_groups_script()
    found, ids, searcher = script.load(story_index)
    with searcher:
        candidates = script.candidate_pairs(dict(searcher.iter_docs()))
    by_id = {frozenset((ids[a], ids[b])): (a, b) for a, b in candidates}
    visits = {frozenset(p) for p in [("spa/visit", "riyadh/visit"), ("spa/visit", "madina/visit"),
                                     ("riyadh/visit", "madina/visit")]}
    assert visits <= set(by_id)
    sample = script.sample_candidates(candidates, 10, seed=1)
    assert sorted(sample) == sorted(candidates)  # all of them, in the seed's order
    assert sample == script.sample_candidates(candidates, 10, seed=1)
    assert len(script.sample_candidates(candidates, 2, seed=1)) == 2
    pairs = [by_id[p] for p in visits]
    doc = {article: n for n, article in ids.items()}
    # A pair read as one story that the index keeps apart lowers the recall;
    # a pair read as two stories does not count.
    pairs += [(doc["spa/visit"], doc["spa/again"]), (doc["spa/visit"], doc["spa/japan"])]
    assert script.recall(pairs, [1, 1, 1, 1, 0], found.story) == (3, 4)
