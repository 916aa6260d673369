"""Per-document arrays of a segment: field lengths and column values.

Why: BM25F needs every matching document's field length, the date filter
and sort need every document's date, and the facets need every document's
source, year and month.  Whoosh keeps them in its per-document store, read
one value at a time in Python; this file holds them as arrays the search
maps once per generation (search/postings.py).

It is written by the codec's per-document writer (``DocValuesWriter``,
Whoosh 3's writer extended through the codec), so documents added, merged
or rewritten by ``--update`` get theirs the same way; Whoosh's own columns
(field lengths, sortable columns) are still written, for Whoosh's own
reader.  The same writer stores the documents' stored fields in the
segment's .stored file (indexer/stored.py) instead of Whoosh's column of
separately compressed documents.  Named like the segment's files
(``MAIN_<id>.docs``), so Whoosh deletes it with its segment.

An array file (indexer/arrayfile.py) holding:

- ``length/F``: uint8, each document's length in the scorable field ``F``
  as Whoosh's one-byte code (``whoosh.util.numeric.length_to_byte``), 0
  without the field;
- ``number/F``: uint64, each document's value of the numeric column ``F``
  (the date), the column's default without one;
- ``code/F`` and ``vocab/F``, ``vocab_ends/F``: a text column (id, source,
  year, month) as a code per document into its sorted values (UTF-8, the
  empty value for a document without one);
- ``minhash``: uint8, each document's story signature
  (``indexer.minhash.NUM_PERM`` values of ``indexer.minhash.BITS`` bits a
  document, one row after the other), made from its stored body
  (indexer/minhash.py): the grouping of a generation's articles into
  stories reads them.
"""

from __future__ import annotations

import os
from array import array

import numpy as np
from whoosh.codec.whoosh3 import W3PerDocWriter
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer import completions, minhash
from indexer.arrayfile import ArrayFile, ArrayFileWriter
from indexer.stored import StoredFieldsWriter, stored_path

EXTENSION = ".docs"
KIND = "doc values"
VERSION = 3

#: Whoosh's decoding of its one-byte length codes.
BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)


class DocValuesWriter(W3PerDocWriter):
    """Whoosh 3's per-document writer that also keeps the values above and
    writes them as the segment's doc values file when it closes, and
    stores the documents' stored fields in the segment's .stored file (indexer/stored.py)."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self.path = docvalues_path(storage.folder, segment)
        self.count = 0
        self.lengths: dict[str, array] = {}
        self.numbers: dict[str, tuple[array, int]] = {}
        self.texts: dict[str, list] = {}
        #: Story signatures, one per document (indexer/minhash.py), made a
        #: batch at a time from the bodies pending: (document number, body).
        self.signatures: list[np.ndarray] = []
        self._pending: list[tuple[int, str]] = []
        self.stored = StoredFieldsWriter(stored_path(storage.folder, segment))
        self._fields: dict | None = None  # the open document's stored values
        self.headlines: list[str] = []  # for the completions (indexer/completions.py)
        self._headlines_path = completions.headlines_path(storage.folder, segment)

    def start_doc(self, docnum):
        super().start_doc(docnum)
        self.count = docnum + 1
        self._fields = {}

    def finish_doc(self):
        super().finish_doc()
        # Whoosh's close() finishes a document again: store each one once.
        if self._fields is not None:
            self.stored.add(self._fields)
            self.headlines.append(self._fields.get("headline", ""))
            self._fields = None
        if len(self._pending) >= minhash.BATCH:
            self._sign()

    def _sign(self) -> None:
        """The pending bodies' signatures, in document order."""
        found = minhash.signatures([body for _, body in self._pending])
        for (docnum, _), signature in zip(self._pending, found, strict=True):
            _put(self.signatures, docnum + 1, minhash.EMPTY, signature)
        self._pending = []

    def cancel_doc(self):
        super().cancel_doc()
        self._fields = None
        self.count -= 1
        for values in (*self.lengths.values(), *(v for v, _ in self.numbers.values()),
                       *self.texts.values(), self.signatures):
            del values[self.count:]
        self._pending = [(d, body) for d, body in self._pending if d < self.count]

    def add_field(self, fieldname, fieldobj, value, length):
        # The value goes to the .stored file; Whoosh is given none, so it adds
        # nothing to its own stored fields column.
        if value is not None:
            self._fields[fieldname] = value
            if fieldname == minhash.FIELD:
                # From the stored text, which a merge passes too: a document
                # rewritten by --update gets the signature a build gives it.
                self._pending.append((self.count - 1, value))
        if length:  # else Whoosh's writer, given no value, has nothing to do
            super().add_field(fieldname, fieldobj, None, length)
            _put(self.lengths.setdefault(fieldname, array("B")), self.count, 0,
                 length_to_byte(length))

    def add_column_value(self, fieldname, columnobj, value):
        super().add_column_value(fieldname, columnobj, value)
        if fieldname.startswith("_"):
            return  # Whoosh's own columns (stored fields, lengths)
        if isinstance(value, int):
            default = columnobj.default_value()
            # Whoosh's numeric columns hold unsigned 64-bit values (the date:
            # microseconds since year 1; the default is 2**64 - 1).
            values, _ = self.numbers.setdefault(fieldname, (array("Q"), default))
            _put(values, self.count, default, value)
        elif isinstance(value, bytes):
            _put(self.texts.setdefault(fieldname, []), self.count, b"", value)

    def close(self):
        super().close()
        self.stored.close()
        completions.write_headlines(self._headlines_path, self.headlines)
        with ArrayFileWriter(self.path, KIND, VERSION) as out:
            out.meta.update(count=self.count, lengths=sorted(self.lengths),
                            numbers={k: d for k, (_, d) in sorted(self.numbers.items())},
                            texts=sorted(self.texts))
            for name, values in self.lengths.items():
                _pad(values, self.count, 0)
                out.put(f"length/{name}", np.frombuffer(values, dtype=np.uint8), "u1")
            for name, (values, default) in self.numbers.items():
                _pad(values, self.count, default)
                out.put(f"number/{name}", np.frombuffer(values, dtype=np.uint64), "<u8")
            self._sign()
            _pad(self.signatures, self.count, minhash.EMPTY)
            out.meta.update(num_perm=minhash.NUM_PERM, minhash_bits=minhash.BITS)
            out.put("minhash", np.concatenate(self.signatures) if self.signatures
                    else np.zeros(0, dtype=np.uint8), "u1")
            for name, values in self.texts.items():
                _pad(values, self.count, b"")
                vocab = sorted(set(values))
                index = {v: i for i, v in enumerate(vocab)}
                out.put(f"code/{name}", np.fromiter((index[v] for v in values), np.int32,
                                                    count=len(values)), "<i4")
                out.put(f"vocab/{name}", np.frombuffer(b"".join(vocab), dtype=np.uint8), "u1")
                out.put(f"vocab_ends/{name}", np.cumsum([len(v) for v in vocab],
                                                        dtype=np.int64), "<i8")


