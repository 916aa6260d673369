"""The sources file: how each source of an archive is named for readers.

Archives name their sources by slugs (SaudiNewsNet's ``aljazirah``,
``3alyoum``; ANT's ``skynews``).  A sources file gives each its Arabic
display name and, optionally, its address, one source a line::

    # slug<TAB>display name[<TAB>URL]
    aljazirah	الجزيرة	https://www.al-jazirah.com

Blank lines and lines starting with ``#`` are skipped.  ``arshif index``
reads it (``--sources FILE``, by default ``data/sources.tsv`` when present)
and keeps the names in the generation's manifest (docs/format.md), so names
change with a rebuild or an update, not per query.  A slug matches the
archive's source value as the source filter does (``source_key``): case,
hamza, ``ى``/``ي``, ``ة``/``ه`` and tashkeel aside.
"""

from __future__ import annotations

from pathlib import Path

from indexer.decode import clean_text
from indexer.normalize import normalize_text

DEFAULT_SOURCES = Path("data/sources.tsv")


class SourcesFileError(ValueError):
    """A sources file that cannot be read: the build stops before it starts."""


def source_key(text: str) -> str:
    """A source name as the source filter compares it: normalized like the
    searched text (indexer/normalize.py), case-folded, spaces collapsed."""
    return " ".join(normalize_text(clean_text(text)).casefold().split())


def read_sources(path: Path) -> dict[str, dict[str, str]]:
    """``{slug: {"name": display name, "url": address or ""}}`` from a sources file."""
    try:
        text = Path(path).read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesFileError(f"cannot read the sources file {path}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    names: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [" ".join(clean_text(cell).split()) for cell in line.split("\t")]
        if len(cells) < 2 or len(cells) > 3 or not cells[0] or not cells[1]:
            raise SourcesFileError(f"{path}, line {number}: expected "
                                   "slug<TAB>display name[<TAB>URL]")
        url = cells[2] if len(cells) == 3 else ""
        if url and not url.startswith(("http://", "https://")):
            raise SourcesFileError(f"{path}, line {number}: the URL must start with "
                                   "http:// or https://")
        key = source_key(cells[0])
        if key in seen:
            raise SourcesFileError(f"{path}, line {number}: {cells[0]!r} is already "
                                   f"named on line {seen[key]}")
        seen[key] = number
        names[cells[0]] = {"name": cells[1], "url": url}
    return names
