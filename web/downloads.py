"""The result set as a file: ``/results.csv`` and ``/results.json``.

The same parameters as the search page (q, from, to, source, sort; the page
is ignored): the first ``MAX_EXPORT_ROWS`` results, written by
search/export.py as a stream, so a 10,000-row download starts at once and
is never held in memory whole.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, request, stream_with_context, url_for

from search import export
from web import context
from web.params import BadParam, parse_state

bp = Blueprint("downloads", __name__)
#: Characters of the query kept in the file's name.
NAME_CHARS = 60
TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


@bp.app_context_processor
def export_limit() -> dict:
    """The row limit, for the results page's download links."""
    return {"max_export_rows": export.MAX_EXPORT_ROWS}


def article_link(article_id: str) -> str:
    """The article page's absolute address: a cell is opened outside the site."""
    return url_for("pages.article", article_id=article_id, _external=True)


def attachment(q: str, suffix: str) -> str:
    """A Content-Disposition that saves the file under the query's name
    (RFC 6266: an ASCII name for old clients, the UTF-8 one for the rest)."""
    name = "-".join(q.split())[:NAME_CHARS]
    return (f'attachment; filename="arshif-results.{suffix}"; '
            f"filename*=UTF-8''{quote(f'arshif-{name}.{suffix}', safe='')}")


@bp.get("/results.<any(csv, json):fmt>")
def download(fmt: str):
    state = parse_state(request.args)
    if not state.q:
        raise BadParam("اكتب نص البحث أولًا: لا يُنزَّل إلا ما وجده بحث.", "missing_query", "q")
    # The ranking runs here, before the response starts: a query past its
    # work budget still gets the usual 400 page.
    found = export.rows(context.engine(), state.request(), article_link)
    chunks = export.csv_chunks(found) if fmt == "csv" else export.json_chunks(state.q, found)
    return Response(stream_with_context(chunks), content_type=TYPES[fmt],
                    headers={"Content-Disposition": attachment(state.q, fmt)})
