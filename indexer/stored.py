"""A segment's stored fields, compressed in blocks of consecutive documents.

Why: Whoosh 3 pickles each document's stored fields and compresses them
alone, so what articles share (field names, sources, paths, the words and
phrases of the news) is compressed again in every document; the stored
fields were the largest part of the index.  Compressed together, a block of
documents holds what they share once, as Lucene's stored fields do.

It is written by the codec's per-document writer (``DocValuesWriter``,
indexer/docvalues.py), so documents added, merged or rewritten by
``--update`` are stored the same way, and read by the codec's per-document
reader (``StoredFieldsReader``), through which Whoosh's searcher
(``stored_fields``, ``document``, ``all_stored_fields``) and its merges read
them.  Named like the segment's files (``MAIN_<id>.stored``), so Whoosh
deletes it with its segment.

An array file (indexer/arrayfile.py) holding:

- ``blocks``: the compressed blocks one after the other; each is a zlib
  stream of its documents' stored dicts, each pickled alone, one after the
  other;
- ``block_ends`` (uint64): where each block ends in ``blocks``;
- ``block_first`` (uint64): each block's first document;
- ``block_crc`` (uint32): each compressed block's CRC-32, checked before it
  is decompressed: a damaged block is reported as a damaged index, never
  read as other documents;
- ``doc_ends`` (uint32): where each document's pickle ends in its block's
  decompressed bytes.

A block is closed as soon as its pickles reach BLOCK_BYTES.  Documents are
pickled alone, not as one list, so that a hit is read by decompressing its
block only up to its end and unpickling it alone: a search page reads about
ten hits from ten blocks.  zlib (stdlib) rather than zstandard or lz4: no
new dependency.
"""

from __future__ import annotations

import os
import pickle
import threading
import zlib
from array import array

import numpy as np
from whoosh.codec.whoosh3 import W3PerDocReader

from indexer.arrayfile import ArrayFile, ArrayFileError, ArrayFileWriter
from indexer.store import IndexDamaged

EXTENSION = ".stored"
KIND = "stored fields"
VERSION = 1

#: Pickled bytes a block holds before it is closed.  Larger blocks compress
#: better but make reading one hit slower; the trade-off is measured in
#: docs/performance.md.
BLOCK_BYTES = 32_768
#: zlib's level: the highest one that costs a build no more than Whoosh's
#: per-document compression did (docs/performance.md).
LEVEL = 4
#: Blocks a reader keeps decompressed: consecutive hits and whole-segment
#: reads (merges, ``all_stored_fields``) read a block's documents in turn.
CACHED_BLOCKS = 2
_PICKLE = pickle.HIGHEST_PROTOCOL


class StoredBlocksWriter:
    """Collects documents' stored dicts in order and writes them in blocks
    as they fill; ``close`` writes the file's index and footer."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self._out = ArrayFileWriter(path, KIND, VERSION).__enter__()
        self._pickles: list[bytes] = []
        self._raw = 0  # bytes in _pickles
        self._first = 0
        self._size = 0
        self._ends: list[int] = []
        self._firsts: list[int] = []
        self._crcs: list[int] = []
        self._doc_ends = array("I")

    def add(self, fields: dict) -> None:
        """Store the next document's fields (``{}`` for a document without any)."""
        data = pickle.dumps(fields, _PICKLE)
        self._pickles.append(data)
        self._raw += len(data)
        self._doc_ends.append(self._raw)
        self.count += 1
        if self._raw >= BLOCK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._pickles:
            return
        data = zlib.compress(b"".join(self._pickles), LEVEL)
        self._out.extend("blocks", data)
        self._size += len(data)
        self._ends.append(self._size)
        self._firsts.append(self._first)
        self._crcs.append(zlib.crc32(data))
        self._first = self.count
        self._pickles, self._raw = [], 0

    def close(self) -> None:
        self._flush()
        out = self._out
        if not self._ends:
            out.put("blocks", np.empty(0, dtype=np.uint8), "u1")
        out.put("block_ends", np.array(self._ends, dtype=np.uint64), "<u8")
        out.put("block_first", np.array(self._firsts, dtype=np.uint64), "<u8")
        out.put("block_crc", np.array(self._crcs, dtype=np.uint32), "<u4")
        out.put("doc_ends", np.frombuffer(self._doc_ends, dtype=np.uint32), "<u4")
        out.meta.update(count=self.count, compression="zlib")
        out.__exit__(None, None, None)