def _pad(values, count: int, default) -> None:
    if len(values) < count:
        values.extend([default] * (count - len(values)))


def _put(values, docnum: int, default, value) -> None:
    """Set document ``docnum``'s value, the documents before it defaulted."""
    _pad(values, docnum - 1, default)
    if len(values) == docnum:
        values[docnum - 1] = value
    else:
        values.append(value)


class DocValues:
    """A segment's doc values file, memory-mapped.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete doc values file of this version."""

    def __init__(self, path: str):
        self._file = ArrayFile(path, KIND, VERSION)
        meta = self._file.meta
        self.count: int = meta["count"]
        self._numbers: dict[str, int] = meta["numbers"]
        self._texts = frozenset(meta["texts"])
        self._lengths = frozenset(meta["lengths"])
        self._columns: dict[str, tuple] = {}  # text_column's views, made once

    def has_numbers(self, fieldname: str) -> bool:
        return fieldname in self._numbers

    def length_codes(self, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` as Whoosh's one-byte code
        (``BYTE_TO_LENGTH`` gives the length Whoosh's scorer sees)."""
        if fieldname not in self._lengths:
            return np.zeros(self.count, dtype=np.uint8)
        return self._file.array(f"length/{fieldname}")

    def numbers(self, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, present) of a numeric column; absent values hold 0."""
        if fieldname not in self._numbers:
            return np.zeros(self.count, dtype=np.int64), np.zeros(self.count, dtype=bool)
        values = self._file.array(f"number/{fieldname}")
        present = values != np.uint64(self._numbers[fieldname])
        return np.where(present, values, 0).astype(np.int64), present

    def texts(self, fieldname: str) -> tuple[np.ndarray, list[str]]:
        """(code per document, value per code) of a text column."""
        if fieldname not in self._texts:
            return np.zeros(self.count, dtype=np.int32), [""]
        raw = self._file.array(f"vocab/{fieldname}").tobytes()
        ends = self._file.array(f"vocab_ends/{fieldname}").tolist()
        vocab = [raw[a:b].decode("utf-8") for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        return self._file.array(f"code/{fieldname}"), vocab

    def signatures(self) -> np.ndarray:
        """The documents' story signatures, a row each (indexer/minhash.py)."""
        return self._file.array("minhash").reshape(self.count, self._file.meta["num_perm"])

    def text_column(self, fieldname: str) -> tuple[np.ndarray, np.ndarray, memoryview]:
        """A text column as (each document's value number, the values' bounds,
        the values' UTF-8 end to end): value ``n`` is ``raw[bounds[n]:bounds[n
        + 1]]``.  Views of the mapped file, made once: a few documents' values
        are read without decoding the whole vocabulary (ranked ids among a
        million)."""
        column = self._columns.get(fieldname)
        if column is None:
            if fieldname not in self._texts:  # every document's value is ""
                return np.zeros(self.count, dtype=np.int32), np.zeros(2, np.uint64), memoryview(b"")
            column = self._columns[fieldname] = (
                self._file.array(f"code/{fieldname}"),
                # Each value's start beside its end: one gather finds both.
                np.concatenate([[0], self._file.array(f"vocab_ends/{fieldname}")]),
                self._file.array(f"vocab/{fieldname}").data)
        return column

    def text_of(self, fieldname: str, docnums) -> list[str]:
        """The text column's values of a few documents."""
        codes, bounds, raw = self.text_column(fieldname)
        at = codes.take(np.asarray(docnums, dtype=np.int64))
        starts, stops = bounds.take(at).tolist(), bounds.take(at + 1).tolist()
        return [bytes(raw[a:b]).decode("utf-8") for a, b in zip(starts, stops, strict=True)]


def docvalues_path(folder: str, segment) -> str:
    """Where ``segment``'s doc values file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))
