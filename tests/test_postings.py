"""The build's word arrays (indexer/postings.py) against plain Python references."""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from unittest import mock

import numpy as np
from hypothesis import given, settings, strategies as st

from indexer.analysis import SECTION_BREAK, ArabicAnalyzer, split_sections
from indexer.postings import (
    MISSING,
    HashTable,
    RankedTerms,
    SurfaceTable,
    TermWords,
    TextStream,
    TokenStream,
    field_postings,
)

# Words that exercise the analyzer: stopwords, clitics, diacritics, tatweel,
# variants that meet in the skeleton view, digits, Latin, an over-long word.
_WORDS = ["في", "من", "وزير", "الوزير", "وزيرة", "بالوزارة", "ليفربول", "ليفيربول",
          "مسؤول", "مسئول", "الْعَرَبِيّةُ", "العـــربية", "داود", "داوود", "2024", "٢٠٢٤",
          "Iran", "هل", "و", "كتب", "الكتاب", "x" * 70]
_TEXTS = st.lists(st.lists(st.sampled_from(_WORDS), max_size=12), min_size=1, max_size=3).map(
    lambda sections: SECTION_BREAK.join(" ".join(words) for words in sections))

BODY = ArabicAnalyzer()
VIEWS = [BODY.view("none"), BODY.view("skeleton")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_TEXTS, min_size=1, max_size=3), min_size=1, max_size=4),
       st.booleans(), st.sampled_from([1, 2, 1024]))
def test_numbered_words_are_the_analyzers(documents, positional, recent):
    """One lookup per word gives ``index_words``'s terms and positions (the
    stream works the positions out when the segment is written); each
    view's terms, derived per distinct word, give its ``index_sections``.
    A document's texts are numbered together; new words join the table's
    hashes every ``recent`` words."""
    table = SurfaceTable(BODY)
    stream = TextStream()
    texts = []
    with mock.patch("indexer.postings.RECENT_WORDS", recent):
        for document in documents:
            for text, numbered in zip(document, table.number(list(map(split_sections, document))),
                                      strict=True):
                assert numbered[2] == len(BODY.index_words(text)[0])
                stream.add(len(texts), numbered)
                texts.append(text)
    ids, docs, positions = stream.arrays(positional)
    assert len(stream) == len(ids)
    view_terms = [view.view_terms(BODY, table.surfaces, table.terms) for view in VIEWS]
    assert BODY.view_terms(BODY, table.surfaces, table.terms) is table.terms
    for docnum, text in enumerate(texts):
        mine = ids[docs == docnum].tolist()
        terms, expected_positions = BODY.index_words(text)
        assert [table.terms[i] for i in mine] == terms
        if positional:
            assert positions[docs == docnum].tolist() == expected_positions
        else:
            assert positions is None
        for view, terms in zip(VIEWS, view_terms, strict=True):
            expected = list(chain.from_iterable(view.index_sections(text)))
            assert [terms[i] for i in mine] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(
    # Keys that share their last bits meet at one slot of a small table.
    st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(0, 40).map(lambda k: k << 20),
              st.integers(-40, 40)).filter(lambda k: k != HashTable.EMPTY),
    st.integers(-2**31, 2**31 - 1), max_size=300), max_size=5),
    st.lists(st.integers(-2**63, 2**63 - 1), max_size=50))
def test_hash_table_holds_what_a_dict_holds(batches, others):
    """Every key added is found with its value, however the keys collide
    and the table grows; every other key is MISSING."""
    table, held = HashTable(slots=16), {}
    for batch in batches:
        batch = {k: v for k, v in batch.items() if k not in held}
        table.add(batch)
        held.update(batch)
        asked = list(held) + [k for k in others if k not in held and k != HashTable.EMPTY]
        found = table.get(np.array(asked, dtype=np.int64)).tolist()
        assert found == [held.get(k, MISSING) for k in asked]
    assert table.size == len(held) <= HashTable.LOAD * len(table.keys)


