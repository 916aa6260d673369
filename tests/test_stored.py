"""Stored fields, each document compressed alone (indexer/stored.py).

The reference is a plain Whoosh index (Whoosh's default codec) built from
the same documents: Whoosh's searcher over an arshif segment must give the
same stored dicts, document by document, by number, by ``document(id=…)``
and through ``all_stored_fields``, also after a merge and with deletions;
a damaged document is refused, never read as another document.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index

from indexer import stored as stored_module
from indexer.arrayfile import ArrayFile, ArrayFileWriter
from indexer.article import Article
from indexer.schema import build_schema, content_key, to_document
from indexer.segment import ArshifWriter
from indexer.settings import IndexSettings
from indexer.store import IndexDamaged

SETTINGS = IndexSettings()


def _documents() -> list[dict]:
    """Enough documents for several blocks, with unusual values."""
    docs = []
    for n in range(60):
        art = Article(id=f"a{n}", headline=f"خبر رقم {n} عن النفط",
                      body="ارتفعت أسعار النفط في الأسواق العالمية اليوم. " * (5 + n * 7),
                      source=f"مصدر {n % 4}", date=datetime(2020, 1 + n % 12, 1 + n % 28),
                      path=f"/archive/{n % 5}.jsonl", keywords=["نفط", f"سوق {n}"])
        docs.append(to_document(art, f"{n}:1700000000", content_key(art), SETTINGS))
    # Empty strings, no date (no year, month, date), no source.
    empty = Article(id="empty", headline="عنوان", body="نص قصير", source="", date=None,
                    path="")
    doc = to_document(empty, "", content_key(empty), SETTINGS)
    doc.update(keywords="", date_text="", parent="", related="")
    del doc["source"]
    docs.append(doc)
    # A body much longer than a block, with characters outside the BMP.
    long = Article(id="long", headline="\U0001d538 عنوان 😀", body="نص 😀 طويل 𐎀 جدا " * 20_000,
                   source="مصدر 😀", date=datetime(1999, 12, 31, 23, 59, 59, 123456),
                   path="/archive/😀.txt")
    docs.append(to_document(long, "9:9", content_key(long), SETTINGS))
    # Fields given as None are not stored (Whoosh leaves them out).
    nothing = Article(id="none", headline="لا شيء", body="نص", source="س", path="/x")
    doc = to_document(nothing, "1:1", content_key(nothing), SETTINGS)
    doc.update(parent=None, related=None, path=None)
    docs.append(doc)
    docs.append({**docs[3], "id": "a3-again"})
    return docs


def _build(folder: Path, docs: list[dict], arshif: bool) -> whoosh_index.FileIndex:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema(SETTINGS))
    writer = ArshifWriter(ix) if arshif else ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def _all_stored(ix) -> list[dict]:
    with ix.searcher() as searcher:
        return [searcher.stored_fields(n) for n in range(searcher.doc_count_all())]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("stored")
    docs = _documents()
    return docs, _build(base / "arshif", docs, True), _build(base / "whoosh", docs, False)


def _stored_path(ix) -> str:
    with ix.reader() as reader:
        return stored_module.stored_path(ix.storage.folder, reader.segment())


def _stored_file(ix) -> ArrayFile:
    return ArrayFile(_stored_path(ix), stored_module.KIND, stored_module.VERSION)


def test_a_segment_trains_its_dictionary_and_compresses_each_document(built):
    docs, ix, _ = built
    stored = _stored_file(ix)
    assert stored.meta["count"] == len(docs) >= stored_module.MIN_TRAIN_DOCS
    assert len(stored.array("dictionary")) > 0
    ends = stored.array("doc_ends")
    assert len(ends) == len(docs) and (np.diff(ends) > 0).all()
    # No stored value went to Whoosh's own stored column (left empty: a
    # byte or two per document).
    column = Path(_stored_path(ix)).with_suffix("._stored.col")
    assert column.stat().st_size <= 4 * len(docs)


def test_a_small_segment_has_no_dictionary_and_reads_the_same(tmp_path):
    docs = _documents()[:stored_module.MIN_TRAIN_DOCS - 1]
    ix = _build(tmp_path / "small", docs, True)
    assert len(_stored_file(ix).array("dictionary")) == 0
    assert _all_stored(ix) == _all_stored(_build(tmp_path / "whoosh", docs, False))


def test_documents_past_the_training_ones_read_the_same(tmp_path, monkeypatch):
    """The held documents and those compressed as they come are one file."""
    monkeypatch.setattr(stored_module, "TRAIN_DOCS", stored_module.MIN_TRAIN_DOCS)
    docs = _documents()
    assert len(docs) > stored_module.TRAIN_DOCS
    ix = _build(tmp_path / "trained", docs, True)
    assert len(_stored_file(ix).array("dictionary")) > 0
    assert _all_stored(ix) == _all_stored(_build(tmp_path / "whoosh", docs, False))


def test_a_scan_reads_every_document_and_lets_go_of_its_pages(built, monkeypatch):
    """A pass over the whole segment (the completions of a build) gives every
    document as ``document`` does, letting go of the pages it read on the
    way; the documents read the same afterwards."""
    docs, ix, _ = built
    stored = stored_module.StoredFields(_stored_path(ix))
    monkeypatch.setattr(stored_module, "RELEASE_BYTES", 1)
    released = []
    real = ArrayFile.release
    monkeypatch.setattr(ArrayFile, "release",
                        lambda self, a, b: released.append((a, b)) or real(self, a, b))
    scanned = list(stored.scan())
    assert [n for n, _ in scanned] == list(range(len(docs)))
    assert [fields for _, fields in scanned] == [stored.document(n) for n in range(len(docs))]
    file = _stored_file(ix)
    base = file.offset("docs")
    assert released[0][0] == base and released[-1][1] == base + int(file.array("doc_ends")[-1])
    assert all(a < b for a, b in released)
    assert [stored.document(n) for n in range(len(docs))] == [fields for _, fields in scanned]


def _resident_kb(path: str) -> int:
    """This process's resident kilobytes of its mappings of ``path``."""
    total, current = 0, ""
    with open("/proc/self/smaps") as fh:
        for line in fh:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                current = line.rstrip("\n").split(None, 5)[-1] if len(line.split()) > 5 else ""
            elif line.startswith("Rss:") and current == path:
                total += int(line.split()[1])
    return total


