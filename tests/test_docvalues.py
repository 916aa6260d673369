"""Doc values (indexer/docvalues.py): each segment's per-document arrays
equal Whoosh's own per-document data, document by document.

Whoosh's per-document store is still written beside them, so it is the
reference: its field lengths (``doc_field_length``) and its columns, with
the stored fields as Whoosh's searcher reads them (the same dicts as a
plain Whoosh index's: tests/test_stored.py).  Checked for a one-process
build, a ``--jobs 2`` build and an ``--update`` that deleted, added and
merged segments; the generation's joined arrays (search/generation.py) are
checked against Whoosh's searcher.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index

from indexer import docvalues, manifest, store, update as update_module
from indexer.arrayfile import ArrayFileError
from indexer.article import Article
from indexer.docvalues import BYTE_TO_LENGTH
from indexer.schema import build_schema, content_key, to_document
from indexer.segment import ArshifWriter
from indexer.settings import IndexSettings
from indexer.writer import build_index
from search.backend import Request
from search.engine import Engine
from tests.conftest import ARCHIVE, write_news
from tests.test_parallel_build import mixed_archive, text

SCORABLE = ("headline", "body", "keywords", "body_exact", "body_skel")
TEXT_COLUMNS = ("id", "source", "year", "month")


def _expected_texts(stored: dict, column: dict) -> dict[str, str]:
    """What each text column should hold for a document: the stored id and
    source; year and month from the stored date (not stored themselves)."""
    when = stored.get("date")
    expected = {"id": stored["id"], "source": stored.get("source", ""),
                "year": f"{when.year:04d}" if when else "",
                "month": f"{when.year:04d}-{when.month:02d}" if when else ""}
    # And Whoosh's own columns agree.
    for name, value in column.items():
        assert (value.decode("utf-8") if isinstance(value, bytes) else value) == expected[name]
    return expected


def assert_docvalues_equal_whooshs(home: Path) -> int:
    """Every segment's doc values against Whoosh's per-document data;
    returns the documents compared (deleted ones included)."""
    folder = store.current_dir(home)
    manifest.verify(folder)
    ix = whoosh_index.open_dir(str(folder))
    compared = 0
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            values = docvalues.DocValues(docvalues.docvalues_path(str(folder), leaf.segment()))
            count = leaf.doc_count_all()
            assert values.count == count
            schema = leaf.schema
            lengths = {f: BYTE_TO_LENGTH[values.length_codes(f)] for f in SCORABLE}
            dates, present = values.numbers("date")
            texts = {f: values.texts(f) for f in TEXT_COLUMNS}
            columns = {f: leaf.column_reader(f) for f in TEXT_COLUMNS}
            raw_dates = leaf.column_reader("date", translate=False)
            default = schema["date"].column_type.default_value()
            for arr in (*lengths.values(), dates, present, *(c for c, _ in texts.values())):
                assert len(arr) == count
            for doc in range(count):
                for field in SCORABLE:
                    assert lengths[field][doc] == (leaf.doc_field_length(doc, field) or 0), (
                        doc, field)
                stored = leaf.stored_fields(doc)
                when = stored.get("date")
                if when is None:
                    assert not present[doc] and dates[doc] == 0
                    assert raw_dates[doc] == default
                else:
                    assert present[doc]
                    assert dates[doc] == schema["date"].to_column_value(when) == raw_dates[doc]
                expected = _expected_texts(
                    stored, {f: columns[f][doc] for f in TEXT_COLUMNS})
                for field in TEXT_COLUMNS:
                    codes, vocab = texts[field]
                    assert vocab == sorted(vocab) and vocab[codes[doc]] == expected[field], (
                        doc, field)
                compared += 1
            # Fields without values: zeros, not an error.
            assert not values.length_codes("nosuchfield").any()
            assert not values.numbers("nosuchfield")[1].any()
            assert values.texts("nosuchfield")[1] == [""]
            assert not values.has_numbers("nosuchfield") and values.has_numbers("date")
    return compared


def assert_generation_equals_whooshs(home: Path) -> None:
    """The joined arrays of the live generation against Whoosh's searcher
    (global document numbers, every segment)."""
    engine = Engine(home)
    view = engine.view()
    gen, searcher = view.gen, view.searcher
    total = searcher.doc_count_all()
    live = set(searcher.reader().all_doc_ids())
    assert gen.doc_count_all == total and set(gen.live_docs.tolist()) == live
    dates, present = gen.numbers("date")
    ids = gen.ids(np.arange(total))
    shuffled = np.random.default_rng(0).permutation(total)  # segments interleaved
    assert gen.ids(shuffled) == [ids[d] for d in shuffled] and gen.ids([]) == []
    for doc in range(total):
        for field in SCORABLE:
            expected = searcher.doc_field_length(doc, field) or 0
            assert BYTE_TO_LENGTH[gen.length_codes(field)[doc]] == expected
        stored = searcher.stored_fields(doc)
        assert ids[doc] == stored["id"]
        when = stored.get("date")
        assert present[doc] == (when is not None)
        if when is not None:
            assert dates[doc] == searcher.schema["date"].to_column_value(when)
        for field in ("source", "year", "month"):
            codes, vocab = gen.texts(field)
            assert vocab[codes[doc]] == _expected_texts(stored, {})[field]
    # The date order: every dated document before every undated one.
    for newest in (True, False):
        order = np.argsort(gen.date_order(newest), kind="stable")
        flags = present[order]
        assert not (np.diff(flags.astype(int)) > 0).any()
        shown = dates[order][flags[: len(order)]]
        assert list(shown) == sorted(shown, reverse=newest)


@pytest.fixture(scope="module")
def archive_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dv-archive")
    shutil.copytree(ARCHIVE, root / "archive")
    return root / "archive"


def test_one_process_build_of_the_bundled_archive(archive_index):
    assert assert_docvalues_equal_whooshs(archive_index) >= 10
    assert_generation_equals_whooshs(archive_index)


def test_one_process_build_of_the_test_news(news_index):
    """Has an article without a date or source (the embedded one)."""
    assert assert_docvalues_equal_whooshs(news_index) == 17
    assert_generation_equals_whooshs(news_index)


def test_parallel_build_of_the_bundled_archive(archive_copy, tmp_path):
    home = tmp_path / "index"
    build_index([archive_copy], home, jobs=2)
    assert len(list(store.current_dir(home).glob("*" + docvalues.EXTENSION))) == 2
    assert assert_docvalues_equal_whooshs(home) >= 10
    assert_generation_equals_whooshs(home)


def test_parallel_build_with_duplicates_across_parts(tmp_path):
    """Later copies are deleted in the parent: their doc values stay (the
    search masks them), and still equal Whoosh's."""
    home = tmp_path / "index"
    build_index([mixed_archive(tmp_path / "archive")], home, jobs=2)
    with whoosh_index.open_dir(str(store.current_dir(home))).reader() as reader:
        assert reader.has_deletions()
    assert assert_docvalues_equal_whooshs(home) > 20
    assert_generation_equals_whooshs(home)


