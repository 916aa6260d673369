"""The Flask application factory.

``create_app`` wires one long-lived Engine, the pages and the API, the error
handlers and the security headers.  Debug mode stays off unless the caller
turns it on (``arshif serve --debug``).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from search.backend import Backend, open_backend
from web import address_bar, api, downloads, errors, feed, formatting, pages
from web.context import EXTENSION

#: No inline script or style anywhere: all CSS comes from /static.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SafeJSONProvider(DefaultJSONProvider):
    """JSON with Arabic left readable, key order kept (``Result.as_dict()``),
    and ``< > &`` escaped so a response can never be read as HTML."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        text = json.dumps(obj, default=self.default, **kwargs)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def create_app(home: Path | str | None = None, backend: Backend | None = None) -> Flask:
    """The web app over the index at ``home`` (default: $ARSHIF_INDEX or data/index).

    Pass ``backend`` to share one (or a stand-in, in tests).  The index need
    not exist yet: pages answer 503 until ``arshif index`` builds it.
    """
    app = Flask(__name__)
    # Flask turns debug on from FLASK_DEBUG in the environment; only
    # ``arshif serve --debug`` (app.run(debug=True)) may do that.
    app.debug = False
    app.json = SafeJSONProvider(app)
    app.url_map.merge_slashes = False  # article ids may contain "//"
    if backend is None:
        backend = open_backend(home)
    app.extensions[EXTENSION] = backend
    app.config["ARSHIF_HOME"] = str(getattr(backend, "home", ""))
    _register_template_helpers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(feed.bp)
    app.register_blueprint(address_bar.bp)
    errors.register(app)
    app.after_request(_security_headers)
    return app


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _register_template_helpers(app: Flask) -> None:
    app.add_template_filter(formatting.arabic_date, "arabic_date")
    app.add_template_filter(formatting.number, "number")
    app.add_template_filter(formatting.results_phrase, "results_phrase")
    app.add_template_filter(formatting.articles_phrase, "articles_phrase")
    app.add_template_filter(formatting.sources_phrase, "sources_phrase")
    app.add_template_filter(formatting.stories_phrase, "stories_phrase")
    app.add_template_filter(formatting.others_phrase, "others_phrase")
    app.add_template_filter(formatting.seconds, "seconds")
    app.add_template_filter(formatting.ltr_runs, "ltr_runs")