def test_released_pages_leave_the_process(tmp_path):
    """``ArrayFile.release`` takes the pages read out of the process's
    resident memory; the values read the same after."""
    path = str(tmp_path / "big.arr")
    values = np.arange(2**20, dtype=np.int64)  # 8 MB
    with ArrayFileWriter(path, "test", 1) as out:
        out.put("values", values, "<i8")
    file = ArrayFile(path, "test", 1)
    assert int(file.array("values").sum()) == int(values.sum())  # every page read
    assert _resident_kb(path) >= 7 * 1024
    start = file.offset("values")
    file.release(start, start + values.nbytes)
    assert _resident_kb(path) <= 1024
    assert np.array_equal(file.array("values"), values)


def test_whooshs_searcher_reads_the_same_stored_dicts(built):
    docs, ix, reference = built
    ours = _all_stored(whoosh_index.open_dir(ix.storage.folder))
    assert ours == _all_stored(reference)
    assert len(ours) == len(docs)
    for got, doc in zip(ours, docs, strict=True):
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in
                                                         _expected(doc).items()}
    by_id = {d["id"]: d for d in ours}
    assert by_id["long"]["body"].startswith("نص 😀 طويل 𐎀")
    assert by_id["long"]["date"] == datetime(1999, 12, 31, 23, 59, 59, 123456)
    assert by_id["empty"]["keywords"] == "" and "source" not in by_id["empty"]
    assert "date" not in by_id["empty"] and "path" not in by_id["none"]
    with ix.searcher() as ours_s, reference.searcher() as theirs_s:
        for key in ("a0", "a37", "empty", "long", "none", "a59", "a3-again"):
            assert ours_s.document(id=key) == theirs_s.document(id=key) is not None
        assert list(ours_s.reader().all_stored_fields()) == list(
            theirs_s.reader().all_stored_fields())
        # Out of order, back and forth across blocks: no cache mixes them up.
        for n in (61, 0, 45, 2, 62, 61, 10, 0):
            assert ours_s.stored_fields(n) == theirs_s.stored_fields(n)