def _reference(docs_terms: list[tuple[int, list, list[int]]]) -> dict:
    """term bytes -> [(doc, [positions])], by dicts."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for doc, terms, positions in docs_terms:
        for term, pos in zip(terms, positions, strict=True):
            if term == "":
                continue
            key = term.encode() if isinstance(term, str) else term
            out[key][doc].append(pos)
    return {t: sorted((d, p) for d, p in by_doc.items()) for t, by_doc in out.items()}


_TERMS = st.sampled_from(["ب", "أ", "a", "ab", "", b"", b"\x00\x01", b"z"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.lists(_TERMS, max_size=6)), max_size=8),
       st.lists(st.tuples(st.integers(0, 6), st.lists(_TERMS, max_size=4)), max_size=4),
       st.booleans())
def test_field_postings_equal_a_dict_reference(first, merged, positional):
    """Two sources (a field's own words, and postings merged from another
    segment in any document order): sorted by term bytes then document,
    positions in order, "" (no term) dropped, b"" kept."""
    sources, docs_terms = [], []
    for words in (first, merged):
        if not words:
            continue
        table = TermWords(positional=positional)
        for doc, terms in words:
            positions = list(range(len(terms)))
            table.add(doc, terms, positions if positional else None)
            docs_terms.append((doc, terms, positions))
        sources.append((RankedTerms.of(table.terms()), table.stream))
    postings = field_postings(sources, positional=positional)
    expected = _reference(docs_terms)
    assert postings.terms == sorted(expected)
    assert (postings.positions is not None) == positional
    for i, term in enumerate(postings.terms):
        start, end = int(postings.starts[i]), int(postings.starts[i + 1])
        assert postings.docs[start:end].tolist() == [d for d, _ in expected[term]]
        assert postings.freqs[start:end].tolist() == [len(p) for _, p in expected[term]]
        if positional:
            assert [postings.positions[int(postings.pos_starts[k]):int(postings.pos_starts[k + 1])]
                    .tolist() for k in range(start, end)] == [p for _, p in expected[term]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6),
                          st.lists(st.sampled_from(["ب", "أ", "a", "ab", "", "\uffff", "\U0001f600",
                                                    "\u00e9", "z\u0300"]), max_size=6)),
                max_size=8))
def test_terms_given_as_str_are_sorted_by_their_utf8_bytes(words):
    """An analyzed field's terms are str: they are ranked in str order,
    which must be the order of their UTF-8 bytes (Whoosh's)."""
    table = TermWords(positional=False)
    for doc, terms in words:
        table.add(doc, terms)
    postings = field_postings([(RankedTerms.of(table.terms()), table.stream)], positional=False)
    expected = _reference([(doc, terms, list(range(len(terms)))) for doc, terms in words])
    assert postings.terms == sorted(expected)
    for i, term in enumerate(postings.terms):
        start, end = int(postings.starts[i]), int(postings.starts[i + 1])
        assert postings.docs[start:end].tolist() == [d for d, _ in expected[term]]


def test_no_words_at_all():
    postings = field_postings([], positional=True)
    assert postings.terms == [] and postings.starts.tolist() == [0]
    assert postings.positions.size == 0
    empty = TokenStream(positional=False)
    assert field_postings([(RankedTerms.of([]), empty)], positional=False).docs.size == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.lists(st.integers(0, 500), min_size=1,
                                                          max_size=4)), max_size=10))
def test_runs_added_at_once_equal_words_added_one_posting_at_a_time(postings):
    """A merge adds a term's postings in one call (TokenStream.add_runs)."""
    one, bulk = TokenStream(True), TokenStream(True)
    for doc, positions in postings:
        one.add(doc, [7] * len(positions), positions)
    docs = np.array([doc for doc, _ in postings], dtype=np.int64)
    counts = np.array([len(p) for _, p in postings], dtype=np.int64)
    flat = np.array([x for _, p in postings for x in p], dtype=np.int64)
    bulk.add_runs(7, docs, counts, flat)
    for name in ("ids", "run_docs", "run_lengths", "positions"):
        assert getattr(one, name) == getattr(bulk, name)
    assert one.in_doc_order == bulk.in_doc_order

