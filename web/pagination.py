"""Which page numbers a results page links to."""

from __future__ import annotations

from search.backend import MAX_PAGE

WINDOW = 2  # pages shown on each side of the current one


def page_links(page: int, pages: int) -> list[int | None]:
    """Pages to link, in order; None marks a gap ("…").

    Always the first and last page, and a window around the current one;
    never past the engine's deepest page, which it would refuse.
    """
    last = min(pages, MAX_PAGE)
    if last <= 1:
        return []
    wanted = {1, last, *range(max(1, page - WINDOW), min(last, page + WINDOW) + 1)}
    out: list[int | None] = []
    for n in sorted(wanted):
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def last_page(pages: int) -> int:
    return min(pages, MAX_PAGE)