def _expected(doc: dict) -> dict:
    """What Whoosh stores of a document given to ``add_document``."""
    schema = build_schema(SETTINGS)
    out = {}
    for name, value in doc.items():
        if name.startswith("_") or value is None or not schema[name].stored:
            continue
        out[name] = doc.get(f"_stored_{name}", value)
    return out


def test_returned_dicts_are_copies(built):
    _, ix, _ = built
    with ix.searcher() as searcher:
        first = searcher.stored_fields(5)
        first["id"] = "changed"
        first.clear()
        assert searcher.stored_fields(5)["id"] == "a5"


def test_a_merge_with_deletions_keeps_the_stored_dicts(built, tmp_path):
    docs, ix, _ = built
    shutil.copytree(ix.storage.folder, tmp_path / "arshif")
    ours = whoosh_index.open_dir(str(tmp_path / "arshif"))
    reference = _build(tmp_path / "whoosh", docs, False)
    extra = [{**docs[n], "id": f"extra{n}"} for n in (1, 61, 62)]
    for index, writer in ((ours, ArshifWriter(ours)), (reference, reference.writer())):
        for key in ("a7", "long", "a40"):
            writer.delete_by_term("id", key)
        for doc in extra:
            writer.add_document(**doc)
        writer.commit()
        # The optimize merges both segments through the per-document reader.
        writer = ArshifWriter(index) if index is ours else index.writer()
        writer.commit(optimize=True)
    assert len(ours.reader().leaf_readers()) == 1
    with ours.searcher() as a, reference.searcher() as b:
        assert a.doc_count_all() == b.doc_count_all() == len(docs) - 3 + 3
        assert list(a.reader().all_stored_fields()) == list(b.reader().all_stored_fields())
        assert a.document(id="extra61") == b.document(id="extra61") is not None
        assert a.document(id="long") is None


def test_a_cancelled_document_is_not_stored(tmp_path):
    docs = _documents()[:3]
    (tmp_path / "ix").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "ix"), build_schema(SETTINGS))
    writer = ArshifWriter(ix)
    writer.add_document(**docs[0])
    with pytest.raises(ValueError, match="must be given the text of body"):
        writer.add_document(**{**docs[1], "body_skel": "نص آخر"})
    writer.add_document(**docs[2])
    writer.commit()
    assert [d["id"] for d in _all_stored(ix)] == ["a0", "a2"]


def _flip_in_document(folder: Path, docnum: int) -> None:
    (path,) = folder.glob("*" + stored_module.EXTENSION)
    stored = ArrayFile(str(path), stored_module.KIND, stored_module.VERSION)
    ends = stored.array("doc_ends")
    start = int(ends[docnum - 1]) if docnum else 0
    data = bytearray(path.read_bytes())
    data[stored.offset("docs") + (start + int(ends[docnum])) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_damaged_document_is_refused(built, tmp_path):
    _, ix, _ = built
    shutil.copytree(ix.storage.folder, tmp_path / "copy")
    _flip_in_document(tmp_path / "copy", 1)
    damaged = whoosh_index.open_dir(str(tmp_path / "copy"))
    with damaged.searcher() as searcher:
        assert searcher.stored_fields(0)["id"] == "a0"  # the others are intact
        assert searcher.stored_fields(2)["id"] == "a2"
        with pytest.raises(IndexDamaged, match="document 1"):
            searcher.stored_fields(1)


def test_a_cut_file_is_refused(built, tmp_path):
    _, ix, _ = built
    shutil.copytree(ix.storage.folder, tmp_path / "copy")
    (path,) = (tmp_path / "copy").glob("*" + stored_module.EXTENSION)
    path.write_bytes(path.read_bytes()[:-3])
    with (whoosh_index.open_dir(str(tmp_path / "copy")).searcher() as searcher,
          pytest.raises(IndexDamaged, match="stored")):
        searcher.stored_fields(0)
