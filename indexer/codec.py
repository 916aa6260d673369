"""arshif's Whoosh codec: Whoosh 3's, with the postings in the flat file.

A segment written by ``indexer.segment.ArshifWriter`` keeps its postings
only in its flat posting file (indexer/flat.py), written from numpy arrays
in one pass.  Whoosh's term index (``.trm``) still lists every term with its
statistics (document frequency, weights, lengths), so Whoosh's term listing,
prefix expansion, fuzzy terms, numeric ranges and scoring statistics work as
for any segment; only the posting lists themselves (Whoosh's ``.pst``
blocks, encoded in Python a posting at a time) are not written.  The terms
reader below reads those from the flat file when Whoosh asks for a matcher.

The fields listed under FLAT_FIELDS_KEY in the term index are read so; any
other is read through Whoosh 3.  The per-document writer also writes the
segment's doc values (indexer/docvalues.py).  The codec is pickled in the
index's table of contents, so its class name and module must stay.
"""

from __future__ import annotations

import struct

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3TermsReader
from whoosh.matching import ListMatcher
from whoosh.system import pack_uint, pack_ushort

from indexer.arrayfile import ArrayFileError
from indexer.docvalues import DocValuesWriter
from indexer.flat import FlatPostings, flat_path
from indexer.postings import FieldPostings
from indexer.store import IndexDamaged

#: Key, in the term index's extras, of the fields whose postings are flat.
FLAT_FIELDS_KEY = "arshif_flat_fields"

# Whoosh 3's term info (W3TermInfo._struct "!BfIBBfII", then the posting
# file extent "!qi"), as a numpy record so a field's are packed at once.
_TERM_INFO = np.dtype([
    ("flags", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minlength", "u1"),
    ("maxlength", "u1"), ("maxweight", ">f4"), ("minid", ">u4"), ("maxid", ">u4"),
    ("offset", ">i8"), ("length", ">i4"),
])


# The entry header of Whoosh's ordered hash file (whoosh.filedb.filetables):
# the key's and the value's length.
_ENTRY_LENGTHS = struct.Struct("!ii")


class ArshifCodec(W3Codec):
    def per_document_writer(self, storage, segment):
        return DocValuesWriter(self, storage, segment)

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
    """Whoosh 3's field writer, plus whole fields whose postings are flat."""

    def add_flat_field(self, fieldname: str, fieldobj, postings: FieldPostings,
                       weights: np.ndarray) -> None:
        """Write the term index entries of a field whose postings go to the
        flat file: one term info per term, computed for all terms at once."""
        self.start_field(fieldname, fieldobj)
        stats = postings.term_stats(weights)
        infos = np.zeros(len(postings.terms), dtype=_TERM_INFO)
        for name, values in stats.items():
            infos[name] = values
        prefix = pack_ushort(self._fieldid)
        raw = infos.tobytes()
        size = _TERM_INFO.itemsize
        _add_in_order(self._tindex, [prefix + btext for btext in postings.terms],
                      [raw[i:i + size] for i in range(0, len(raw), size)])
        self.finish_field()
        self._tindex.extras.setdefault(FLAT_FIELDS_KEY, []).append(fieldname)


def _add_in_order(tindex, keys: list[bytes], values: list[bytes]) -> None:
    """``OrderedHashWriter.add`` for many increasing keys at once.

    Whoosh's asks its file for the position of every key (``tell()``: a
    system call); here the positions are counted, and the entries written in
    one call.  Same bytes, same hash buckets and key index.
    """
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError(f"keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    pos = tindex.dbfile.tell()
    hashfn, buckets, index = tindex.hashfn, tindex.buckets, tindex.index
    chunks = []
    for key, value in zip(keys, values, strict=True):
        index.append(pos)
        h = hashfn(key)
        buckets[h & 255].append((h, pos))
        chunks += (_ENTRY_LENGTHS.pack(len(key), len(value)), key, value)
        pos += _ENTRY_LENGTHS.size + len(key) + len(value)
    tindex.dbfile.write(b"".join(chunks))
    tindex.lastkey = keys[-1]


class ArshifTermsReader(W3TermsReader):
    """Whoosh 3's terms reader; the flat fields' matchers come from the flat file."""

    def __init__(self, codec, dbfile, length, postfile, folder, segment):
        super().__init__(codec, dbfile, length, postfile)
        self._flat_fields = frozenset(self._tindex.extras.get(FLAT_FIELDS_KEY, ()))
        self._folder = folder
        self._segment = segment
        self._flat = None

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        if fieldname not in self._flat_fields:
            return super().matcher(fieldname, tbytes, format_, scorer=scorer)
        terminfo = self.term_info(fieldname, tbytes)  # TermNotFound when absent
        flat = self._flat_postings()
        docs, weights = flat.postings(fieldname, tbytes)
        if flat.has_positions(fieldname):
            values = _EncodedValues(format_, weights, flat.all_positions(fieldname, tbytes))
        else:
            values = _EncodedValues(format_, weights)
        return ListMatcher(docs.tolist(), weights.astype(np.float64).tolist(), values,
                           format_, scorer=scorer, term=(fieldname, tbytes), terminfo=terminfo)

    def _flat_postings(self):
        if self._flat is None:
            path = flat_path(self._folder, self._segment)
            try:
                self._flat = FlatPostings(path)
            except (OSError, ArrayFileError, ValueError) as exc:
                raise IndexDamaged(f"{path}: {exc}") from exc
        return self._flat


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
