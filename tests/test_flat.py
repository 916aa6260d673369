"""Flat posting arrays (indexer/flat.py): the same postings as Whoosh's blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from indexer import flat, store
from indexer.pool import use_block_pool
from indexer.writer import build_index
from search import arrays as search_arrays
from search.engine import Engine, Request
from tests.test_parallel_build import mixed_archive, text


def leaf_flats(home: Path):
    """(leaf reader, its FlatPostings or None) for each segment of the live index."""
    ix = store.open_current(home)
    reader = ix.reader()
    return [(leaf, search_arrays._leaf_flat(leaf)) for leaf, _ in reader.leaf_readers()]


def assert_same_postings(home: Path) -> int:
    """Every term of every flat field: the flat postings equal Whoosh's. Returns
    the number of terms compared."""
    compared = 0
    for leaf, flat_postings in leaf_flats(home):
        assert flat_postings is not None
        for fieldname, btext in leaf.all_terms():
            if fieldname not in flat.FIELDS:
                assert not flat_postings.has_field(fieldname)
                continue
            docs, weights = flat_postings.postings(fieldname, btext)
            whoosh_docs, whoosh_weights = search_arrays._read_postings(
                leaf.postings(fieldname, btext))
            # Deleted documents are in the flat file (the search masks them);
            # Whoosh leaves some out, so only live ones are compared.
            mine, theirs = _live(leaf, docs), _live(leaf, whoosh_docs)
            assert docs[mine].tolist() == whoosh_docs[theirs].tolist(), (fieldname, btext)
            assert weights[mine].tolist() == whoosh_weights[theirs].tolist(), (fieldname, btext)
            compared += 1
        assert flat_postings.postings("body", "كلمةغيرموجودة".encode())[0].size == 0
        assert flat_postings.postings("nosuchfield", b"x")[0].size == 0
    return compared


def _live(leaf, docs) -> np.ndarray:
    return np.array([not leaf.is_deleted(d) for d in docs.tolist()], dtype=bool)


def test_one_process_build_has_the_same_postings(news_index):
    assert assert_same_postings(news_index) > 200


def test_every_segment_of_a_parallel_build_has_them(tmp_path):
    home = tmp_path / "ix"
    build_index([mixed_archive(tmp_path / "archive")], home, jobs=2)
    assert len(leaf_flats(home)) == 2
    assert assert_same_postings(home) > 50


def test_an_update_writes_them_and_a_merge_drops_the_old_ones(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for n in range(1, 9):
        (folder / f"n{n}.txt").write_text(text(n), "utf-8")
    home = tmp_path / "ix"
    build_index([folder], home, jobs=2)
    (folder / "n1.txt").unlink()
    (folder / "n9.txt").write_text(text(9, "الرياضة"), "utf-8")
    build_index([folder], home, update=True)
    assert len(leaf_flats(home)) == 3  # the update added a segment, merged nothing
    assert assert_same_postings(home) > 20
    # A merge (Whoosh's, through the same pool) writes the merged segment's
    # file, and Whoosh's clean-up deletes the merged-away segments' files.
    gen = store.current_dir(home)
    ix = whoosh_index.open_dir(str(gen))
    use_block_pool(ix.writer(compound=False), 16).commit(optimize=True)
    assert len(leaf_flats(home)) == 1
    assert len(list(gen.glob("*" + flat.EXTENSION))) == 1
    assert assert_same_postings(home) > 20


def test_positions_are_whooshs(news_index):
    """Every positional term, in every document holding it."""
    checked = 0
    for leaf, flat_postings in leaf_flats(news_index):
        for fieldname, btext in leaf.all_terms():
            if not flat_postings.has_positions(fieldname):
                continue
            docs, _ = flat_postings.postings(fieldname, btext)
            owner, pos = flat_postings.positions(fieldname, btext, np.array(docs))
            matcher = leaf.postings(fieldname, btext)
            expected = []
            while matcher.is_active():
                expected += [(int(np.searchsorted(docs, matcher.id())), p)
                             for p in matcher.value_as("positions")]
                matcher.next()
            assert list(zip(owner.tolist(), pos.tolist())) == expected, (fieldname, btext)
            checked += 1
    assert checked > 200
    assert {"headline", "body", "keywords"} <= {f for f in flat.FIELDS
                                                 if flat_postings.has_positions(f)}
    assert not flat_postings.has_positions("body_exact")  # frequency only


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
    expected = [i for i, d in enumerate(docs)
                if all(d) and search_arrays._in_order([sorted(set(p)) for p in d], slop)]
    assert search_arrays._phrase_docs(pairs, slop).tolist() == expected


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
    offset, length, magic = flat._FOOTER.unpack_from(data, len(data) - flat._FOOTER.size)
    header = json.loads(data[offset:offset + length])
    header["fields"]["f"][key] = offset - 1  # its array would run into the header
    encoded = json.dumps(header).encode()
    path.write_bytes(data[:offset] + encoded + flat._FOOTER.pack(offset, len(encoded), magic))
    with pytest.raises(ValueError):
        flat.FlatPostings(str(path))
    assert flat.open_flat(str(tmp_path), type("Segment", (), {
        "make_filename": staticmethod(lambda ext: "x" + ext)})()) is None


def test_a_damaged_file_is_ignored_and_search_reads_whoosh(tmp_path, news_index):
    home = tmp_path / "copy"
    import shutil
    shutil.copytree(news_index, home)
    expected = Engine(news_index).ranked_ids("أسعار النفط الاقتصاد", 100)
    for path in store.current_dir(home).glob("*" + flat.EXTENSION):
        path.write_bytes(path.read_bytes()[:-5])  # cut short: the footer is gone
    assert all(f is None for _, f in leaf_flats(home))
    assert Engine(home).ranked_ids("أسعار النفط الاقتصاد", 100) == expected


def test_search_reads_the_flat_postings_not_whoosh(news_index, monkeypatch):
    req = Request(q="الاقتصاد تركيا", source="الجزيرة")
    expected = Engine(news_index).search(req)

    def fail(matcher):
        raise AssertionError("decoded through Whoosh")

    monkeypatch.setattr(search_arrays, "_read_postings", fail)
    result = Engine(news_index).search(req)
    assert result.total == expected.total == 6
    assert [h.id for h in result.hits] == [h.id for h in expected.hits]


class _ListFormat:
    """A stand-in Whoosh format whose posting values are the positions."""

    decode_positions = staticmethod(list)


def _write(tmp_path, postings, fields=("f", "g"), positional=()) -> flat.FlatPostings:
    path = str(tmp_path / "x.flat")
    writer = flat.FlatWriter(path, fields, {name: _ListFormat for name in positional})
    assert list(writer.tee(iter(postings))) == postings
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


def test_positions_past_32_bits_are_left_to_whoosh(tmp_path):
    postings = [("f", b"a", 0, 2.0, (1, 2**32 + 5)), ("f", b"b", 4, 1.0, (3,))]
    found = _write(tmp_path, postings, positional=("f",))
    assert not found.has_positions("f")
    assert found.postings("f", b"b")[0].tolist() == [4]


def test_weights_stay_exact_when_they_are_not_frequencies(tmp_path):
    postings = [("f", b"a", 0, 1.0, None), ("f", b"a", 3, 2.0, None),
                ("f", b"b", 1, 70000.0, None),
                ("g", b"a", 2, 0.25, None), ("h", b"a", 1, 1.0, None)]
    found = _write(tmp_path, postings)
    assert found.postings("f", b"a")[0].tolist() == [0, 3]
    assert found.postings("f", b"a")[1].dtype == np.float64  # 70000 does not fit 16 bits
    assert found.postings("f", b"b")[1].tolist() == [70000.0]
    assert found.postings("g", b"a")[1].tolist() == [0.25]
    assert not found.has_field("h")  # not asked for
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
