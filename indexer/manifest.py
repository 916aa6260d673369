"""The owner of a generation's on-disk format: its manifest.

Every published generation holds ``MANIFEST.json``, written last by the
build (docs/format.md):

- ``format`` and ``format_version``: what wrote the folder; a reader of
  another version refuses it (one clear line: rebuild);
- ``settings`` and ``fingerprint``: the index-time choices
  (indexer/settings.py) and a digest of the analysis they give with the
  code that built it; code whose rules or word lists differ refuses the
  index, since its queries would not be analyzed as the text was;
- ``files``: every other file of the generation with its size and CRC-32,
  checked when the index opens, so a missing, truncated or damaged file is
  reported before a query reads it (a file whose size, modification time
  and inode are those recorded in STAMP when its checksum last matched is
  not read again: opening a large index stays cheap);
- what the build read (``summary``, ``sources``, ``built_at``), for
  ``arshif stats`` and ``--update``.

The files themselves are Whoosh's (TOC, term index, stored fields,
columns) and arshif's own per-segment array files (indexer/flat.py: the
terms and postings; indexer/docvalues.py).
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import store
from indexer.settings import IndexSettings

NAME = "MANIFEST.json"
#: The files' size, modification time and inode when their checksums last
#: matched: an unchanged file is not read again at every open.
STAMP = "VERIFIED.json"
FORMAT = "arshif-index"
FORMAT_VERSION = 7
_CHUNK = 8 * 2**20


class IndexOutdated(store.StoreError):
    """An index of another format version or analysis: it must be rebuilt."""

    def __init__(self, folder: Path, why: str):
        super().__init__(f"the index in {folder} {why}; rebuild it with: arshif index")


def checksum(path: Path) -> str:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def write(folder: Path, settings: IndexSettings, info: dict) -> None:
    """Describe the finished generation in ``folder`` (its files are final)."""
    files = {p.name: {"size": p.stat().st_size, "crc32": checksum(p)}
             for p in sorted(folder.iterdir())
             if p.is_file() and p.name not in (NAME, STAMP)}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings.as_dict(), "fingerprint": settings.fingerprint(),
        **info, "files": files,
    }
    tmp = folder / (NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, folder / NAME)
    # Just checksummed: the first open need not read the files again.
    _write_stamp(folder, {name: _stat(folder / name) for name in files})


def read(folder: Path) -> dict:
    """The manifest of ``folder``, of this format version; raises
    IndexOutdated or IndexDamaged."""
    try:
        manifest = json.loads((folder / NAME).read_text("utf-8"))
    except FileNotFoundError:
        raise IndexOutdated(folder, "has no manifest (an older arshif built it)") from None
    except (OSError, ValueError) as exc:
        raise store.IndexDamaged(f"{NAME}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise store.IndexDamaged(f"{NAME} is not an arshif manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexOutdated(folder, f"has format version {manifest.get('format_version')}, "
                                    f"this arshif reads version {FORMAT_VERSION}")
    return manifest


def settings_of(manifest: dict) -> IndexSettings:
    try:
        return IndexSettings.from_dict(manifest["settings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise store.IndexDamaged(f"{NAME}: settings: {exc}") from exc


def verify(folder: Path) -> dict:
    """Check the generation in ``folder`` against its manifest: format,
    analysis, and every file's size and checksum; return the manifest."""
    manifest = read(folder)
    if settings_of(manifest).fingerprint() != manifest.get("fingerprint"):
        raise IndexOutdated(folder, "was built with other analysis rules or word lists")
    stamp, seen = _read_stamp(folder), {}
    for name, facts in manifest.get("files", {}).items():
        path = folder / name
        try:
            st = path.stat()
        except OSError:
            raise store.IndexDamaged(f"{name} is missing") from None
        if st.st_size != facts["size"]:
            raise store.IndexDamaged(f"{name} has {st.st_size} bytes, not {facts['size']}")
        seen[name] = _stat(path, st)
        if stamp.get(name) != seen[name] and checksum(path) != facts["crc32"]:
            raise store.IndexDamaged(f"{name} fails its checksum")
    if seen != stamp:
        _write_stamp(folder, seen)
    return manifest


def _stat(path: Path, st: os.stat_result | None = None) -> list[int]:
    st = st or path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _read_stamp(folder: Path) -> dict:
    try:
        stamp = json.loads((folder / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _write_stamp(folder: Path, seen: dict) -> None:
    """Record the verified files; a read-only index is verified at every open."""
    tmp = folder / f"{STAMP}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(seen), "utf-8")
        os.replace(tmp, folder / STAMP)
    except OSError:
        tmp.unlink(missing_ok=True)


def open_index(folder: Path | None, home: Path | None = None):
    """The verified generation in ``folder`` as a (memory-mapped) Whoosh index."""
    if folder is None or not whoosh_index.exists_in(str(folder)):
        where = home or folder
        raise store.NoIndex(f"no index in {where}: build one with `arshif index --index {where}`")
    verify(folder)
    try:
        return store.MappedStorage(str(folder), readonly=True).open_index()
    except Exception as exc:  # Whoosh raises assorted errors on files it cannot read
        raise store.IndexDamaged(f"Whoosh cannot open it: {exc}") from exc


def open_current(home: Path):
    """The live generation of ``home``, verified."""
    return open_index(store.current_dir(home), home)
