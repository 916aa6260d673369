"""The OpenSearch description (``/opensearch.xml``): lets a browser add the
archive as a search engine of its address bar (every page links to it)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

bp = Blueprint("opensearch", __name__)
CONTENT_TYPE = "application/opensearchdescription+xml; charset=utf-8"


@bp.get("/opensearch.xml")
def description():
    return Response(render_template("opensearch.xml"), content_type=CONTENT_TYPE)
