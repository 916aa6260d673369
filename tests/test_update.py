"""``arshif index --update`` gives what a rebuild of the same files gives.

The property test plays random sequences of additions, edits, appends,
deletions, renames, moves and copies of archive files (text files and JSON
Lines files sharing articles, some as spelling variants: the same content
key with other stored fields), runs ``--update`` after each step, and
compares the index's documents (every stored field) and the build's counts
and report with a rebuild of the same files.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import STORY, STORY_EDITED
from indexer import completions, manifest, segment, store, stories, update as update_module
from indexer.writer import NothingToIndex, build_index
from search.engine import Engine

#: Examples of the property (ARSHIF_HYPOTHESIS_EXAMPLES=500 for a longer hunt).
EXAMPLES = int(os.environ.get("ARSHIF_HYPOTHESIS_EXAMPLES", "20"))

#: (headline, body, source); entries 4 and 5 are spelling variants of 0 and
#: 1 (tashkeel, hamza: the same content key) from another source, so which
#: copy is kept shows in the stored fields.
ARTICLES = [
    ("ارتفاع أسعار النفط", "ارتفعت أسعار النفط اليوم في الأسواق العالمية", "الخليج"),
    ("قمة عربية في الرياض", "تعقد القمة العربية في الرياض الأسبوع المقبل", "الشرق"),
    ("فوز المنتخب", "فاز المنتخب الوطني في مباراة الأمس بهدفين", "الرياضة"),
    ("أمطار غزيرة", "هطلت أمطار غزيرة على المدينة طوال الليل", "الطقس"),
    ("ارتفاع اسعار النفْط", "ارتفعت أسعار النفْط اليوم في الاسواق العالمية", "وكالة"),
    ("قمة عربية في الرياض", "تعقد القمة العربيّة في الرياض الأسبوع المقبل", "نشرة"),
    # 6-8: one story (indexer/stories.py) in three papers, exact and edited.
    ("اجتماع وزاري في الرياض", STORY, "واس"),
    ("الرياض تستضيف اجتماعا", STORY, "الرياض"),
    ("ثلاثون دولة في الرياض", STORY_EDITED, "المدينة"),
]
#: File names: the walk order (sorted names, folders in turn) decides which
#: copy of an article a rebuild keeps; ``.jsonl`` names may hold a text
#: article after a move (the format is decided by content).
NAMES = ["a.txt", "k.txt", "m.jsonl", "sub/b.txt", "sub/n.jsonl", "sub/z.txt", "x/y/c.txt"]

COUNTS = ("files", "files_rejected", "indexed", "embedded", "duplicates", "records_rejected",
          "dates_missing")


def article_text(n: int, day: int) -> str:
    headline, body, source = ARTICLES[n]
    return f"{headline}\nتاريخ النشر: 2024-01-{day:02d}\n{body}\nالمصدر | {source}\n"


def record(n: int, day: int) -> str:
    headline, body, source = ARTICLES[n]
    return json.dumps({"headline": headline, "body": body, "source": source,
                       "date": f"2024-02-{day:02d}"}, ensure_ascii=False) + "\n"


class Archive:
    """The archive folder, with an increasing modification time for each
    file written (a file's signature is its size and mtime)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.clock = 1_700_000_000 * 10**9

    def _touch(self, path: Path) -> None:
        self.clock += 10**9
        os.utime(path, ns=(self.clock, self.clock))

    def write(self, name: str, articles: list[int]) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jsonl"):
            text = "".join(record(n, i + 1) for i, n in enumerate(articles))
        else:
            text = article_text(articles[0], len(articles))
        path.write_text(text, "utf-8")
        self._touch(path)

    def append(self, name: str, article: int) -> None:
        path = self.folder / name
        if path.exists() and name.endswith(".jsonl"):
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(record(article, 28))
            self._touch(path)

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def move(self, name: str, to: str) -> None:
        source, target = self.folder / name, self.folder / to
        if source.exists() and name != to:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # keeps the mtime, like mv

    def copy(self, name: str, to: str) -> None:
        source, target = self.folder / name, self.folder / to
        if source.exists() and name != to:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)  # keeps the mtime, like cp -p

    def apply(self, step: tuple) -> None:
        kind, *args = step
        getattr(self, kind)(*args)


