"""The segment writer of a build: Whoosh's, with the postings as arrays.

``ArshifWriter`` is Whoosh's ``SegmentWriter`` (stored fields, field
lengths, columns, deletions, merges, commit) except for the terms and postings:
every indexed field's words go into arrays (indexer/postings.py) instead of
Whoosh's posting pool, and when the segment is written they become the
segment's flat posting file, the field's only term dictionary (Whoosh's term
index just numbers the field and lists it as flat: indexer/codec.py).
Whoosh's per-posting path (a tuple per posting, pickled, sorted, merged and
block-encoded in Python) would be most of a build.

Analysis is fused: the text fields are split into surface words, each
looked up once in a table of the segment's distinct words (analyzed once
each), and the views of ``body`` (``indexer.schema.body_views``) share its
word stream, their terms derived per distinct word when the segment is
written.  Analyzing the body three times (body, exact forms, skeletons) was
the largest part of a build once the posting pool was gone.

The writer keeps a segment's words in memory until it writes the segment,
so a build writes successive segments of at most SEGMENT_WORDS words
(``SegmentSeries``): its memory is bounded whatever the archive's size.
"""

from __future__ import annotations

import shutil
from itertools import groupby
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from indexer.analysis import split_sections
from indexer.codec import ArshifCodec
from indexer.flat import FlatFile, FlatPostings, flat_path
from indexer.postings import (
    Numbered,
    RankedTerms,
    SurfaceTable,
    TermWords,
    TextStream,
    field_postings,
)
from indexer.schema import body_views

#: Words a build holds before a segment is written and a new one begun (each
#: of ``--jobs N`` workers holds 1/N of them).  A process writing 13M words
#: (both corpora, 57k articles, one segment) peaked at ~1.1 GB; the limit
#: keeps a build near 1.3 GB for any archive.
SEGMENT_WORDS = 16_000_000
#: Values of the fields without positions whose terms a writer keeps (ids
#: and dates seldom repeat: the others come back within a few articles).
VALUE_TERMS_KEPT = 4096


