"""``arshif search``: the command-line query tool (and its batch/TREC mode)."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import click

from arshif.options import backend_option, index_option
from arshif.output import EXIT_FOUND, EXIT_NONE, count, fail, number
from indexer import store
from indexer.dates import parse_user_date
from search import evaluate, export, messages
from search.backend import (
    MAX_PAGE,
    MAX_PER_PAGE,
    SORTS,
    Backend,
    Request,
    SearchError,
    open_backend,
)

FORMATS = ("text", "json", "csv")
_MARK_RE = re.compile(r"<mark>(.*?)</mark>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")


def html_to_terminal(fragment: str, color: bool) -> str:
    """Highlight HTML -> terminal text: matches bold (and coloured) on a tty."""
    fragment = " ".join(fragment.split())
    if color:
        fragment = _MARK_RE.sub(lambda m: click.style(m.group(1), fg="yellow", bold=True), fragment)
    else:
        fragment = _MARK_RE.sub(r"\1", fragment)
    return html.unescape(_TAG_RE.sub("", fragment))


def _date_option(name, dest, help_text):
    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return parse_user_date(value, end=dest == "date_to")
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return click.option(name, dest, callback=callback, metavar="DATE", help=help_text)


def run_batch(engine: Backend, queries: Path, run: Path, limit: int) -> int:
    """Run a queries file and write a TREC run file; returns the queries run.

    The file is read by ``arshif eval``'s own reader (``qid<TAB>query``,
    blank and ``#`` lines skipped), so both run the same queries.  A query
    the engine refuses is reported with its reason and ranks nothing.
    """
    texts = evaluate.read_queries(queries)
    ranked, _seconds, refused = evaluate.run_queries(engine.ranked_ids, texts, limit)
    evaluate.write_run(ranked, run)
    for qid, why in refused.items():
        click.echo(f"query {qid} refused: {why}", err=True)
    return len(texts)


@click.command("search")
@click.argument("query", required=False)
@index_option
@backend_option
@click.option("--limit", type=click.IntRange(1, export.MAX_EXPORT_ROWS), default=None,
              help=f"Results per page (default 10, at most {MAX_PER_PAGE}); rows of the result "
                   f"set with --all (default and most {export.MAX_EXPORT_ROWS}); "
                   f"{evaluate.DEPTH} per query with --batch.")
@click.option("--page", type=click.IntRange(1, MAX_PAGE), default=1, show_default=True)
@_date_option("--from", "date_from", "Only articles on or after DATE (2023, 2023-09, 2023-09-26).")
@_date_option("--to", "date_to", "Only articles on or before DATE.")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Only articles from this source (its name or display name, case and "
                   "spelling aside); repeat for several.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="text (default), json (the page as GET /api/search answers it) or csv "
                   "(the result set, as the page's download: implies --all).")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option("--all", "whole", is_flag=True,
              help="The result set (its first --limit rows, up to "
                   f"{export.MAX_EXPORT_ROWS}), not a page: the page's CSV or JSON download.")
@click.option("--base-url", metavar="URL", default="",
              help="With --all: article links under this address (the server's, "
                   "e.g. http://127.0.0.1:5000); by default their paths.")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run every qid<TAB>query line of this file (needs --run).")
@click.option("--run", type=click.Path(dir_okay=False, path_type=Path),
              help="With --batch: write a TREC run file here.")
def search_command(query, home, limit, page, date_from, date_to, sources, sort, fmt, as_json,
                   whole, base_url, batch, run, target):
    """Search the index for QUERY and print ranked, highlighted results.

    Exit status: 0 with results, 1 with none, 2 on a usage or index error.
    """
    if as_json and fmt not in (None, "json"):
        fail("--json is --format json: give one of them")
    fmt = "json" if as_json else fmt or "text"
    whole = whole or fmt == "csv"
    if whole and fmt == "text":
        fail("--all writes CSV or JSON: add --format csv or --format json")
    if whole and page != 1:
        fail("--all writes the result set from its first row: leave out --page")
    home = home or store.default_home()
    try:
        engine = open_backend(home, target=target)
        if batch or run:
            if not (batch and run):
                fail("--batch and --run go together")
            n = run_batch(engine, batch, run, limit or evaluate.DEPTH)
            click.echo(f"{count(n, 'query', 'queries')} -> {run}", err=True)
            return
        if not query or not query.strip():
            fail("give a query, e.g. arshif search 'حفتر روسيا'")
        req = Request(q=query, page=page, per_page=limit or 10, date_from=date_from,
                      date_to=date_to, sources=tuple(sources), sort=sort)
        if whole:
            sys.exit(write_export(engine, req, fmt, limit, base_url))
        result = engine.search(req)
    except store.StoreError as exc:
        fail(str(exc))
    except (SearchError, evaluate.EvalInputError, UnicodeDecodeError) as exc:
        fail(str(exc))
    if result.code == messages.PAST_LAST_PAGE:
        fail(f"page {number(result.page)} is past the last page: "
             f"{count(result.total, 'result')} fill {count(result.pages, 'page')}")
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_result(result, color=sys.stdout.isatty()))
    sys.exit(EXIT_FOUND if result.total else EXIT_NONE)


def write_export(engine: Backend, req: Request, fmt: str, limit: int | None,
                 base_url: str) -> int:
    """Write the result set as the page's download does, row by row; the exit status."""
    base = base_url.rstrip("/")

    def link(article_id: str) -> str:
        return f"{base}/article/{quote(article_id, safe='/')}"

    found = export.rows(engine, req, link, limit)
    counted = _Counted(found)
    chunks = export.csv_chunks(counted) if fmt == "csv" else export.json_chunks(req.q, counted)
    out = sys.stdout.buffer  # the bytes the download has, on any platform
    for chunk in chunks:
        out.write(chunk.encode("utf-8"))
    out.flush()
    return EXIT_FOUND if counted.rows else EXIT_NONE


