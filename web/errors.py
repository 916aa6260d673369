"""Every failure becomes an Arabic page (or JSON under /api), never a traceback.

Bad parameters are 400s, unknown articles and pages 404s, a missing index a
503 that says how to build it, and anything else a logged, generic 500.
Under /api an error is ``{"error": <Arabic text>, "code": <stable name>}``:
clients show the text and compare the code.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from indexer.store import StoreError
from search.backend import MAX_QUERY_CHARS, SearchError
from search.budget import QueryTooCostly, ServerBusy
from web.params import BadParam, parse_state

log = logging.getLogger(__name__)

MESSAGES = {
    400: "طلب غير صالح.",
    404: "الصفحة أو المقال غير موجود.",
    405: "هذه الطريقة غير مسموح بها هنا.",
    500: "حدث خطأ غير متوقع. نعتذر، حاول مرة أخرى بعد قليل.",
    503: "البحث غير متاح الآن: لم يُبنَ الفهرس بعد.",
}
#: A query past its work budget (search/budget.py): what to change.
TOO_COSTLY = "هذا البحث يتطلب عملًا أكثر مما يُسمح به لطلب واحد: قلّل علامات * و~ أو عدد الكلمات."
#: A refused costly query is answered after this pause, which holds a server
#: thread but no CPU: a client that repeats such a query as fast as it can
#: then costs the server a refusal every half second, not a core.
REFUSAL_PAUSE_S = 0.5
#: Another costly search runs (search/budget.py's gate): come back shortly.
BUSY = "يجري الآن بحث مكلف آخر، فلم يُنفَّذ هذا البحث. أعد المحاولة بعد لحظات."
#: Seconds a client is asked to wait before trying a refused heavy search again.
BUSY_RETRY_AFTER = 1
#: The ``code`` of an error that has no more precise one.
CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "server_error",
         503: "no_index"}
TITLES = {400: "طلب غير صالح", 404: "غير موجود", 405: "طريقة غير مسموحة",
          500: "خطأ في الخادم", 503: "الخدمة غير متاحة"}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str, detail: str = "", code: str | None = None):
    """An error as JSON ``{"error": ..., "code": ...}`` for the API, else an Arabic page."""
    if _wants_json():
        return jsonify({"error": message, "code": code or CODES.get(status, "error")}), status
    try:
        state = parse_state(request.args)
    except BadParam:
        state = parse_state({"q": request.args.get("q", "")[:MAX_QUERY_CHARS]})
    html = render_template("error.html", status=status, title=TITLES.get(status, "خطأ"),
                           message=message, detail=detail, state=state)
    return html, status


def _bad_param(exc: BadParam):
    return error_response(400, str(exc), code=exc.code)


def _search_error(exc: SearchError):
    # The engine's own checks (page, dates...): normally caught by params first.
    return error_response(400, MESSAGES[400], detail=str(exc), code=exc.code)


def _too_costly(exc: QueryTooCostly):
    time.sleep(REFUSAL_PAUSE_S)
    return error_response(400, TOO_COSTLY, code="too_costly")


def _busy(exc: ServerBusy):
    body, status = error_response(503, BUSY, code="busy")
    return body, status, {"Retry-After": str(BUSY_RETRY_AFTER)}


def _no_index(exc: StoreError):
    log.warning("index unavailable: %s", exc)
    return error_response(503, MESSAGES[503], detail=str(exc))


def _http_error(exc: HTTPException):
    status = exc.code or 500
    body, status = error_response(status, MESSAGES.get(status, exc.name))
    # The exception's own headers say how to recover: a 405 must name the
    # methods the resource allows (RFC 9110, 15.5.6).  Its Content-Type is
    # that of werkzeug's page, not of ours.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return body, status, headers


def _unexpected(exc: Exception):
    if current_app.debug:
        raise exc  # let the debugger show it (arshif serve --debug only)
    log.exception("unexpected error on %s %s", request.method, request.full_path)
    return error_response(500, MESSAGES[500])


def register(app) -> None:
    app.register_error_handler(BadParam, _bad_param)
    app.register_error_handler(SearchError, _search_error)
    app.register_error_handler(QueryTooCostly, _too_costly)
    app.register_error_handler(ServerBusy, _busy)
    app.register_error_handler(StoreError, _no_index)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