def documents(home: Path) -> list[str]:
    """Every live document's stored fields, as sorted JSON strings."""
    ix = manifest.open_current(home)
    try:
        with ix.searcher() as searcher:
            return sorted(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
                          for doc in searcher.all_stored_fields())
    finally:
        ix.close()


def completions_file(home: Path) -> bytes:
    """The search box's completions of the live generation (indexer/completions.py)."""
    return (store.current_dir(home) / completions.NAME).read_bytes()


def story_groups(home: Path) -> list[list[str]]:
    """The live articles' stories, as sorted lists of ids: the grouping a
    rebuild gives, whatever the document numbers."""
    ix = manifest.open_current(home)
    try:
        with ix.searcher() as searcher:
            ids = {docnum: fields["id"] for docnum, fields in searcher.iter_docs()}
        found = stories.Stories(ix.storage.folder)
    finally:
        ix.close()
    assert {int(d) for d in np.flatnonzero(found.story >= 0)} == set(ids)
    return sorted(sorted(ids[int(d)] for d in found.members(n)) for n in range(len(found)))


def counts(summary) -> dict:
    """What a build reports about the files (not what an update changed)."""
    report = sorted(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in summary.report)
    return {**{name: getattr(summary, name) for name in COUNTS},
            "reasons": dict(summary.reasons), "report": report}


def build(folder: Path, home: Path, update: bool):
    try:
        return build_index([folder], home, update=update)
    except NothingToIndex:
        return None


def assert_update_equals_rebuild(folder: Path, home: Path, fresh: Path) -> None:
    updated = build(folder, home, update=True)
    shutil.rmtree(fresh, ignore_errors=True)
    rebuilt = build(folder, fresh, update=False)
    assert (updated is None) == (rebuilt is None)
    if rebuilt is None:  # no article left: both refuse, the live index stays
        return
    assert counts(updated) == counts(rebuilt)
    assert documents(home) == documents(fresh)
    assert completions_file(home) == completions_file(fresh)
    assert story_groups(home) == story_groups(fresh)


names = st.sampled_from(NAMES)
steps = st.one_of(
    st.tuples(st.just("write"), names, st.lists(st.integers(0, len(ARTICLES) - 1),
                                                min_size=1, max_size=4)),
    st.tuples(st.just("append"), names, st.integers(0, len(ARTICLES) - 1)),
    st.tuples(st.just("delete"), names),
    st.tuples(st.just("move"), names, names),
    st.tuples(st.just("copy"), names, names),
)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=6))
def test_update_after_any_changes_equals_a_rebuild(changes):
    with tempfile.TemporaryDirectory(prefix="arshif-update-") as tmp:
        root = Path(tmp)
        archive = Archive(root / "archive")
        archive.write("a.txt", [0])
        archive.write("sub/b.txt", [1])
        archive.write("m.jsonl", [2, 4, 0, 3, 7])
        archive.write("sub/n.jsonl", [5, 1, 6, 8])
        build_index([archive.folder], root / "index")
        for step in changes:
            archive.apply(step)
            assert_update_equals_rebuild(archive.folder, root / "index", root / "fresh")


# -- the cases of issue 16, one by one -----------------------------------------------------

@pytest.fixture
def archive(tmp_path) -> Archive:
    archive = Archive(tmp_path / "archive")
    archive.write("a.txt", [0])
    archive.write("k.txt", [2])
    archive.write("m.jsonl", [4, 3])  # 4: a variant of a.txt's article
    build_index([archive.folder], tmp_path / "index")
    return archive


def test_a_renamed_file_keeps_its_article(archive, tmp_path):
    archive.move("k.txt", "renamed.txt")
    summary = build_index([archive.folder], tmp_path / "index", update=True)
    assert (summary.indexed, summary.duplicates, summary.added, summary.removed) == (3, 1, 1, 1)
    assert "renamed" in {json.loads(d)["id"] for d in documents(tmp_path / "index")}
    assert_update_equals_rebuild(archive.folder, tmp_path / "index", tmp_path / "fresh")


