"""Flat posting arrays (indexer/flat.py): the same postings as Whoosh's blocks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from indexer import flat, segment, store, writer as writer_module
from indexer.codec import IndexDamaged, flat_only
from indexer.postings import FieldPostings
from indexer.segment import ArshifWriter
from indexer.writer import build_index
from search import arrays as search_arrays
from search.backend import Request
from search.engine import Engine
from tests.conftest import write_news
from tests.test_parallel_build import mixed_archive, text


def leaf_flats(home: Path):
    """(leaf reader, its FlatPostings or None) for each segment of the live index."""
    ix = store.open_current(home)
    reader = ix.reader()
    leaf_flat = search_arrays._leaf_flat  # noqa: SLF001 - the search's own lookup of the file
    return [(leaf, leaf_flat(leaf)) for leaf, _ in reader.leaf_readers()]


class _StockWriter(SegmentWriter):
    def word_count(self) -> int:
        return 0  # one segment, as arshif's writer makes of these small archives


def use_stock_whoosh(monkeypatch) -> None:
    """Make ``build_index`` write with Whoosh's own SegmentWriter (all
    postings in Whoosh's blocks, no flat file): the reference."""

    def stock(ix, _lk=True):
        return _StockWriter(ix, _lk=_lk, compound=False)

    monkeypatch.setattr(writer_module, "ArshifWriter", stock)  # --update
    monkeypatch.setattr(segment, "ArshifWriter", stock)  # full builds, --jobs


def _postings(matcher) -> list:
    out = []
    while matcher.is_active():
        out.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return out


def _stats(info) -> tuple:
    return (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
            info.max_weight(), info.min_id(), info.max_id())


def assert_same_index(mine: Path, stock: Path) -> int:
    """The index arshif's writer made equals the one Whoosh's own writer
    made of the same input, leaf by leaf: every term, its statistics, its
    postings (documents, weights, Whoosh values: positions), read through
    Whoosh; and the flat postings equal Whoosh's.  Returns terms compared."""
    compared = 0
    mine_leaves, stock_leaves = leaf_flats(mine), leaf_flats(stock)
    assert len(mine_leaves) == len(stock_leaves)
    for (leaf, flat_postings), (ref, no_flat) in zip(mine_leaves, stock_leaves, strict=True):
        assert flat_postings is not None and no_flat is None
        assert flat_only(leaf.segment()) and not flat_only(ref.segment())
        assert sorted(leaf.deleted_docs_set) == sorted(ref.deleted_docs_set)
        terms = list(ref.all_terms())
        assert list(leaf.all_terms()) == terms
        for fieldname, btext in terms:
            assert (_stats(leaf.term_info(fieldname, btext))
                    == _stats(ref.term_info(fieldname, btext)))
            expected = _postings(ref.postings(fieldname, btext))
            assert _postings(leaf.postings(fieldname, btext)) == expected, (fieldname, btext)
            assert flat_postings.has_field(fieldname)  # every indexed field
            docs, weights = flat_postings.postings(fieldname, btext)
            # Deleted documents are in the flat file (the search masks them).
            live = np.array([not leaf.is_deleted(d) for d in docs.tolist()], dtype=bool)
            assert list(zip(docs[live].tolist(), weights[live].tolist(), strict=True)) == \
                [(d, w) for d, w, _ in expected], (fieldname, btext)
            if flat_postings.has_positions(fieldname):
                owner, pos = flat_postings.positions(fieldname, btext, docs[live])
                fmt = ref.schema[fieldname].format
                assert list(zip(owner.tolist(), pos.tolist(), strict=True)) == [
                    (i, p) for i, (_, _, v) in enumerate(expected) for p in fmt.decode_positions(v)]
            compared += 1
        assert flat_postings.postings("body", "كلمةغيرموجودة".encode())[0].size == 0
        assert flat_postings.postings("nosuchfield", b"x")[0].size == 0
    return compared


def _both(tmp_path, monkeypatch, build) -> tuple[Path, Path]:
    """``build(home)`` run with arshif's writer and with Whoosh's."""
    build(tmp_path / "mine")
    with monkeypatch.context() as patched:
        use_stock_whoosh(patched)
        build(tmp_path / "stock")
    return tmp_path / "mine", tmp_path / "stock"


def test_one_process_build_equals_whooshs(tmp_path, monkeypatch):
    archive = write_news(tmp_path / "archive")
    mine, stock = _both(tmp_path, monkeypatch, lambda home: build_index([archive], home))
    assert assert_same_index(mine, stock) > 200
    assert {"headline", "body", "keywords"} <= {
        f for f in ("headline", "body", "keywords", "body_exact", "date")
        if leaf_flats(mine)[0][1].has_positions(f)}
    assert not leaf_flats(mine)[0][1].has_positions("body_exact")  # frequency only


def test_every_segment_of_a_parallel_build_equals_whooshs(tmp_path, monkeypatch):
    archive = mixed_archive(tmp_path / "archive")
    mine, stock = _both(tmp_path, monkeypatch,
                        lambda home: build_index([archive], home, jobs=2))
    assert len(leaf_flats(mine)) == 2
    assert assert_same_index(mine, stock) > 50


