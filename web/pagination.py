"""Which page numbers a results page links to."""

from __future__ import annotations

WINDOW = 2  # pages shown on each side of the current one


def page_links(page: int, last: int) -> list[int | None]:
    """Pages to link, in order; None marks a gap ("…").

    Always the first page and ``last``, the deepest page that can be opened
    (``Result.last_page``: the engine refuses deeper ones), and a window
    around the current one.
    """
    if last <= 1:
        return []
    wanted = {1, last, *range(max(1, page - WINDOW), min(last, page + WINDOW) + 1)}
    out: list[int | None] = []
    for n in sorted(wanted):
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out