def test_a_file_moved_into_a_subfolder_keeps_its_article(archive, tmp_path):
    archive.move("k.txt", "sub/deeper/k.txt")
    assert_update_equals_rebuild(archive.folder, tmp_path / "index", tmp_path / "fresh")
    assert "sub/deeper/k" in {json.loads(d)["id"] for d in documents(tmp_path / "index")}


def test_deleting_the_first_copy_keeps_the_article_from_the_next(archive, tmp_path):
    """a.txt held the first copy; m.jsonl's variant (another source) takes over."""
    archive.delete("a.txt")
    summary = build_index([archive.folder], tmp_path / "index", update=True)
    assert (summary.indexed, summary.duplicates, summary.added, summary.removed) == (3, 0, 1, 1)
    sources = {json.loads(d)["source"] for d in documents(tmp_path / "index")}
    assert sources == {ARTICLES[2][2], ARTICLES[3][2], ARTICLES[4][2]}
    assert_update_equals_rebuild(archive.folder, tmp_path / "index", tmp_path / "fresh")


def test_a_new_file_earlier_in_walk_order_takes_the_article(archive, tmp_path):
    """The copy a rebuild keeps is the first in walk order, even when the
    file holding it is new and the other did not change."""
    archive.copy("m.jsonl", "0first.jsonl")
    summary = build_index([archive.folder], tmp_path / "index", update=True)
    assert summary.files_unchanged == 3
    assert_update_equals_rebuild(archive.folder, tmp_path / "index", tmp_path / "fresh")


def test_an_update_joins_and_splits_stories_as_a_rebuild(tmp_path):
    """A new edited copy joins the story; deleting the story's first
    article leaves the others one story, led by the next."""
    archive = Archive(tmp_path / "archive")
    archive.write("m.jsonl", [6, 0])
    archive.write("n.jsonl", [1, 7])
    home = tmp_path / "index"
    build_index([archive.folder], home)
    assert ["m#1", "n#2"] in story_groups(home)
    archive.write("o.jsonl", [2, 8])
    assert_update_equals_rebuild(archive.folder, home, tmp_path / "fresh")
    assert ["m#1", "n#2", "o#2"] in story_groups(home)
    archive.delete("m.jsonl")
    assert_update_equals_rebuild(archive.folder, home, tmp_path / "fresh")
    assert ["n#2", "o#2"] in story_groups(home)


# -- the index stays the size of a rebuild, an update's memory that of a build --------------