def _segments(home: Path) -> list:
    with whoosh_index.open_dir(str(store.current_dir(home))).reader() as reader:
        return [leaf.segment() for leaf, _ in reader.leaf_readers()]


def test_updates_until_segments_merge(tmp_path):
    """Each --update deletes a changed file's articles and adds a segment;
    once there are enough small ones Whoosh's MERGE_SMALL merges them.  The
    merged segment's doc values are written by the codec's per-document
    writer, as a new document's are; after every update they equal Whoosh's."""
    folder = tmp_path / "archive"
    folder.mkdir()
    for n in range(1, 9):
        (folder / f"n{n}.txt").write_text(text(n), "utf-8")
    (folder / "undated.txt").write_text("عنوان بلا تاريخ\nنص خبر بلا تاريخ عن الرياضة\n", "utf-8")
    home = tmp_path / "index"
    build_index([folder], home, jobs=2)
    counts = [len(_segments(home))]
    assert counts == [2]
    merged = False
    for round_ in range(1, 8):
        (folder / f"n{round_}.txt").write_text(text(round_, "الرياضة"), "utf-8")
        (folder / f"u{round_}.txt").write_text(text(40 + round_, "السياسة", "2023-05-{n:02d}"),
                                               "utf-8")
        build_index([folder], home, update=True)
        segments = _segments(home)
        counts.append(len(segments))
        # Whoosh deletes a merged-away segment's doc values with its files.
        assert {p.name for p in store.current_dir(home).glob("*" + docvalues.EXTENSION)} == {
            s.make_filename(docvalues.EXTENSION) for s in segments}
        assert assert_docvalues_equal_whooshs(home) >= 9 + round_
        assert_generation_equals_whooshs(home)
        if counts[-1] < counts[-2]:
            merged = True
            break
    assert merged, counts
    engine = Engine(home)
    assert engine.search(Request(q="السياسة", date_from=date(2023, 5, 1))).total == round_
    assert engine.search(Request(q="الرياضة")).total >= round_ + 1


