"""The result set to take away: its rows as CSV or JSON, written as a stream.

The search page's download links and ``arshif search --format csv|json --all``
write the same bytes: the first ``MAX_EXPORT_ROWS`` articles of a request
(its query, filters and sort; not its page), ranked by the backend's
``ranked_ids`` as the page ranks them.  Rows are produced one at a time, so
an export of 10,000 articles never sits in memory whole: reading each
article's stored fields is most of its cost.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace

from search.backend import Backend, Request, SearchError

#: The most rows one export holds: a large result set's head, at a bounded cost.
MAX_EXPORT_ROWS = 10_000
#: Columns of the CSV, keys of the JSON rows, in this order.
COLUMNS = ("rank", "id", "headline", "date", "source", "score", "link")
#: A byte order mark first, so spreadsheet programs read the CSV as UTF-8 (Arabic).
BOM = "\ufeff"
#: A cell starting with one of these is read as a formula by spreadsheet
#: programs (CSV injection): such cells get a leading apostrophe.  Tab and
#: carriage return start formulas in some of them too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Row:
    rank: int
    id: str
    headline: str
    date: str | None
    source: str
    score: float
    link: str


def rows(backend: Backend, req: Request, link: Callable[[str], str],
         limit: int | None = None) -> Iterator[Row]:
    """The rows of ``req``'s result set, best first: at most ``limit``
    (default and most ``MAX_EXPORT_ROWS``).

    The ranking is done before this returns (a request past its work budget
    raises ``QueryTooCostly`` here, before anything is written); the
    articles are read as the rows are taken.
    """
    limit = MAX_EXPORT_ROWS if limit is None else limit
    if not 1 <= limit <= MAX_EXPORT_ROWS:
        raise SearchError(f"an export holds 1 to {MAX_EXPORT_ROWS} rows")
    req = replace(req, page=1)
    req.check()
    ranked = backend.ranked_ids(req, limit)
    return _read(backend, ranked, link)


def _read(backend: Backend, ranked: list[tuple[str, int, float]],
          link: Callable[[str], str]) -> Iterator[Row]:
    for article_id, rank, score in ranked:
        art = backend.article(article_id)
        if art is None:  # removed by a rebuild published since the ranking
            continue
        yield Row(rank=rank, id=art.id, headline=art.headline, date=art.date,
                  source=art.source, score=score, link=link(art.id))


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(found: Iterable[Row]) -> Iterator[str]:
    """The CSV (BOM, header row, one line per row), a line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield BOM + line(COLUMNS)
    for row in found:
        values = asdict(row)
        # Numbers are ours and never formulas; the text cells come from the archive.
        yield line(values[c] if c in ("rank", "score") else safe_cell(values[c])
                   for c in COLUMNS)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # Arabic left readable


def json_chunks(query: str, found: Iterable[Row]) -> Iterator[str]:
    """``{"query": ..., "hits": [row, ...]}``, a row at a time."""
    yield "{" + f'"query": {_json(query)}, "hits": ['
    for n, row in enumerate(found):
        yield ("," if n else "") + "\n  " + _json(asdict(row))
    yield "\n]}\n"
