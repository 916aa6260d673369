"""A segment's stored fields: each document compressed alone, with a
dictionary trained on the segment's own documents.

Why: Whoosh 3 pickles each document's stored fields and compresses them
alone, so what articles share (field names, sources, paths, the words and
phrases of the news) is compressed again in every document.  Compressing
documents together in blocks shares it, but then reading one hit means
decompressing its block's documents before it, and the search box reads ten
hits from ten blocks.  A zstandard dictionary trained on the segment's first
documents (as Lucene's stored fields use a preset dictionary) holds what they
share once; each document is then compressed alone against it, so a hit is
read by decompressing that document only, and the file is smaller than with
blocks.  zstandard (the ``zstandard`` package) because zlib's preset
dictionary is an unanalysed window of text, not one trained on the
documents, and zstd decompresses several times faster.

It is written by the codec's per-document writer (``DocValuesWriter``,
indexer/docvalues.py), so documents added, merged or rewritten by
``--update`` are stored the same way, and read by the codec's per-document
reader (``StoredFieldsReader``), through which Whoosh's searcher
(``stored_fields``, ``document``, ``all_stored_fields``) and its merges read
them.  Named like the segment's files (``MAIN_<id>.stored``), so Whoosh
deletes it with its segment.

An array file (indexer/arrayfile.py) holding:

- ``dictionary``: the zstd dictionary (empty: none, for a segment of fewer
  than MIN_TRAIN_DOCS documents, whose documents are compressed plainly);
- ``docs``: each document's stored dict, pickled and compressed alone as a
  zstd frame with its content checksum: a damaged document is reported as
  a damaged index, never read as another document;
- ``doc_ends`` (uint64): where each document's frame ends in ``docs``.
"""

from __future__ import annotations

import os
import pickle
import threading
from array import array

import numpy as np
import zstandard
from whoosh.codec.whoosh3 import W3PerDocReader

from indexer.arrayfile import ArrayFile, ArrayFileError, ArrayFileWriter
from indexer.store import IndexDamaged

EXTENSION = ".stored"
KIND = "stored fields"
VERSION = 2

#: zstd's level; the dictionary's size, and the documents it is trained
#: on (the segment's first ones, held until then); segments of fewer than
#: MIN_TRAIN_DOCS documents (an update's few articles) get no dictionary.
#: The trade-offs are measured in docs/performance.md.
LEVEL = 3
DICT_BYTES = 65_536
TRAIN_DOCS = 1_000
MIN_TRAIN_DOCS = 50
#: A scan lets go of the pages it has read every RELEASE_BYTES.
RELEASE_BYTES = 8 * 2**20
#: zstd's COVER training parameters (segment and d-mer sizes), given so
#: that training is one pass, not a search over them.
TRAIN_K, TRAIN_D = 256, 8
_PICKLE = pickle.HIGHEST_PROTOCOL


class StoredFieldsWriter:
    """Collects documents' stored dicts in order: the first TRAIN_DOCS are
    held until the dictionary is trained on them, the rest compressed as they
    come; ``close`` writes the file's index and footer."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self._out = ArrayFileWriter(path, KIND, VERSION).__enter__()
        self._held: list[bytes] | None = []  # None once the dictionary is made
        self._compressor: zstandard.ZstdCompressor | None = None
        self._dictionary = b""
        self._size = 0
        self._ends = array("Q")

    def add(self, fields: dict) -> None:
        """Store the next document's fields (``{}`` for a document without any)."""
        data = pickle.dumps(fields, _PICKLE)
        self.count += 1
        if self._held is None:
            self._write(data)
            return
        self._held.append(data)
        if len(self._held) >= TRAIN_DOCS:
            self._start()

    def _start(self) -> None:
        """Train the dictionary on the held documents, then write them."""
        held, self._held = self._held or [], None
        if len(held) >= MIN_TRAIN_DOCS:
            try:
                self._dictionary = zstandard.train_dictionary(
                    DICT_BYTES, held, k=TRAIN_K, d=TRAIN_D).as_bytes()
            except zstandard.ZstdError:  # samples zstd cannot learn from: no dictionary
                self._dictionary = b""
        self._compressor = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=_dictionary(self._dictionary), write_checksum=True,
            write_content_size=True, write_dict_id=False)
        for data in held:
            self._write(data)

    def _write(self, data: bytes) -> None:
        frame = self._compressor.compress(data)
        self._out.extend("docs", frame)
        self._size += len(frame)
        self._ends.append(self._size)

    def close(self) -> None:
        if self._held is not None:
            self._start()
        out = self._out
        out.put("dictionary", np.frombuffer(self._dictionary, dtype=np.uint8), "u1")
        if not self.count:
            out.put("docs", np.empty(0, dtype=np.uint8), "u1")
        out.put("doc_ends", np.frombuffer(self._ends, dtype=np.uint64), "<u8")
        out.meta.update(count=self.count, compression="zstd")
        out.__exit__(None, None, None)