class _Counted:
    """Rows passed through, counted: the exit status says whether any was found."""

    def __init__(self, rows):
        self._rows, self.rows = rows, 0

    def __iter__(self):
        for row in self._rows:
            self.rows += 1
            yield row


def story_line(story) -> str:
    """The other articles of a hit's story, one line: '+ 2 more: id (source,
    date), ...'."""
    listed = ", ".join(
        f"{o['id']} ({' '.join(x for x in (o['source_name'] or o['source'], o['date']) if x)})"
        for o in story.others)
    rest = story.more - len(story.others)
    return f"+ {story.more} more: {listed}" + (f", and {rest} more" if rest else "")


def format_result(result, color: bool) -> str:
    lines = []
    if result.total:
        first = (result.page - 1) * result.per_page + 1
        last = first + len(result.hits) - 1
        head = (f"{count(result.total, 'article')} in {count(result.stories, 'story', 'stories')} "
                f"({result.took_ms:.0f} ms), showing stories {number(first)}-{number(last)}")
        if result.pages > 1:
            head += f", page {number(result.page)} of {number(result.pages)}"
        if result.last_page < result.pages:
            head += f" (only pages 1-{number(result.last_page)} can be opened: narrow the search)"
        lines.append(head + (" [time limit reached: partial]" if result.partial else ""))
    elif result.code in (None, messages.NO_RESULTS):
        lines.append("no results")
    else:
        lines.append(f"no results: {messages.english(result.code)}")
    for unknown in result.unknown_sources:
        closest = f"; closest: {unknown['closest']}" if unknown["closest"] else ""
        lines.append(f"no source named {unknown['source']!r}{closest}")
    if result.suggestion:
        lines.append(f"did you mean: {result.suggestion}")
    for hit in result.hits:
        lines.append("")
        head = html_to_terminal(hit.headline_html, color) or "(no headline)"
        lines.append(f"{hit.rank:>3}. {head}")
        fields = (hit.date, hit.source_name or hit.source, f"id {hit.id}",
                  f"score {hit.score:.2f}")
        meta = " · ".join(x for x in fields if x)
        lines.append(f"     {meta}")
        lines.append(f"     {html_to_terminal(hit.snippet_html, color)}")
        if hit.story and hit.story.more:
            lines.append(f"     {story_line(hit.story)}")
    return "\n".join(lines)
