"""The JSON API: the same engine calls as the pages, as data.

``/api/search`` answers exactly ``Result.as_dict()`` (what ``arshif search
--json`` prints), so scripts can switch between the two.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from web import context
from web.params import MAX_QUERY_CHARS, BadParam, parse_state, story_page_number

bp = Blueprint("api", __name__)
#: Completions offered under the search box.
SUGGESTIONS = 8


@bp.get("/api/search")
def search():
    state = parse_state(request.args)
    if not state.q:
        raise BadParam("المعامل q (نص البحث) مطلوب.", "missing_query", "q")
    return jsonify(context.search(state.request()).as_dict())


@bp.get("/api/suggest")
def suggest():
    """Completions of the search box's text as typed so far, for
    web/static/suggest.js: ``{"query": q, "suggestions": [{"text", "count"}]}``."""
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise BadParam(f"نص البحث طويل جدًا: الحد الأقصى {MAX_QUERY_CHARS} حرف.")
    found = context.complete(q, SUGGESTIONS)
    return jsonify({"query": q, "suggestions": [{"text": t, "count": n} for t, n in found]})


@bp.get("/api/article/<path:article_id>")
def article(article_id: str):
    art = context.article(article_id, request.args.get("q", "")[:MAX_QUERY_CHARS])
    if art is None:
        abort(404)
    data = art.as_dict()
    data["more_like_this"] = [
        {"id": h.id, "headline": h.headline, "date": h.date, "source": h.source,
         "source_name": h.source_name}
        for h in context.more_like_this(art.id)
    ]
    articles, others = context.same_story(art.id)
    data["same_story"] = {"articles": articles, "others": others}
    return jsonify(data)


@bp.get("/api/story/<path:article_id>")
def story(article_id: str):
    """A page of the whole story of an article: ``StoryPage.as_dict()``."""
    found = context.story(article_id, story_page_number(request.args))
    if found is None:
        abort(404)
    return jsonify(found.as_dict())


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: 200 while the index answers, else 503."""
    return jsonify({"status": "ok", **context.index_summary()})