def _updated_archive(folder: Path):
    def build(home: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for n in range(1, 9):
            (folder / f"n{n}.txt").write_text(text(n), "utf-8")
        build_index([folder], home, jobs=2)
        (folder / "n1.txt").unlink()
        (folder / "n9.txt").write_text(text(9, "الرياضة"), "utf-8")
        build_index([folder], home, update=True)
    return build


def test_an_update_equals_whooshs(tmp_path, monkeypatch):
    mine, stock = _both(tmp_path, monkeypatch, _updated_archive(tmp_path / "archive"))
    assert len(leaf_flats(mine)) == 3  # the update added a segment, merged nothing
    assert assert_same_index(mine, stock) > 20


@pytest.mark.parametrize("written_by", ["arshif", "whoosh"])
def test_a_merge_equals_whooshs(tmp_path, monkeypatch, written_by):
    """Merging segments (of arshif's or of an index Whoosh wrote, as an
    older arshif did) gives the postings Whoosh's merge gives, and Whoosh's
    clean-up deletes the merged-away segments' flat files."""
    mine, stock = _both(tmp_path, monkeypatch, _updated_archive(tmp_path / "archive"))
    if written_by == "whoosh":
        shutil.rmtree(mine)
        shutil.copytree(stock, mine)
    for home, writer in ((mine, ArshifWriter), (stock, whoosh_writer)):
        ix = whoosh_index.open_dir(str(store.current_dir(home)))
        writer(ix).commit(optimize=True)
    assert len(leaf_flats(mine)) == 1
    assert len(list(store.current_dir(mine).glob("*" + flat.EXTENSION))) == 1
    assert assert_same_index(mine, stock) > 20


def whoosh_writer(ix):
    return SegmentWriter(ix, compound=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 12), max_size=5), min_size=2, max_size=4),
                min_size=1, max_size=6),
       st.integers(1, 3))
def test_vectorized_phrase_check_is_in_order(docs, slop):
    """``_phrase_docs`` (all documents at once) against ``_in_order`` (one)."""
    words = len(docs[0])
    docs = [(d + [[]] * words)[:words] for d in docs]
    pairs = []
    for w in range(words):
        owner = [i for i, d in enumerate(docs) for _ in sorted(set(d[w]))]
        pos = [p for d in docs for p in sorted(set(d[w]))]
        pairs.append((np.array(owner, dtype=np.int64), np.array(pos, dtype=np.int64)))
    in_order = search_arrays._in_order  # noqa: SLF001 - the phrase check's two halves
    phrase_docs = search_arrays._phrase_docs  # noqa: SLF001
    expected = [i for i, d in enumerate(docs)
                if all(d) and in_order([sorted(set(p)) for p in d], slop)]
    assert phrase_docs(pairs, slop).tolist() == expected


def test_another_version_is_not_read(tmp_path):
    _write(tmp_path, [("f", b"a", 0, 1.0, None)])
    path = tmp_path / "x.flat"
    data = path.read_bytes().replace(b'"version": %d' % flat.VERSION, b'"version": 9')
    path.write_bytes(data)
    with pytest.raises(ValueError, match="version 9"):
        flat.FlatPostings(str(path))


@pytest.mark.parametrize("key", ["docs", "weights", "starts", "term_ends", "term_bytes",
                                 "positions", "pos_starts"])
def test_a_header_pointing_outside_the_file_is_refused(tmp_path, key):
    import json
    _write(tmp_path, [("f", b"a", 0, 1.0, (3,)), ("f", b"b", 2, 1.0, (0, 1))], positional=("f",))
    path = tmp_path / "x.flat"
    data = path.read_bytes()
    footer = flat._FOOTER  # noqa: SLF001 - the test edits the file's own header
    offset, length, magic = footer.unpack_from(data, len(data) - footer.size)
    header = json.loads(data[offset:offset + length])
    header["fields"]["f"][key] = offset - 1  # its array would run into the header
    encoded = json.dumps(header).encode()
    path.write_bytes(data[:offset] + encoded + footer.pack(offset, len(encoded), magic))
    with pytest.raises(ValueError):
        flat.FlatPostings(str(path))
    assert flat.open_flat(str(tmp_path), type("Segment", (), {
        "make_filename": staticmethod(lambda ext: "x" + ext)})()) is None