class ArshifWriter(SegmentWriter):
    """A ``SegmentWriter`` over a folder index (``compound=False``: the flat
    file must stay a file of its own, and Whoosh would read a compound
    segment wholly into memory for every searcher)."""

    def __init__(self, ix, **kwargs):
        kwargs["codec"] = ArshifCodec()
        kwargs["compound"] = False
        super().__init__(ix, **kwargs)
        self.folder = ix.storage.folder
        schema = self.schema
        #: Every indexed field (spelling and vectors are not supported).
        self.flat_fields = [name for name, field in schema.items()
                            if field.indexed and not field.separate_spelling()
                            and not field.vector]
        #: View field -> the field whose text and words it shares.
        self.view_of = {name: "body" for name in body_views(schema)
                        if name in self.flat_fields and "body" in self.flat_fields
                        and _analyzed(schema[name]) and _analyzed(schema["body"])}
        self.tables: dict[str, SurfaceTable] = {}  # analyzed field -> its word table
        self.streams: dict[str, TextStream] = {}  # analyzed field (not a view) -> words
        shared: dict = {}
        for name in self.flat_fields:
            field = schema[name]
            if _analyzed(field):
                base = schema[self.view_of.get(name, name)].analyzer
                self.tables[name] = shared.setdefault(base, SurfaceTable(base))
                if name not in self.view_of:
                    self.streams[name] = TextStream()
        #: Fields written from terms: the others, and anything merged in.
        self.term_words: dict[str, TermWords] = {}
        #: (field, value) -> its terms, for the fields without positions:
        #: sources, years, months and file paths repeat from article to
        #: article, and Whoosh's analysis of a value costs more than a look-up.
        self._value_terms: dict[tuple[str, object], list] = {}

    def finish_segment(self):
        """Flush the postings into the segment files; return the segment.

        Not ``commit()``: that would write a TOC listing only this segment,
        and its clean-up deletes the other segments' files.  This is what
        Whoosh's own MpWriter does in its workers with ``multisegment=True``.
        """
        return self._finalize_segment()

    def word_count(self) -> int:
        """Words held in memory so far."""
        return (sum(len(stream) for stream in self.streams.values())
                + sum(len(words.stream) for words in self.term_words.values()))

    def _terms_of(self, name: str) -> TermWords:
        if name not in self.term_words:
            positional = self.schema[name].format.supports("positions")
            self.term_words[name] = TermWords(positional)
        return self.term_words[name]

    def add_document(self, **fields):
        """Whoosh's ``add_document`` (same stored values, lengths and
        columns), the words going to arrays.  Per-document and per-field
        boosts (``_boost`` arguments) are not supported; a view field must
        be given the same text as the field it is a view of."""
        self._check_state()
        extra = [name for name in fields if name.startswith("_")
                 and not name.startswith("_stored_")]
        if extra:
            raise ValueError(f"unsupported arguments: {', '.join(extra)}")
        schema, perdoc, docnum = self.schema, self.perdocwriter, self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        numbered = self._number_texts(fields, names)
        pending = []  # words to keep once the whole document went in
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if name in self.view_of:
                    source = self.view_of[name]
                    if (fields.get(source) is not value and fields.get(source) != value) \
                            or source not in numbered:
                        raise ValueError(f"{name} must be given the text of {source}")
                    length = numbered[source][2]
                elif name in self.streams and isinstance(value, str):
                    text = numbered[name]
                    pending.append((self.streams[name], (text,)))
                    length = text[2]
                elif field.indexed:
                    terms, positions = self._value_words(name, field, value)
                    pending.append((self._terms_of(name), (terms, positions)))
                    length = len(terms)
                stored = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, stored if field.stored else None,
                                 length if field.scorable else 0)
                if field.column_type and stored is not None:
                    perdoc.add_column_value(name, field.column_type,
                                            field.to_column_value(stored))
        except Exception:
            perdoc.cancel_doc()
            raise
        for words, values in pending:
            words.add(docnum, *values)
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _value_words(self, name: str, field, value) -> tuple[list, list[int] | None]:
        """``_whoosh_words`` of a value, looked up for a field without
        positions (its terms are then all there is: never changed by the
        caller)."""
        if field.format.supports("positions"):
            return _whoosh_words(field, value)
        key = (name, value)
        terms = self._value_terms.get(key)
        if terms is None:
            if len(self._value_terms) >= VALUE_TERMS_KEPT:
                self._value_terms.clear()  # the repeated values come back at once
            terms = self._value_terms[key] = _whoosh_words(field, value)[0]
        return terms, None

    def _number_texts(self, fields: dict, names: list[str]) -> dict[str, Numbered]:
        """A document's analyzed texts numbered, by field: each text once (a
        view's text is its field's), those of one word table together."""
        texts = {name: fields[name] for name in names
                 if name in self.streams and isinstance(fields[name], str)}
        by_table: dict[SurfaceTable, list[str]] = {}
        for name in texts:
            by_table.setdefault(self.tables[name], []).append(name)
        numbered = {}
        for table, table_names in by_table.items():
            found = table.number([split_sections(texts[name]) for name in table_names])
            numbered.update(zip(table_names, found, strict=True))
        return numbered

    def add_reader(self, reader):
        """Whoosh's merge of another segment, given each document's exact
        field lengths (counted from its postings) instead of the one-byte
        approximations Whoosh keeps per document: the merged segment's total
        lengths, and so BM25's average length, stay those a build of the
        same documents gives, however often a document is merged."""
        super().add_reader(_ExactLengths(reader, self._exact_lengths(reader)))

    def _exact_lengths(self, reader) -> dict[str, np.ndarray]:
        """Per scorable field, each document's number of words: the sum of
        its postings' frequencies; a view's is its field's (as
        ``add_document`` counts it)."""
        flat = FlatPostings(flat_path(self.folder, reader.segment()))
        count = reader.doc_count_all()
        lengths = {}
        for name in reader.indexed_field_names():
            if (name not in self.flat_fields or name in self.view_of
                    or not self.schema[name].scorable):
                continue
            total = np.zeros(count, dtype=np.int64)
            for _, _, docs, freqs, _ in flat.chunks(name):
                total += np.bincount(docs, weights=freqs, minlength=count).astype(np.int64)
            lengths[name] = total
        for view, source in self.view_of.items():
            if source in lengths:
                lengths[view] = lengths[source]
        return lengths

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """A merge (``--update``): another segment's postings, read from its
        flat file a run of terms at a time (its deleted documents left out:
        ``docmap`` maps the live ones to their new numbers)."""
        flat = FlatPostings(flat_path(self.folder, reader.segment()))
        if docmap is None:
            new_number = startdoc + np.arange(reader.doc_count_all(), dtype=np.int64)
        else:
            new_number = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            new_number[np.fromiter(docmap.keys(), np.int64)] = np.fromiter(docmap.values(),
                                                                             np.int64)
        for name in reader.indexed_field_names():
            if name not in self.flat_fields:
                continue
            words = self._terms_of(name)
            analyzed = _analyzed(self.schema[name])
            positional = words.stream.positions is not None
            for terms, counts, docs, freqs, positions in flat.chunks(name):
                numbers = np.fromiter(
                    (words.ids[t.decode("utf-8") if analyzed else t] for t in terms),
                    dtype=np.uint32, count=len(terms))
                new = new_number[docs]
                kept = new >= 0
                if positional:
                    positions = positions[np.repeat(kept, freqs)]
                words.stream.add_postings(np.repeat(numbers, counts)[kept], new[kept],
                                          freqs[kept], positions if positional else None)

    def _flush_segment(self):
        """Write the flat file and the term index (all fields, in name
        order: Whoosh numbers them in the order they are written)."""
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        # Fields the writer does not hold (none in arshif's schema) went to
        # Whoosh's pool.
        pool_fields = groupby(self.pool.iter_postings(), key=lambda posting: posting[0])
        pool_fields = {name: list(postings) for name, postings in pool_fields}
        ranked: dict = {}  # (table, analyzer) -> the table's words' terms, ranked
        with FlatFile(flat_path(self.folder, self.newsegment)) as flat:
            for name in sorted(set(self.flat_fields) | set(pool_fields)):
                if name in pool_fields:
                    self.fieldwriter.add_postings(self.schema, lengths, pool_fields.pop(name))
                    continue
                field = self.schema[name]
                postings = field_postings(self._sources(name, ranked),
                                          field.format.supports("positions"))
                self.fieldwriter.add_flat_field(name, field)
                flat.add_field(name, postings, float(field.format.field_boost))
        self.streams, self.tables, self.term_words = {}, {}, {}
        self.fieldwriter.close()
        lengths.close()

    def _sources(self, name: str, ranked: dict) -> list:
        """(terms of the numbers, stream) pairs holding a field's words; a
        table's terms are ranked once per analyzer (``ranked``: the fields
        of one analyzer share them)."""
        sources = []
        if name in self.tables:
            table, analyzer = self.tables[name], self.schema[name].analyzer
            key = (table, analyzer)
            if key not in ranked:
                ranked[key] = RankedTerms.of(analyzer.view_terms(table.analyzer, table.surfaces,
                                                                 table.terms))
            sources.append((ranked[key], self.streams[self.view_of.get(name, name)]))
        if name in self.term_words:
            sources.append((RankedTerms.of(self.term_words[name].terms()),
                            self.term_words[name].stream))
        return sources