#: Made-up words (letters of the Arabic alphabet), so that articles share a
#: vocabulary as news does.
_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def big_archive(folder: Path, records: int, seed: int = 16) -> Path:
    """A JSON Lines file of ``records`` small articles and three text files."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 6)))
                  for _ in range(600)]
    folder.mkdir(parents=True)
    with open(folder / "big.jsonl", "w", encoding="utf-8") as fh:
        for i in range(records):
            body = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(15, 40)))
            fh.write(json.dumps({"id": f"r{i}", "title": f"خبر {rng.choice(vocabulary)} {i}",
                                 "content": body, "date": f"2024-03-{1 + i % 28:02d}"},
                                ensure_ascii=False) + "\n")
    for n in range(3):
        (folder / f"t{n}.txt").write_text(article_text(n, n + 1), "utf-8")
    return folder


def append_record(folder: Path, n: int) -> None:
    with open(folder / "big.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": f"new{n}", "title": f"خبر جديد {n}",
                             "content": f"نص الخبر الجديد رقم {n} عن الاقتصاد"},
                            ensure_ascii=False) + "\n")


def generation_size(home: Path) -> int:
    return store.disk_size(store.current_dir(home))


def ranking(engine: Engine, query: str) -> list[tuple[float, str]]:
    """A query's whole result list; documents of equal score in id order
    (ties are broken by document number, which an update may change)."""
    return sorted((-score, doc) for doc, _, score in engine.ranked_ids(query, 10_000))


QUERIES = ["خبر", "الاقتصاد", "النفط", "خبر جديد", '"أسعار النفط"', "قمة OR المنتخب"]


@pytest.mark.slow
@pytest.mark.parametrize("segments", ["small", "big"])
def test_repeated_appends_keep_the_index_the_size_of_a_rebuild(tmp_path, monkeypatch, segments):
    """Each one-line append makes the update re-read the whole file: its old
    documents are all deleted.  The index must not keep them.  ``big``:
    every segment counts as big (none is merged for being small), so the
    deleted documents go only by dropping or rewriting their segments."""
    if segments == "big":
        monkeypatch.setattr(update_module, "SMALL_WORDS", 1)
    folder = big_archive(tmp_path / "archive", 2000)
    home = tmp_path / "index"
    build_index([folder], home)
    ratios = []
    for n in range(6):
        append_record(folder, n)
        summary = build_index([folder], home, update=True)
        assert summary.added == 2000 + n + 1 and summary.removed == 2000 + n
        fresh = tmp_path / f"fresh{n}"
        build_index([folder], fresh)
        ratios.append(generation_size(home) / generation_size(fresh))
        shutil.rmtree(fresh)
    assert max(ratios) <= 1.2, ratios
    build_index([folder], fresh)
    mine, theirs = Engine(home), Engine(fresh)
    assert mine.stats()["articles"] == theirs.stats()["articles"] == 2009
    for query in QUERIES:
        assert ranking(mine, query) == ranking(theirs, query), query


def test_search_after_updates_equals_a_rebuilds(tmp_path):
    """Edits, deletions and additions among big and small files: the same
    results, with the same scores, as a rebuild."""
    folder = big_archive(tmp_path / "archive", 1500)
    home = tmp_path / "index"
    build_index([folder], home)
    (folder / "t1.txt").unlink()
    (folder / "t3.txt").write_text(article_text(3, 9), "utf-8")
    build_index([folder], home, update=True)
    append_record(folder, 1)
    (folder / "t0.txt").write_text(article_text(4, 9), "utf-8")  # a variant of t0's own
    build_index([folder], home, update=True)
    fresh = tmp_path / "fresh"
    build_index([folder], fresh)
    assert documents(home) == documents(fresh)
    assert completions_file(home) == completions_file(fresh)
    mine, theirs = Engine(home), Engine(fresh)
    for query in QUERIES:
        assert ranking(mine, query) == ranking(theirs, query), query


def test_an_update_holds_no_more_words_than_a_build(tmp_path, monkeypatch):
    """A build writes a segment once it holds SEGMENT_WORDS words (its
    memory bound); an update's new documents and its rewrites of old
    segments must keep to the same bound (the update wrote all it re-read
    into one segment, and merged segments into it)."""
    limit = 3000
    monkeypatch.setattr(segment, "SEGMENT_WORDS", limit)
    monkeypatch.setattr(update_module, "SMALL_WORDS", limit // 8)
    folder = big_archive(tmp_path / "archive", 500)
    home = tmp_path / "index"
    build_index([folder], home)
    for n in range(3):
        append_record(folder, n)
        (folder / f"t{n}.txt").write_text(article_text(5, n + 10), "utf-8")
        build_index([folder], home, update=True)
        ix = manifest.open_current(home)
        with ix.reader() as reader:
            sizes = [update_module.words(ix, leaf.segment()) for leaf, _ in reader.leaf_readers()]
        assert len(sizes) > 3 and max(sizes) <= limit + 60, sizes  # + one article's words
    assert_update_equals_rebuild(folder, home, tmp_path / "fresh")


def test_sources_that_overlap(tmp_path):
    """A folder given with its own subfolder: the walk meets sub/'s files
    twice, the second time all duplicates, in the rebuild and the update."""
    archive = Archive(tmp_path / "archive")
    archive.write("a.txt", [0])
    archive.write("sub/b.txt", [1])
    archive.write("sub/n.jsonl", [2, 3])
    sources = [archive.folder, archive.folder / "sub"]
    home, fresh = tmp_path / "index", tmp_path / "fresh"
    build_index(sources, home)
    for change in (None, ("write", "a.txt", [4]), ("append", "sub/n.jsonl", 5),
                   ("move", "sub/b.txt", "b.txt")):
        if change:
            archive.apply(change)
        updated = build_index(sources, home, update=True)
        shutil.rmtree(fresh, ignore_errors=True)
        assert counts(updated) == counts(build_index(sources, fresh))
        assert documents(home) == documents(fresh)
