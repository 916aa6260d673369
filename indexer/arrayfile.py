"""A file of named numpy arrays: the container of arshif's own segment files.

Why not ``np.savez``: a zip member cannot be memory-mapped in place, and the
search reads these arrays straight from the page cache (several worker
processes share the pages).  Why not Whoosh's structures: they are read a
value at a time in Python.

Layout, all little-endian: the arrays one after the other, each aligned to
8 bytes; then a JSON header (the file's kind and version, each array's
offset, dtype and length, and the writer's own metadata); then the header's
offset and length (two uint64) and MAGIC.  A file is written to the end or
not at all: an abandoned file has no footer and is refused.  Damage inside
the arrays is found by the generation's checksums (indexer/manifest.py).
"""

from __future__ import annotations

import json
import mmap
import struct

import numpy as np

MAGIC = b"ARSHARR1"
_FOOTER = struct.Struct("<QQ8s")


class ArrayFileError(ValueError):
    """Not a complete array file of the expected kind and version."""


class ArrayFileWriter:
    """Writes arrays one at a time, then the header::

        with ArrayFileWriter(path, "flat", 3) as out:
            out.put("body/docs", docs, "<u4")
            out.meta["fields"] = [...]
    """

    def __init__(self, path: str, kind: str, version: int):
        self.path = path
        self.meta: dict = {}
        self._header = {"kind": kind, "version": version, "arrays": {}}
        self._file = None

    def __enter__(self) -> ArrayFileWriter:
        self._file = open(self.path, "wb")
        return self

    def put(self, name: str, values: np.ndarray, dtype: str) -> None:
        """Append ``values`` as ``dtype`` (little-endian), aligned to 8 bytes."""
        fh = self._file
        fh.write(b"\0" * (-fh.tell() % 8))
        array = np.ascontiguousarray(np.asarray(values).astype(dtype, copy=False))
        self._header["arrays"][name] = [fh.tell(), np.dtype(dtype).str, int(array.size)]
        fh.write(memoryview(array).cast("B"))

    def extend(self, name: str, data: bytes) -> None:
        """Append ``data`` to the byte (uint8) array ``name``, begun by the
        first call: an array written a piece at a time, so its whole need
        not be held in memory.  No other array may be put before it ends."""
        arrays = self._header["arrays"]
        if name not in arrays:
            self.put(name, np.empty(0, dtype=np.uint8), "u1")
        elif next(reversed(arrays)) != name:
            raise ValueError(f"{name}: another array was written since it began")
        self._file.write(data)
        arrays[name][2] += len(data)

    def __exit__(self, kind, error, trace) -> None:
        with self._file as fh:
            if kind is None:
                self._header["meta"] = self.meta
                encoded = json.dumps(self._header, ensure_ascii=False).encode("utf-8")
                offset = fh.tell()
                fh.write(encoded)
                fh.write(_FOOTER.pack(offset, len(encoded), MAGIC))


class ArrayFile:
    """An array file, memory-mapped; ``array(name)`` is a read-only view."""

    def __init__(self, path: str, kind: str, version: int):
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if size < _FOOTER.size:
                raise ArrayFileError(f"{path}: too short for an arshif array file")
            self.map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        offset, length, magic = _FOOTER.unpack_from(self.map, size - _FOOTER.size)
        if magic != MAGIC or offset + length > size - _FOOTER.size:
            raise ArrayFileError(f"{path}: not an arshif array file (or cut short)")
        try:
            header = json.loads(self.map[offset:offset + length])
        except ValueError as exc:
            raise ArrayFileError(f"{path}: unreadable header") from exc
        if not isinstance(header, dict) or not isinstance(header.get("arrays"), dict):
            raise ArrayFileError(f"{path}: not an arshif array file header")
        if header.get("kind") != kind or header.get("version") != version:
            raise ArrayFileError(f"{path}: a {header.get('kind')} file of version "
                                 f"{header.get('version')}, not {kind} {version}")
        self.meta = header.get("meta", {})
        self._arrays = header["arrays"]
        for name, (start, dtype, count) in self._arrays.items():
            if start < 0 or count < 0 or start + np.dtype(dtype).itemsize * count > offset:
                raise ArrayFileError(f"{path}: array {name} lies outside the file")

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def array(self, name: str) -> np.ndarray:
        start, dtype, count = self._arrays[name]
        return np.frombuffer(self.map, dtype=dtype, count=count, offset=start)

    def offset(self, name: str) -> int:
        """Where the array ``name`` begins in the file."""
        return self._arrays[name][0]

    def release(self, start: int, end: int) -> None:
        """Let go of the pages of bytes ``start`` to ``end`` of the file that
        this process has read (whole pages only): a pass over a large file
        does not keep it resident.  They stay in the page cache, and are
        read back from there if asked for again."""
        first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
        last = end // mmap.PAGESIZE * mmap.PAGESIZE
        if last > first:
            self.map.madvise(mmap.MADV_DONTNEED, first, last - first)
