"""arshif's Whoosh codec: Whoosh 3's, with the flat fields in the flat file.

A segment written by ``indexer.segment.ArshifWriter`` keeps each indexed
field's terms and postings only in its flat posting file (indexer/flat.py),
written from numpy arrays in one pass; that file's sorted term arrays are
the field's term dictionary.  Whoosh's term index (``.trm``) holds no term
of those fields: only its field numbers (every field written gets one, in
name order) and, under FLAT_FIELDS_KEY in its extras, which fields are flat.
A field arshif does not write itself goes through Whoosh 3 unchanged.

The terms reader below answers every question Whoosh's reader asks about a
flat field from the flat file: membership, the term listing merged in
Whoosh's key order (field number, then term bytes) with the other fields'
terms, cursors (fuzzy terms, prefix expansion), document frequencies (read
from the posting offsets), the term statistics (computed from the term's
postings and the segment's field lengths when asked) and matchers.  Whoosh's
searcher, ``more like this`` key terms, spelling suggestions and merges
work unchanged.

The per-document writer also writes the segment's doc values
(indexer/docvalues.py) and its stored fields in compressed blocks
(indexer/stored.py), which the per-document reader reads.  The codec is
pickled in the index's table of contents, so its class name and module must
stay.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.base import FieldCursor
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3TermInfo, W3TermsReader
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.system import pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length

from indexer.arrayfile import ArrayFileError
from indexer.docvalues import DocValues, DocValuesWriter, docvalues_path
from indexer.flat import FlatPostings, flat_path
from indexer.store import IndexDamaged
from indexer.stored import StoredFieldsReader

#: Key, in the term index's extras, of the fields whose terms and postings
#: are in the flat file.
FLAT_FIELDS_KEY = "arshif_flat_fields"

#: Whoosh's field number for a field the segment does not have: its keys
#: sort after every field's.
_NO_FIELD = 65535


class ArshifCodec(W3Codec):
    def per_document_writer(self, storage, segment):
        return DocValuesWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        return StoredFieldsReader(storage, segment)

    def field_writer(self, storage, segment):
        return ArshifFieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        tiname = segment.make_filename(self.TERMS_EXT)
        tilen = storage.file_length(tiname)
        tifile = storage.open_file(tiname)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        return ArshifTermsReader(self, tifile, tilen, postfile,
                                 getattr(storage, "folder", None), segment)


class ArshifFieldWriter(W3FieldWriter):
    """Whoosh 3's field writer, plus whole fields whose terms and postings
    go to the flat file."""

    def add_flat_field(self, fieldname: str, fieldobj) -> None:
        """Register a flat field: it takes its field number, in the order
        fields are written (Whoosh's key order), and is listed as flat; none
        of its terms is written here."""
        self.start_field(fieldname, fieldobj)
        self.finish_field()
        self._tindex.extras.setdefault(FLAT_FIELDS_KEY, []).append(fieldname)


class ArshifTermsReader(W3TermsReader):
    """Whoosh 3's terms reader; the flat fields are read from the flat file."""

    def __init__(self, codec, dbfile, length, postfile, folder, segment):
        super().__init__(codec, dbfile, length, postfile)
        self._flat_fields = frozenset(self._tindex.extras.get(FLAT_FIELDS_KEY, ()))
        # Whoosh numbers fields 0, 1, ... as they are written.
        self._by_number = sorted(self._fieldmap, key=self._fieldmap.get)
        self._folder = folder
        self._segment = segment
        self._flat = None
        self._docvalues = None

    # -- the term dictionary -------------------------------------------------
    def __contains__(self, term):
        fieldname, tbytes = term
        if fieldname not in self._flat_fields:
            return super().__contains__(term)
        return self._flat_postings().find(fieldname, tbytes) is not None

    def _number(self, fieldname: str, tbytes: bytes) -> int:
        """The term's number in the flat file; KeyError when absent (what
        Whoosh's term index raises, and its reader turns into "no term")."""
        number = self._flat_postings().find(fieldname, tbytes)
        if number is None:
            raise KeyError(f"{fieldname}:{tbytes!r}")
        return number

    def _walk(self, fieldname: str, tbytes: bytes, infos: bool):
        """((fieldname, term bytes), its term info or None) from the key
        (fieldname, tbytes) on, in Whoosh's key order: field number, then
        bytes (a field the segment lacks sorts after every field)."""
        first = self._fieldmap.get(fieldname, _NO_FIELD)
        for name in self._by_number[first:]:
            start = tbytes if self._fieldmap[name] == first else b""
            if name in self._flat_fields:
                yield from self._flat_walk(name, start, infos)
            else:
                yield from self._stored_walk(name, start, infos)

    def _flat_walk(self, name: str, start: bytes, infos: bool):
        flat = self._flat_postings()
        number = flat.seek(name, start)
        for term in flat.terms(name, number):
            yield (name, term), (self._flat_info(name, number) if infos else None)
            number += 1

    def _stored_walk(self, name: str, start: bytes, infos: bool):
        """A field's entries in Whoosh's term index."""
        prefix = pack_ushort(self._fieldmap[name])
        if infos:
            entries = self._tindex.items_from(prefix + start)
        else:
            entries = ((key, None) for key in self._tindex.keys_from(prefix + start))
        for key, value in entries:
            if not key.startswith(prefix):
                return
            yield (name, key[len(prefix):]), (None if value is None
                                              else W3TermInfo.from_bytes(value))

    def _walk_all(self, infos: bool):
        return self._walk(self._by_number[0], b"", infos) if self._by_number else iter(())

    def terms(self):
        return (term for term, _ in self._walk_all(False))

    def terms_from(self, fieldname, prefix):
        return (term for term, _ in self._walk(fieldname, prefix, False))

    def items(self):
        return self._walk_all(True)

    def items_from(self, fieldname, prefix):
        return self._walk(fieldname, prefix, True)

    def cursor(self, fieldname, fieldobj):
        if fieldname not in self._flat_fields:
            return super().cursor(fieldname, fieldobj)
        return FlatFieldCursor(self, self._flat_postings(), fieldname, fieldobj)

    # -- statistics ----------------------------------------------------------
    def term_info(self, fieldname, tbytes):
        if fieldname not in self._flat_fields:
            return super().term_info(fieldname, tbytes)
        number = self._flat_postings().find(fieldname, tbytes)
        if number is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return self._flat_info(fieldname, number)

    def frequency(self, fieldname, tbytes):
        if fieldname not in self._flat_fields:
            return super().frequency(fieldname, tbytes)
        flat = self._flat_postings()
        total = flat.frequency_at(fieldname, self._number(fieldname, tbytes))
        return _as_stored(total * flat.boost(fieldname))

    def doc_frequency(self, fieldname, tbytes):
        if fieldname not in self._flat_fields:
            return super().doc_frequency(fieldname, tbytes)
        return self._flat_postings().doc_frequency_at(fieldname,
                                                      self._number(fieldname, tbytes))

    def _flat_info(self, fieldname: str, number: int) -> W3TermInfo:
        docs, weights = self._flat_postings().postings_at(fieldname, number)
        return self._info_of(fieldname, docs, weights)

    def _info_of(self, fieldname: str, docs: np.ndarray, weights: np.ndarray) -> W3TermInfo:
        """The term info Whoosh's writer would have stored for these
        postings: its weights as 32-bit floats, its field lengths as the
        one-byte codes of the segment's lengths (Whoosh's own codes, kept in
        the doc values), the first and last document."""
        codes = self._doc_values().length_codes(fieldname)[docs]
        return W3TermInfo(_as_stored(weights.sum()), len(docs),
                          byte_to_length(int(codes.min())), byte_to_length(int(codes.max())),
                          _as_stored(weights.max()), int(docs[0]), int(docs[-1]))

    # -- postings ------------------------------------------------------------
    def matcher(self, fieldname, tbytes, format_, scorer=None):
        if fieldname not in self._flat_fields:
            return super().matcher(fieldname, tbytes, format_, scorer=scorer)
        flat = self._flat_postings()
        number = flat.find(fieldname, tbytes)
        if number is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        docs, weights = flat.postings_at(fieldname, number)
        terminfo = self._info_of(fieldname, docs, weights)
        if flat.has_positions(fieldname):
            values = _EncodedValues(format_, weights, flat.all_positions(fieldname, tbytes))
        else:
            values = _EncodedValues(format_, weights)
        return ListMatcher(docs.tolist(), weights.astype(np.float64).tolist(), values,
                           format_, scorer=scorer, term=(fieldname, tbytes), terminfo=terminfo)

    # -- the segment's arshif files ------------------------------------------
    def _flat_postings(self) -> FlatPostings:
        if self._flat is None:
            path = flat_path(self._folder, self._segment)
            try:
                self._flat = FlatPostings(path)
            except (OSError, ArrayFileError, ValueError) as exc:
                raise IndexDamaged(f"{path}: {exc}") from exc
        return self._flat

    def _doc_values(self) -> DocValues:
        if self._docvalues is None:
            path = docvalues_path(self._folder, self._segment)
            try:
                self._docvalues = DocValues(path)
            except (OSError, ArrayFileError, ValueError, KeyError) as exc:
                raise IndexDamaged(f"{path}: {exc}") from exc
        return self._docvalues


def _as_stored(value) -> float:
    """A weight as Whoosh's term info stores it (a 32-bit float)."""
    return float(np.float32(value))


class FlatFieldCursor(FieldCursor):
    """A cursor over a flat field's sorted terms, as Whoosh 3's field cursor
    walks its term index (Whoosh's fuzzy terms and ``terms_within`` step it
    with ``find`` and ``text``): it stands on a term, or past the last one
    (not valid, ``text()`` None)."""

    def __init__(self, reader: ArshifTermsReader, flat: FlatPostings, fieldname: str,
                 fieldobj):
        self._reader = reader
        self._flat = flat
        self._fieldname = fieldname
        self._fieldobj = fieldobj
        self._count = flat.term_count(fieldname)
        self._at = 0
        self._term = None
        self._go(0)

    def _go(self, number: int):
        self._at = number
        self._term = (self._flat.term_at(self._fieldname, number)
                      if number < self._count else None)
        return self.text()

    def first(self):
        return self._go(0)

    def find(self, term):
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        return self._go(self._flat.seek(self._fieldname, term))

    def next(self):
        return self._go(self._at + 1) if self._term is not None else None

    def term(self):
        """The current term's bytes (None past the end)."""
        return self._term

    def text(self):
        return None if self._term is None else self._fieldobj.from_bytes(self._term)

    def term_info(self):
        if self._term is None:
            return None
        return self._reader.term_info(self._fieldname, self._term)

    def is_valid(self):
        return self._term is not None


class _EncodedValues:
    """A posting list's Whoosh values (encoded positions or frequency), made
    only for the postings a matcher is asked about: Whoosh's own searches
    (phrases, ``more like this``) read few of them."""

    def __init__(self, format_, weights: np.ndarray, positions=None):
        self._format = format_
        self._weights = weights
        self._positions = positions  # (pos_starts, positions) of the term, or None

    def __len__(self) -> int:
        return len(self._weights)

    def __bool__(self) -> bool:
        return True  # ListMatcher.value() tests the list's truth

    def __getitem__(self, i: int) -> bytes | None:
        if i >= len(self._weights):
            raise IndexError(i)
        if self._positions is not None:
            starts, positions = self._positions
            return self._format.encode(positions[starts[i]:starts[i + 1]].tolist())
        if not self._format.posting_size:  # Existence: Whoosh stores no value
            return None
        # Whoosh's Frequency format: the count as an unsigned int.
        return pack_uint(round(float(self._weights[i]) / (self._format.field_boost or 1)))
