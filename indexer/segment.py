"""The segment writer of a build: Whoosh's, with the text postings as arrays.

``ArshifWriter`` is Whoosh's ``SegmentWriter`` (stored fields, field
lengths, columns, deletions, merges, commit) except for the postings: every
indexed field's words go into ``indexer.postings.FieldWords`` arrays
instead of Whoosh's posting pool, and when the segment is written they
become the segment's flat posting file plus term index entries
(indexer/codec.py).  Whoosh's per-posting path (a tuple per posting, pickled,
sorted, merged and block-encoded in Python) was two thirds of a build.

The writer keeps a segment's words in memory until it writes the segment:
8 bytes a word of the positional fields, 4 of the views (the build's peak
is in docs/performance.md).
"""

from __future__ import annotations

from itertools import chain, groupby

from whoosh.writing import SegmentWriter

from indexer.codec import ArshifCodec
from indexer.flat import FlatFile, flat_path
from indexer.postings import FieldWords


class ArshifWriter(SegmentWriter):
    """A ``SegmentWriter`` over a folder index (``compound=False``: the flat
    file must stay a file of its own, and Whoosh would read a compound
    segment wholly into memory for every searcher)."""

    def __init__(self, ix, **kwargs):
        kwargs["codec"] = ArshifCodec()
        kwargs["compound"] = False
        super().__init__(ix, **kwargs)
        self.folder = ix.storage.folder
        self.words = {
            name: FieldWords(positional=field.format.supports("positions"))
            for name, field in self.schema.items()
            if field.indexed and not field.separate_spelling() and not field.vector
        }

    def word_count(self) -> int:
        """Words held in memory so far (all flat fields)."""
        return sum(len(words) for words in self.words.values())

    def add_document(self, **fields):
        """Whoosh's ``add_document`` (same stored values, lengths and
        columns), the flat fields' words going to arrays.  Per-document and
        per-field boosts (``_boost`` arguments) are not supported."""
        self._check_state()
        extra = [name for name in fields if name.startswith("_")
                 and not name.startswith("_stored_")]
        if extra:
            raise ValueError(f"unsupported arguments: {', '.join(extra)}")
        schema, perdoc, docnum = self.schema, self.perdocwriter, self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        pending = []  # the flat fields' words: kept only if the whole document goes in
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if name in self.words:
                    terms, positions = _words(field, value)
                    pending.append((self.words[name], terms, positions))
                    length = len(terms) if field.scorable else 0
                elif field.indexed:
                    for btext, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        self.pool.add((name, btext, docnum, weight, vbytes))
                stored = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdoc.add_column_value(name, field.column_type,
                                            field.to_column_value(stored))
        except Exception:
            perdoc.cancel_doc()
            raise
        for words, terms, positions in pending:
            words.add(docnum, terms, positions)
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """A merge (``--update``): another segment's postings, through the
        reader (flat or Whoosh's blocks, whatever wrote it)."""
        for name in reader.indexed_field_names():
            if name not in self.schema:
                continue
            field, words = self.schema[name], self.words.get(name)
            boost = field.format.field_boost or 1
            for btext in reader.lexicon(name):
                matcher = reader.postings(name, btext)
                term = btext.decode("utf-8") if _analyzed(field) else btext
                while matcher.is_active():
                    docnum = matcher.id()
                    newdoc = docmap[docnum] if docmap is not None else startdoc + docnum
                    if words is None:
                        self.pool.add((name, btext, newdoc, matcher.weight(), matcher.value()))
                    elif words.positions is not None:
                        positions = list(matcher.value_as("positions"))
                        words.add_posting(newdoc, term, len(positions), positions)
                    else:
                        words.add_posting(newdoc, term, round(matcher.weight() / boost))
                    matcher.next()

    def _flush_segment(self):
        """Write the term index (all fields, in name order: Whoosh's order),
        the pool fields' postings, and the flat file."""
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        pool_fields = groupby(self.pool.iter_postings(), key=lambda posting: posting[0])
        pool_fields = {name: list(postings) for name, postings in pool_fields}
        with FlatFile(flat_path(self.folder, self.newsegment)) as flat:
            for name in sorted(set(self.words) | set(pool_fields)):
                if name in self.words:
                    field = self.schema[name]
                    postings = self.words.pop(name).postings(self.docnum, field.scorable)
                    weights = postings.freqs * float(field.format.field_boost)
                    self.fieldwriter.add_flat_field(name, field, postings, weights)
                    flat.add_field(name, postings, weights)
                else:
                    self.fieldwriter.add_postings(self.schema, lengths, pool_fields.pop(name))
        self.fieldwriter.close()
        lengths.close()


def _analyzed(field) -> bool:
    """Whether the field's words come from arshif's analyzer (terms as str;
    other fields' terms are Whoosh's bytes: ids, dates)."""
    return hasattr(field.analyzer, "index_words")


def _words(field, value) -> tuple[list, list[int] | None]:
    """A field value's indexed terms in order, and their positions (None for
    a field without positions)."""
    positional = field.format.supports("positions")
    if isinstance(value, str) and _analyzed(field):
        if positional:
            return field.analyzer.index_words(value)
        return list(chain.from_iterable(field.analyzer.index_sections(value))), None
    # Any other field (ids, dates): Whoosh's own analysis, as bytes.
    terms: list[bytes] = []
    positions: list[int] | None = [] if positional else None
    for btext, freq, _, vbytes in field.index(value):
        if positional:
            found = field.format.decode_positions(vbytes)
            terms.extend([btext] * len(found))
            positions.extend(found)
        else:
            terms.extend([btext] * freq)
    return terms, positions