def test_an_update_without_merging(tmp_path, monkeypatch):
    """An update that only adds a segment (the old ones stay, one with
    deletions)."""
    monkeypatch.setattr(update_module, "SMALL_WORDS", 0)
    monkeypatch.setattr(update_module, "MAX_DELETED_SHARE", 1.0)
    home = tmp_path / "index"
    archive = write_news(tmp_path / "archive")
    build_index([archive], home)
    (archive / "gulf" / "oil.txt").unlink()
    (archive / "new.txt").write_text(text(30, "الزراعة"), "utf-8")
    build_index([archive], home, update=True)
    assert assert_docvalues_equal_whooshs(home) >= 17
    assert_generation_equals_whooshs(home)


def _small_segment(folder: Path, cancel: bool) -> docvalues.DocValues:
    """Articles a1, a3 (undated) and a4 in one segment; with ``cancel``, a2
    is refused midway between them (Whoosh's writer cancels it)."""
    folder.mkdir()
    settings = IndexSettings()
    ix = whoosh_index.create_in(str(folder), build_schema(settings))
    writer = ArshifWriter(ix)

    def add(n, when, **changes):
        art = Article(id=f"a{n}", headline=f"خبر {n}", body="نص عن النفط " * n, source=f"م{n}",
                      date=datetime(2020, 1, n) if when else None, path=f"/x/{n}.txt")
        writer.add_document(**{**to_document(art, "sig", content_key(art), settings),
                               **changes})

    add(1, True)
    if cancel:
        # Refused after its body and headline went to the per-document
        # writer (fields go in name order).
        with pytest.raises(ValueError, match="must be given the text of body"):
            add(2, True, body_skel="نص آخر")
    add(3, False)
    add(4, True)
    writer.commit()
    with ix.reader() as reader:
        return docvalues.DocValues(docvalues.docvalues_path(str(folder), reader.segment()))


def test_cancelled_documents_leave_no_values(tmp_path):
    """A cancelled document leaves nothing in the doc values: they equal
    those of the same segment written without it.  (Whoosh's own length
    columns keep the cancelled document's lengths, so its ``doc_field_length``
    is shifted by one document there: not the reference here.)"""
    values = _small_segment(tmp_path / "cancelled", cancel=True)
    clean = _small_segment(tmp_path / "clean", cancel=False)
    assert values.count == clean.count == 3
    codes, vocab = values.texts("id")
    assert [vocab[c] for c in codes] == ["a1", "a3", "a4"]
    for field in ("source", "year", "month"):
        codes, vocab = values.texts(field)
        clean_codes, clean_vocab = clean.texts(field)
        assert [vocab[c] for c in codes] == [clean_vocab[c] for c in clean_codes]
    assert values.numbers("date")[1].tolist() == [True, False, True]
    assert values.numbers("date")[0].tolist() == clean.numbers("date")[0].tolist()
    for field in SCORABLE:
        assert values.length_codes(field).tolist() == clean.length_codes(field).tolist(), field
    # 2 headline words + 2 per "نص عن النفط":
    assert BYTE_TO_LENGTH[values.length_codes("body")].tolist() == [4, 8, 10]


def test_a_damaged_doc_values_file_is_refused(tmp_path, news_index):
    home = tmp_path / "copy"
    shutil.copytree(news_index, home)
    (path,) = store.current_dir(home).glob("*" + docvalues.EXTENSION)
    values = docvalues.DocValues(str(path))
    assert values.count == 17
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ArrayFileError):
        docvalues.DocValues(str(path))
