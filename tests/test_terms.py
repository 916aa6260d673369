"""The term dictionary of arshif's segments (indexer/codec.py): the flat
fields' terms live only in the flat file, and Whoosh's reader over them
answers every term question as it does over Whoosh's own term index.

The reference is the same input written by Whoosh's own writer (every term
in Whoosh's term index, ``.trm``), read through Whoosh's reader: the terms,
their order across fields, term infos, frequencies, cursors, fuzzy matches
and prefix expansions must be the same, segment by segment and over the
whole index.  The input mixes a large random vocabulary with the news
articles (ids, sources, dates, headlines, keywords).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.reading import TermNotFound

from indexer import store
from indexer.codec import FLAT_FIELDS_KEY, ArshifCodec
from indexer.writer import build_index
from tests.conftest import write_news
from tests.test_flat import term_stats, use_stock_whoosh
from tests.test_hostile import write_vocabulary

#: Text fields (terms are str) where fuzzy matching is asked.
FUZZY_FIELDS = ("headline", "body", "body_skel")


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[Path, Path]:
    """(arshif's index, Whoosh's index) of the same input, two segments each."""
    root = tmp_path_factory.mktemp("terms")
    archive = root / "archive"
    # The news, then two files of random words: a --jobs 2 build cuts them
    # into two parts of about equal size, each with thousands of terms.
    write_news(archive / "0news")
    write_vocabulary(archive / "a", 80, 40, seed=7)
    other = write_vocabulary(archive / "b", 80, 40, seed=8) / "vocab.jsonl"
    other.write_text(other.read_text("utf-8").replace('"id": "v', '"id": "w'), "utf-8")
    build_index([archive], root / "mine", jobs=2)
    with pytest.MonkeyPatch.context() as patched:
        use_stock_whoosh(patched)
        build_index([archive], root / "stock", jobs=2)
    return root / "mine", root / "stock"


def _reader(home: Path):
    return whoosh_index.open_dir(str(store.current_dir(home))).reader()


def _term_index(folder: Path, name: str) -> tuple[list[bytes], dict]:
    """The keys and extras of a Whoosh term index file, read by Whoosh."""
    storage = FileStorage(str(folder))
    table = OrderedHashReader(storage.open_file(name), storage.file_length(name))
    try:
        return list(table.keys()), dict(table.extras)
    finally:
        table.close()


def _vocabulary(reader) -> int:
    return sum(1 for _ in reader.all_terms())


def test_the_term_index_holds_no_flat_fields_term(both, news_index):
    """Every field of arshif's segments is flat: its term index holds no key
    at all, only the field numbers (in name order, Whoosh's key order) and
    the list of flat fields; so its size does not grow with the vocabulary,
    where Whoosh's holds a key and a term info per term."""
    mine, stock = both
    sizes = {}
    for home in (mine, news_index):
        folder = store.current_dir(home)
        for leaf, _ in _reader(home).leaf_readers():
            assert isinstance(leaf.segment().codec(), ArshifCodec)
            name = leaf.segment().make_filename(".trm")
            keys, extras = _term_index(folder, name)
            assert keys == []
            fieldmap = extras["fieldmap"]
            assert sorted(fieldmap, key=fieldmap.get) == sorted(fieldmap)
            assert extras[FLAT_FIELDS_KEY] == sorted(fieldmap)
            assert set(fieldmap) == {n for n, f in leaf.schema.items() if f.indexed}
            sizes[name] = ((folder / name).stat().st_size, _vocabulary(leaf))
    vocabularies = sorted(v for _, v in sizes.values())
    assert vocabularies[-1] > 20 * vocabularies[0]  # the segments' vocabularies differ
    assert len({size for size, _ in sizes.values()}) == 1  # their term indexes do not
    assert all(size < vocabulary for size, vocabulary in sizes.values() if vocabulary > 5000)
    # Whoosh's own term index of the same segments: a key (2 + term bytes),
    # an 8-byte entry header and a 31-byte term info at least, per term.
    folder = store.current_dir(stock)
    for leaf, _ in _reader(stock).leaf_readers():
        name = leaf.segment().make_filename(".trm")
        keys, _ = _term_index(folder, name)
        assert len(keys) == _vocabulary(leaf) > 5000
        assert (folder / name).stat().st_size > 41 * len(keys)


def _probes(reader, fieldname: str) -> list[bytes]:
    """Keys to start from: some of the field's terms, keys between and
    beside them, before the first and after the last."""
    terms = list(reader.lexicon(fieldname))
    sample = terms[::max(1, len(terms) // 25)] + terms[-1:]
    return ([b"", b"\x00", b"\xff\xff\xff"] + sample + [t + b"\x00" for t in sample]
            + [t[:-1] for t in sample if len(t) > 1] + [t[:2] for t in sample])


def _walk(cursor, steps: int | None = None) -> list:
    """(text, term info) of the cursor's term and the next ones, to the
    field's end or ``steps`` more."""
    out = [(cursor.text(), term_stats(cursor.term_info()))] if cursor.is_valid() else []
    while (steps is None or len(out) <= steps) and cursor.next() is not None:
        assert cursor.is_valid()
        out.append((cursor.text(), term_stats(cursor.term_info())))
    if steps is None:
        assert not cursor.is_valid() and cursor.text() is None and cursor.term_info() is None
        assert cursor.next() is None  # stays past the end
    return out


def _assert_same_terms(mine, ref) -> int:
    """Every term question gets the same answer from both readers; returns
    the terms compared."""
    assert set(ref.indexed_field_names()) <= set(mine.indexed_field_names())
    # Fields Whoosh did not write (no term at all) are empty in arshif's.
    for name in set(mine.indexed_field_names()) - set(ref.indexed_field_names()):
        assert list(mine.lexicon(name)) == []
    terms = list(ref.all_terms())
    assert list(mine.all_terms()) == terms
    assert [(t, term_stats(i)) for t, i in mine] == [(t, term_stats(i)) for t, i in ref]
    for fieldname, btext in terms:
        assert (fieldname, btext) in mine
        assert term_stats(mine.term_info(fieldname, btext)) == \
            term_stats(ref.term_info(fieldname, btext))
        assert mine.frequency(fieldname, btext) == ref.frequency(fieldname, btext)
        assert mine.doc_frequency(fieldname, btext) == ref.doc_frequency(fieldname, btext)
    schema = ref.schema
    for fieldname in sorted(ref.indexed_field_names()):
        for key in _probes(ref, fieldname):
            # From a key on: this field's terms, then the next fields'.
            assert list(islice(mine.terms_from(fieldname, key), 40)) == \
                list(islice(ref.terms_from(fieldname, key), 40))
            assert [(t, term_stats(i)) for t, i in islice(mine.iter_from(fieldname, key), 10)] == \
                [(t, term_stats(i)) for t, i in islice(ref.iter_from(fieldname, key), 10)]
            assert list(mine.expand_prefix(fieldname, key)) == \
                list(ref.expand_prefix(fieldname, key))
            if (fieldname, key) not in ref:
                assert (fieldname, key) not in mine
                assert mine.frequency(fieldname, key) == 0
                assert mine.doc_frequency(fieldname, key) == 0
                with pytest.raises(TermNotFound):
                    mine.term_info(fieldname, key)
            # A cursor: found from a key, then stepped on.
            ours, theirs = mine.cursor(fieldname), ref.cursor(fieldname)
            assert ours.find(key) == theirs.find(key)
            assert _walk(ours, 5) == _walk(theirs, 5)
        # A cursor walked from its start to the field's end, and back to the start.
        ours, theirs = mine.cursor(fieldname), ref.cursor(fieldname)
        assert _walk(ours) == _walk(theirs)
        assert ours.first() == theirs.first() and ours.is_valid() == theirs.is_valid()
        assert mine.most_frequent_terms(fieldname, 10, b"") == \
            ref.most_frequent_terms(fieldname, 10, b"")
        if fieldname in FUZZY_FIELDS:
            words = [schema[fieldname].from_bytes(t) for t in _probes(ref, fieldname)[3:40:3]]
            for word in [*words, "ا", "بب"]:
                for maxdist, prefix in ((1, 0), (2, 1)):
                    assert sorted(mine.terms_within(fieldname, word, maxdist, prefix)) == \
                        sorted(ref.terms_within(fieldname, word, maxdist, prefix)), word
    return len(terms)


def test_every_terms_reader_method_agrees_with_whooshs(both):
    mine, stock = both
    ours, theirs = _reader(mine), _reader(stock)
    leaves = list(ours.leaf_readers())
    assert len(leaves) == 2
    for (leaf, _), (ref, _) in zip(leaves, theirs.leaf_readers(), strict=True):
        assert _assert_same_terms(leaf, ref) > 5000


def test_the_whole_index_agrees_with_whooshs(both):
    """Over both segments (Whoosh's MultiReader merges their answers)."""
    mine, stock = both
    ours, theirs = _reader(mine), _reader(stock)
    terms = list(theirs.all_terms())
    assert list(ours.all_terms()) == terms
    for fieldname, btext in terms[::7]:
        assert term_stats(ours.term_info(fieldname, btext)) == \
            term_stats(theirs.term_info(fieldname, btext))
        assert ours.doc_frequency(fieldname, btext) == theirs.doc_frequency(fieldname, btext)
        assert ours.frequency(fieldname, btext) == theirs.frequency(fieldname, btext)
    for fieldname in FUZZY_FIELDS:
        words = list(islice(theirs.field_terms(fieldname), 0, 400, 40))
        for word in ["نفط", "الاقتصاد", "تركيا", *words]:
            assert sorted(ours.terms_within(fieldname, word, 2, 1)) == \
                sorted(theirs.terms_within(fieldname, word, 2, 1))
        assert ours.most_frequent_terms(fieldname, 20, b"") == \
            theirs.most_frequent_terms(fieldname, 20, b"")
