"""The web front end: an Arabic search page and a JSON API over ``search.Engine``.

The web layer stays thin: it turns query-string parameters into a
``search.engine.Request`` and renders the ``Result``; all search logic lives in
``search/``.
"""

from web.app import create_app

__all__ = ["create_app"]
