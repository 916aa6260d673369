"""The browser's address bar: the OpenSearch description document
(``/opensearch.xml``) that lets a browser add the archive as one of its
search engines (every page links to it).  Not the OpenSearch search server,
which is a backend (search/cluster/)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

bp = Blueprint("address_bar", __name__)
CONTENT_TYPE = "application/opensearchdescription+xml; charset=utf-8"


@bp.get("/opensearch.xml")
def description():
    return Response(render_template("opensearch.xml"), content_type=CONTENT_TYPE)
