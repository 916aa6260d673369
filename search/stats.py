"""What an index holds, for ``arshif stats`` and the web's health check."""

from __future__ import annotations

from pathlib import Path

from indexer import store
from indexer.writer import read_build_info


def _terms(reader, field: str) -> list[tuple[str, int]]:
    if field not in reader.schema:
        return []
    return [(t.decode("utf-8"), reader.doc_frequency(field, t)) for t in reader.lexicon(field)]


def index_stats(home: Path) -> dict:
    ix = store.open_current(home)
    gen = store.current_dir(home)
    info = read_build_info(gen)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        months = _terms(reader, "month")
        dated = sum(n for _, n in _terms(reader, "year"))
        sources = sorted(_terms(reader, "source"), key=lambda x: (-x[1], x[0]))
        articles = searcher.doc_count()
    return {
        "path": str(home),
        "generation": gen.name,
        "articles": articles,
        "undated": articles - dated,
        "date_min": months[0][0] if months else None,
        "date_max": months[-1][0] if months else None,
        "sources": sources,
        "size_bytes": store.disk_size(gen),
        "analyzer": ix.schema["body"].analyzer.version,
        "built_at": info.get("built_at"),
    }