@pytest.mark.parametrize("damage", ["cut", "gone"])
def test_a_damaged_file_is_a_clear_error(tmp_path, news_index, damage):
    """A segment written by arshif has its text postings only in its flat
    file: without it the index cannot be searched, and says so."""
    home = tmp_path / "copy"
    shutil.copytree(news_index, home)
    for path in store.current_dir(home).glob("*" + flat.EXTENSION):
        if damage == "cut":
            path.write_bytes(path.read_bytes()[:-5])  # the footer is gone
        else:
            path.unlink()
    with pytest.raises(IndexDamaged, match="rebuild it with: arshif index"):
        Engine(home).ranked_ids("أسعار النفط الاقتصاد", 100)
    reader = store.open_current(home).reader()
    with pytest.raises(IndexDamaged):
        reader.postings("body", "نفط".encode())
    # The user sees it, not a stack trace: the web answers 503, the CLI exits 2
    # (its index-error status) with the message.
    from click.testing import CliRunner

    from arshif.cli import main
    from web import create_app

    client = create_app(home).test_client()
    page = client.get("/?q=النفط")
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
    assert client.get("/api/search?q=النفط").status_code == 503
    result = CliRunner().invoke(main, ["search", "--index", str(home), "النفط"])
    assert result.exit_code == 2 and "rebuild it with: arshif index" in result.output


def test_search_reads_the_flat_postings_not_whoosh(news_index, monkeypatch):
    req = Request(q="الاقتصاد تركيا", source="الجزيرة")
    expected = Engine(news_index).search(req)

    def fail(matcher):
        raise AssertionError("decoded through Whoosh")

    monkeypatch.setattr(search_arrays, "_read_postings", fail)
    result = Engine(news_index).search(req)
    assert result.total == expected.total == 6
    assert [h.id for h in result.hits] == [h.id for h in expected.hits]


def _write(tmp_path, postings, positional=()) -> flat.FlatPostings:
    """A flat file of ``(field, term, doc, weight, positions)`` postings,
    given sorted by field, term and document."""
    path = str(tmp_path / "x.flat")
    with flat.FlatFile(path) as out:
        for name in sorted({p[0] for p in postings}):
            mine = [p for p in postings if p[0] == name]
            terms = sorted({p[1] for p in mine})
            starts = np.array([sum(1 for p in mine if p[1] < t) for t in terms] + [len(mine)])
            fields = FieldPostings(
                terms=terms, starts=starts.astype(np.uint64),
                docs=np.array([p[2] for p in mine], dtype=np.uint32),
                freqs=np.ones(len(mine), dtype=np.uint32),
                lengths=np.zeros(max(p[2] for p in mine) + 1, dtype=np.uint32))
            if name in positional:
                fields.positions = np.array([x for p in mine for x in p[4]], dtype=np.uint64)
                fields.pos_starts = np.cumsum([0] + [len(p[4]) for p in mine]).astype(np.uint64)
            out.add_field(name, fields, np.array([p[3] for p in mine], dtype=np.float64))
    return flat.FlatPostings(path)


@pytest.mark.parametrize("far", [9, 70_000])
def test_positions_of_any_size(tmp_path, far):
    postings = [("f", b"a", 0, 2.0, (1, far)), ("f", b"a", 4, 1.0, (3,)),
                ("f", b"b", 4, 1.0, (0,)), ("g", b"a", 1, 1.0, None)]
    found = _write(tmp_path, postings, positional=("f",))
    owner, pos = found.positions("f", b"a", np.array([0, 4]))
    assert owner.tolist() == [0, 0, 1] and pos.tolist() == [1, far, 3]
    owner, pos = found.positions("f", b"a", np.array([4]))
    assert owner.tolist() == [0] and pos.tolist() == [3]
    assert found.positions("f", b"zz", np.array([4]))[0].size == 0
    assert found.has_positions("f") and not found.has_positions("g")


def test_weights_stay_exact_when_they_are_not_frequencies(tmp_path):
    postings = [("f", b"a", 0, 1.0, None), ("f", b"a", 3, 2.0, None),
                ("f", b"b", 1, 70000.0, None),
                ("g", b"a", 2, 0.25, None)]
    found = _write(tmp_path, postings)
    assert found.postings("f", b"a")[0].tolist() == [0, 3]
    assert found.postings("f", b"a")[1].dtype == np.float64  # 70000 does not fit 16 bits
    assert found.postings("f", b"b")[1].tolist() == [70000.0]
    assert found.postings("g", b"a")[1].tolist() == [0.25]
    assert found.postings("f", b"c")[0].size == 0 and found.postings("f", b"0")[0].size == 0


def test_frequencies_are_stored_in_two_bytes(tmp_path):
    postings = [("f", bytes([t]), d, float(d % 3 + 1), None) for t in range(65, 91)
                for d in range(t % 5 + 1)]
    found = _write(tmp_path, postings)
    for t in range(65, 91):
        docs, weights = found.postings("f", bytes([t]))
        assert weights.dtype == np.dtype("<u2")
        assert docs.tolist() == list(range(t % 5 + 1))
        assert weights.tolist() == [float(d % 3 + 1) for d in range(t % 5 + 1)]


def test_no_postings_at_all(tmp_path):
    found = _write(tmp_path, [])
    assert not found.has_field("f") and found.postings("f", b"a")[0].size == 0


@pytest.mark.parametrize("content", [b"", b"short", b"x" * 40])
def test_not_a_flat_file(tmp_path, content):
    path = tmp_path / "bad.flat"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        flat.FlatPostings(str(path))
