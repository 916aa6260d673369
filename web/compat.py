"""Workarounds for engine bugs the web layer hits (reported; remove when fixed).

1. ``search.engine`` bounds each search with Whoosh's ``TimeLimitCollector``,
   which by default arms ``SIGALRM``.  Signals only work in the main thread, so
   every search from a waitress worker thread raised ValueError.  Off the main
   thread we use the same collector with its timer-thread mode instead.
2. ``search.query.parse`` does not guard its fallback parse: a word right after
   '<' or '>' ("<script>", ">x") makes Whoosh's GtLt plugin raise IndexError.
   Such queries are retried without the comparison signs.
"""

from __future__ import annotations

import logging
import re
import threading

from whoosh.collectors import TimeLimitCollector, UnlimitedCollector

import search.engine as engine_module
from indexer.store import StoreError
from search.engine import SearchError

log = logging.getLogger(__name__)
_COMPARISON_RE = re.compile(r"[<>=]")


def install_thread_safe_time_limit() -> None:
    """Make the engine's time limit usable from worker threads (idempotent)."""
    original = engine_module.TimeLimitCollector_
    if getattr(original, "arshif_thread_safe", False):
        return
    probe = original(UnlimitedCollector(), 1.0)
    if not getattr(probe, "use_alarm", False):
        return  # already fixed in search/: nothing to do

    def time_limited(collector, seconds):
        if threading.current_thread() is threading.main_thread():
            return original(collector, seconds)
        return TimeLimitCollector(collector, timelimit=seconds, use_alarm=False)

    time_limited.arshif_thread_safe = True
    engine_module.TimeLimitCollector_ = time_limited


def tolerant(call, q: str):
    """Run ``call(q)``; if the query parser crashed on '<' or '>', retry without them."""
    try:
        return call(q)
    except (SearchError, StoreError):
        raise
    except Exception:
        if not _COMPARISON_RE.search(q):
            raise
        log.warning("query %r crashed the parser; retrying without <, >, =", q[:100])
        return call(_COMPARISON_RE.sub(" ", q))
