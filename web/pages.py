"""The HTML pages: home, results and article.

Views only read parameters, call the engine and render; what to search and
how to rank lives in ``search/``.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from web import context
from web.pagination import page_links
from web.params import MAX_QUERY_CHARS, BadParam, parse_state, story_page_number, typed_state
from web.timeline import build_timeline

bp = Blueprint("pages", __name__)
#: Sources listed on the home page, the largest first (the rest are counted).
HOME_SOURCES = 12
#: Options typed into the form: a mistake there is shown next to the field.
TYPED_OPTIONS = ("from", "to")


@bp.get("/")
def search():
    """The home page without a query, the results page with one."""
    try:
        state = parse_state(request.args)
    except BadParam as exc:
        if exc.field not in TYPED_OPTIONS:
            raise  # the full error page: not something typed in the form
        return render_template("fix_options.html", state=typed_state(request.args),
                               errors={exc.field: str(exc)}), 400
    canonical = state.args(page=state.page)
    if request.args.to_dict(flat=False) != {
            k: v if isinstance(v, list) else [v] for k, v in canonical.items()}:
        # The plain GET form also sends empty and default fields; a redirect
        # keeps shared and bookmarked URLs short without any JavaScript.
        return redirect(url_for("pages.search", **canonical))
    if not state.q:
        return render_template("home.html", state=state, **archive_overview(context.index_stats()))
    result = context.search(state.request())
    return render_template(
        "results.html", state=state, result=result,
        timeline=build_timeline(result.timeline),
        source_names={f["value"]: f.get("name", f["value"])
                      for f in result.facets.get("source", [])},
        pages=page_links(result.page, result.last_page), last_page=result.last_page,
        first=(result.page - 1) * result.per_page + 1,
    )


def archive_overview(stats: dict) -> dict:
    """The home page's account of the archive, from ``Backend.stats``."""
    names = stats.get("source_names", {})
    named = [(names.get(value, value), n) for value, n in stats["sources"] if value]
    return {"index": stats, "sources": named[:HOME_SOURCES], "sources_total": len(named),
            "more_sources": max(0, len(named) - HOME_SOURCES),
            "unsourced": sum(n for name, n in stats["sources"] if not name)}


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
        similar=context.more_like_this(art.id),
        same_story=context.same_story(art.id),
        state=parse_state({"q": q}),
    )


@bp.get("/story/<path:article_id>")
def story(article_id: str):
    """Every article of a story, a page at a time: what a result's list of
    the same news (the first few) leads to."""
    found = context.story(article_id, story_page_number(request.args))
    if found is None:
        abort(404)
    return render_template("story.html", story=found, state=parse_state({}),
                           pages=page_links(found.page, found.pages))