class StoredBlocks:
    """A segment's stored fields file, memory-mapped.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete stored fields file of this version, and ``IndexDamaged`` for a
    block whose checksum or content is wrong."""

    def __init__(self, path: str):
        self.path = path
        self._file = ArrayFile(path, KIND, VERSION)
        self.count: int = self._file.meta["count"]
        self._blocks = self._file.array("blocks")
        self._ends = self._file.array("block_ends")
        self._firsts = self._file.array("block_first")
        self._crcs = self._file.array("block_crc")
        self._doc_ends = self._file.array("doc_ends")
        if (not len(self._ends) == len(self._firsts) == len(self._crcs)
                or len(self._doc_ends) != self.count):
            raise ArrayFileError(f"{path}: block arrays of different lengths")
        # Block -> its decompressed bytes, or their beginning up to a hit.
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def document(self, docnum: int) -> dict:
        """Document ``docnum``'s stored fields (a new dict)."""
        docnum = int(docnum)
        if not 0 <= docnum < self.count:
            raise IndexError(f"document {docnum} of {self.count}")
        block = int(np.searchsorted(self._firsts, docnum, side="right")) - 1
        start = int(self._doc_ends[docnum - 1]) if docnum > int(self._firsts[block]) else 0
        end = int(self._doc_ends[docnum])
        raw = self._raw(block, end)
        try:
            fields = pickle.loads(raw[start:end])
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
            raise IndexDamaged(f"{self.path}: document {docnum}: {exc}") from exc
        if not isinstance(fields, dict):
            raise IndexDamaged(f"{self.path}: document {docnum} is not a dict")
        return fields

    def _raw(self, block: int, need: int) -> bytes:
        """At least the first ``need`` decompressed bytes of ``block``.

        A first read decompresses only that much (a hit); a later one that
        needs more decompresses the whole block (a run of documents)."""
        with self._lock:
            raw = self._cache.get(block)
        if raw is not None and len(raw) >= need:
            return raw
        start = int(self._ends[block - 1]) if block else 0
        data = self._blocks[start:int(self._ends[block])]
        if zlib.crc32(data) != int(self._crcs[block]):
            raise IndexDamaged(f"{self.path}: block {block} fails its checksum")
        last = (int(self._firsts[block + 1]) if block + 1 < len(self._firsts)
                else self.count) - 1
        size = need if raw is None else int(self._doc_ends[last])
        try:
            raw = zlib.decompressobj().decompress(data, size)
        except zlib.error as exc:
            raise IndexDamaged(f"{self.path}: block {block}: {exc}") from exc
        if len(raw) != size:
            raise IndexDamaged(f"{self.path}: block {block} is shorter than its documents")
        with self._lock:
            self._cache.pop(block, None)
            while len(self._cache) >= CACHED_BLOCKS:
                del self._cache[next(iter(self._cache))]
            self._cache[block] = raw
        return raw


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
                self._stored = StoredBlocks(self._stored_path)
            except (OSError, ArrayFileError, ValueError, KeyError) as exc:
                raise IndexDamaged(f"{self._stored_path}: {exc}") from exc
        return self._stored.document(docnum)


def stored_path(folder: str, segment) -> str:
    """Where ``segment``'s stored fields file is (or goes)."""
    return os.path.join(folder, segment.make_filename(EXTENSION))