class _ExactLengths:
    """A segment reader whose ``doc_field_length`` is exact (for a merge)."""

    def __init__(self, reader, lengths: dict[str, np.ndarray]):
        self._reader = reader
        self._lengths = lengths

    def __getattr__(self, name):
        return getattr(self._reader, name)

    def doc_field_length(self, docnum, fieldname, default=0):
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            return self._reader.doc_field_length(docnum, fieldname, default)
        return int(lengths[docnum])


def _analyzed(field) -> bool:
    """Whether the field's words come from arshif's analyzer (terms as str;
    other fields' terms are Whoosh's bytes: ids, dates)."""
    return hasattr(field.analyzer, "view_terms")


def _whoosh_words(field, value) -> tuple[list, list[int] | None]:
    """A value's terms in order and their positions (None for a field
    without positions), by Whoosh's own analysis: ids and dates (bytes), or
    a value arshif's analyzer does not take (str terms)."""
    positional = field.format.supports("positions")
    decode = _analyzed(field)
    terms: list = []
    positions: list[int] | None = [] if positional else None
    for btext, freq, _, vbytes in field.index(value):
        term = btext.decode("utf-8") if decode else btext
        if positional:
            found = field.format.decode_positions(vbytes)
            terms.extend([term] * len(found))
            positions.extend(found)
        else:
            terms.extend([term] * freq)
    return terms, positions


class SegmentSeries:
    """A build's documents written as successive segments of at most
    ``max_words`` words each (``ArshifWriter`` holds a segment's words in
    memory).  The segments are listed in the index by ``publish_segments``;
    Whoosh's write lock is not taken (the build lock keeps builds apart)."""

    def __init__(self, ix, max_words: int | None = None):
        self.ix = ix
        self.max_words = max_words or SEGMENT_WORDS
        self.finished: list = []
        self.writer = ArshifWriter(ix, _lk=False)

    def add_document(self, **fields) -> tuple[int, int]:
        """Add a document; return (its segment's number, its number there)."""
        if self.writer.docnum and self.writer.word_count() >= self.max_words:
            self.finished.append(self.writer.finish_segment())
            self.writer = ArshifWriter(self.ix, _lk=False)
        docnum = self.writer.docnum
        self.writer.add_document(**fields)
        return len(self.finished), docnum

    def finish(self) -> list:
        """Write the last segment; return every segment written."""
        if self.writer.docnum:
            self.finished.append(self.writer.finish_segment())
        return self.finished

    def cancel(self) -> None:
        self.writer.cancel()


def publish_segments(ix, segments: list) -> None:
    """Write a new TOC listing ``segments`` as the index's content, and delete
    every other file of the index (older TOCs, unfinished segments, temp)."""
    generation = ix.latest_generation() + 1
    whoosh_index.TOC(ix.schema, segments, generation).write(ix.storage, ix.indexname)
    whoosh_index.clean_files(ix.storage, ix.indexname, generation, segments)
    shutil.rmtree(Path(ix.storage.folder) / f"{ix.indexname}.tmp", ignore_errors=True)