def _dictionary(data: bytes) -> zstandard.ZstdCompressionDict | None:
    return zstandard.ZstdCompressionDict(data) if data else None


class StoredFields:
    """A segment's stored fields file, memory-mapped.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete stored fields file of this version, and ``IndexDamaged`` for a
    document whose frame is damaged."""

    def __init__(self, path: str):
        self.path = path
        self._file = ArrayFile(path, KIND, VERSION)
        self.count: int = self._file.meta["count"]
        self._docs = self._file.array("docs")
        self._ends = self._file.array("doc_ends")
        if len(self._ends) != self.count:
            raise ArrayFileError(f"{path}: {len(self._ends)} documents of {self.count}")
        self._dictionary = _dictionary(self._file.array("dictionary").tobytes())
        # A decompressor is not to be used by two threads at once (zstandard's
        # documentation): each serving thread gets its own.
        self._local = threading.local()

    def document(self, docnum: int) -> dict:
        """Document ``docnum``'s stored fields (a new dict)."""
        docnum = int(docnum)
        if not 0 <= docnum < self.count:
            raise IndexError(f"document {docnum} of {self.count}")
        start = int(self._ends[docnum - 1]) if docnum else 0
        frame = self._docs[start:int(self._ends[docnum])]
        try:
            fields = pickle.loads(self._decompressor().decompress(frame))
        except (zstandard.ZstdError, pickle.UnpicklingError, EOFError, ValueError,
                TypeError) as exc:
            raise IndexDamaged(f"{self.path}: document {docnum}: {exc}") from exc
        if not isinstance(fields, dict):
            raise IndexDamaged(f"{self.path}: document {docnum} is not a dict")
        return fields

    def scan(self):
        """(document number, stored fields) of every document in order, for
        a pass over the whole segment (the completions of a build): the
        pages read are let go of as it goes, so that a million articles'
        stored text is never resident at once."""
        base, released = self._file.offset("docs"), 0
        for docnum in range(self.count):
            yield docnum, self.document(docnum)
            end = int(self._ends[docnum])
            if end - released >= RELEASE_BYTES:
                self._file.release(base + released, base + end)
                released = end

    def _decompressor(self) -> zstandard.ZstdDecompressor:
        found = getattr(self._local, "decompressor", None)
        if found is None:
            found = self._local.decompressor = zstandard.ZstdDecompressor(
                dict_data=self._dictionary)
        return found


class StoredFieldsReader(W3PerDocReader):
    """Whoosh 3's per-document reader, the stored fields read from the
    segment's block file (opened when a document is first asked for)."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._stored_path = stored_path(storage.folder, segment)
        self._stored = None

    def stored_fields(self, docnum):
        if self._stored is None:
            try:
                self._stored = StoredFields(self._stored_path)
            except (OSError, ArrayFileError, ValueError, KeyError) as exc:
                raise IndexDamaged(f"{self._stored_path}: {exc}") from exc
        return self._stored.document(docnum)


def stored_path(folder: str, segment) -> str:
    """Where ``segment``'s stored fields file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))
