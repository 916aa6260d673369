"""Query-string parameters -> ``search.engine.Request``, with Arabic errors.

The URL holds the whole state of a search page (q, page, from, to, source,
sort, per_page), so every link on the page is built from a ``SearchState`` with
one or two values changed.  ``source`` may be given several times
(``source=a&source=b``: articles from any of them).  Validation happens
here, before the engine, so the user gets a message in their language rather
than the engine's English one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from indexer.dates import parse_user_date
from search.backend import MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_CHARS, SORTS, Request

DEFAULT_PER_PAGE = 10
#: Sources in one request: more than any archive's facet lists, few enough
#: to bound the filter's work.
MAX_SOURCES = 50

#: Parameters that make up the state, in the order links spell them.
KEYS = ("q", "from", "to", "source", "sort", "per_page", "page")
DEFAULTS = {"sort": "relevance", "per_page": str(DEFAULT_PER_PAGE), "page": "1"}


class BadParam(ValueError):
    """A request parameter the user must fix: rendered as a 400 in Arabic.

    ``code`` names the problem for programs (the JSON API's ``code``, the
    same names as ``SearchError``'s); ``field`` is the parameter to fix."""

    def __init__(self, message: str, code: str = "bad_request", field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class SearchState:
    """The raw parameters as typed (for links and form values), and parsed."""

    raw: dict = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # every ``source`` parameter, in order, once each
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    date_from: date | None = None
    date_to: date | None = None

    @property
    def q(self) -> str:
        return self.raw.get("q", "")

    @property
    def sort(self) -> str:
        return self.raw.get("sort") or "relevance"

    @property
    def filtered(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources)

    def args(self, **changes) -> dict:
        """Link parameters: this state with ``changes`` (None removes a key;
        ``sources`` replaces the list of sources).

        Any change other than the page goes back to page 1, and defaults are
        left out so URLs stay short.  Several sources are a list (url_for
        repeats the parameter).
        """
        values = dict(self.raw)
        sources = list(changes.pop("sources", self.sources) or ())
        if "page" not in changes:
            values.pop("page", None)
        for key, value in changes.items():
            key = {"date_from": "from", "date_to": "to"}.get(key, key)
            values[key] = "" if value is None else str(value)
        values["source"] = sources if len(sources) > 1 else "".join(sources)
        return {k: values[k] for k in KEYS if values.get(k) and values[k] != DEFAULTS.get(k)}

    def toggled(self, source: str) -> list[str]:
        """The sources with ``source`` added, or removed when it is already one."""
        if source in self.sources:
            return [s for s in self.sources if s != source]
        return [*self.sources, source]

    def replaced(self, source: str, by: str) -> list[str]:
        """The sources with ``source`` replaced by ``by``."""
        return list(dict.fromkeys(by if s == source else s for s in self.sources))

    def request(self) -> Request:
        return Request(q=self.q, page=self.page, per_page=self.per_page,
                       date_from=self.date_from, date_to=self.date_to,
                       sources=self.sources, sort=self.sort)


def _int(raw: dict, key: str, default: int, low: int, high: int, what: str, code: str) -> int:
    text = raw.get(key, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadParam(f"{what} يجب أن يكون رقمًا بين {low} و{high}.", code, key) from None
    if not low <= value <= high:
        raise BadParam(f"{what} يجب أن يكون بين {low} و{high}.", code, key)
    return value


#: The deepest page of a story that can be asked for (the engine refuses
#: any past the story's last).
MAX_STORY_PAGE = 10_000


def story_page_number(args) -> int:
    """The ``page`` of a story page's request (1 when absent)."""
    return _int(_typed(args), "page", 1, 1, MAX_STORY_PAGE, "رقم الصفحة", "bad_page")


def _date(raw: dict, key: str, end: bool, what: str) -> date | None:
    text = raw.get(key, "")
    if not text:
        return None
    try:
        return parse_user_date(text, end=end)
    except ValueError:
        raise BadParam(f"{what} غير مفهوم: اكتبه مثل 2023 أو 2023-09 أو 2023-09-26.",
                       "bad_date", key) from None


def _typed(args) -> dict:
    """Every parameter as typed but ``source``, which may repeat (``_sources``)."""
    return {k: args.get(k, "").strip() for k in KEYS
            if k != "source" and args.get(k, "").strip()}


def _sources(args) -> tuple[str, ...]:
    typed = args.getlist("source") if hasattr(args, "getlist") else [args.get("source", "")]
    return tuple(dict.fromkeys(" ".join(s.split()) for s in typed if s.strip()))


def typed_state(args) -> SearchState:
    """The parameters as typed, none of them parsed: to show the form again
    with what was typed and what to fix."""
    return SearchState(raw=_typed(args), sources=_sources(args))


def parse_state(args) -> SearchState:
    """Read and check the search parameters of a request (``request.args``)."""
    raw = _typed(args)
    sources = _sources(args)
    if len(sources) > MAX_SOURCES:
        raise BadParam(f"عدد المصادر كبير جدًا: الحد الأقصى {MAX_SOURCES} مصدرًا.",
                       "too_many_sources", "source")
    if len(args.get("q", "")) > MAX_QUERY_CHARS:
        raise BadParam(f"نص البحث طويل جدًا: الحد الأقصى {MAX_QUERY_CHARS} حرف.",
                       "query_too_long", "q")
    if raw.get("sort", "relevance") not in SORTS:
        raise BadParam("طريقة الترتيب غير معروفة: اختر الأكثر صلة أو الأحدث أو الأقدم.",
                       "bad_sort", "sort")
    state = SearchState(
        raw=raw,
        sources=sources,
        page=_int(raw, "page", 1, 1, MAX_PAGE, "رقم الصفحة", "bad_page"),
        per_page=_int(raw, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, "عدد النتائج في الصفحة",
                      "bad_per_page"),
        date_from=_date(raw, "from", False, "تاريخ البداية"),
        date_to=_date(raw, "to", True, "تاريخ النهاية"),
    )
    if state.date_from and state.date_to and state.date_from > state.date_to:
        raise BadParam("تاريخ البداية بعد تاريخ النهاية.", "date_order", "from")
    return state

