"""The HTML pages: home, results and article.

Views only read parameters, call the engine and render; what to search and
how to rank lives in ``search/``.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from web import context
from web.pagination import last_page, page_links
from web.params import MAX_QUERY_CHARS, parse_state
from web.timeline import build_timeline

bp = Blueprint("pages", __name__)
MORE_LIKE_THIS = 5


@bp.get("/")
def search():
    """The home page without a query, the results page with one."""
    state = parse_state(request.args)
    canonical = state.args(page=state.page)
    if request.args.to_dict(flat=False) != {
            k: v if isinstance(v, list) else [v] for k, v in canonical.items()}:
        # The plain GET form also sends empty and default fields; a redirect
        # keeps shared and bookmarked URLs short without any JavaScript.
        return redirect(url_for("pages.search", **canonical))
    if not state.q:
        return render_template("home.html", state=state, index=context.index_summary())
    result = context.search(state.request())
    return render_template(
        "results.html", state=state, result=result,
        timeline=build_timeline(result.timeline),
        source_names={f["value"]: f.get("name", f["value"])
                      for f in result.facets.get("source", [])},
        pages=page_links(result.page, result.pages), last_page=last_page(result.pages),
        first=(result.page - 1) * result.per_page + 1,
    )


@bp.get("/article/<path:article_id>")
def article(article_id: str):
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    art = context.article(article_id, q)
    if art is None:
        abort(404)
    parent = context.article(art.parent) if art.parent else None
    return render_template(
        "article.html", article=art, q=q, parent=parent,
        paragraphs=[p for p in art.body_html.split("\n") if p.strip()],
        keywords=[k for k in art.keywords.split("، ") if k.strip()],
        similar=context.more_like_this(art.id, MORE_LIKE_THIS),
        state=parse_state({"q": q}),
    )
