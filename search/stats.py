"""What an index holds, for ``arshif stats`` and the web's health check."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from indexer import store
from indexer.writer import read_build_info


def _live_values(reader, field: str) -> Counter:
    """How many live documents hold each value of a sortable field ('' for none).

    Counted from the field's column over ``all_doc_ids`` (the documents not
    deleted): term document frequencies also count the deleted documents an
    ``--update`` or a ``--jobs`` build leaves in their segments.
    """
    if field not in reader.schema or not reader.has_column(field):
        return Counter()
    column = reader.column_reader(field)
    return Counter(column[docnum] for docnum in reader.all_doc_ids())


def index_stats(home: Path) -> dict:
    ix = store.open_current(home)
    gen = store.current_dir(home)
    info = read_build_info(gen)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        by_month = _live_values(reader, "month")
        months = sorted(m for m in by_month if m)
        sources = sorted(_live_values(reader, "source").items(), key=lambda x: (-x[1], x[0]))
        articles = searcher.doc_count()
    return {
        "path": str(home),
        "generation": gen.name,
        "articles": articles,
        "undated": by_month[""],
        "date_min": months[0] if months else None,
        "date_max": months[-1] if months else None,
        "sources": sources,
        "size_bytes": store.disk_size(gen),
        "analyzer": ix.schema["body"].analyzer.version,
        "built_at": info.get("built_at"),
    }
