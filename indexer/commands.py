"""``arshif index`` (the one-off rebuild) and ``arshif stats``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from arshif.options import backend_option, index_option
from arshif.output import count, fail, megabytes, number
from indexer import store
from indexer.decode import MAX_FILE_BYTES, format_size
from indexer.readers.archive import FORMATS
from indexer.sources import DEFAULT_SOURCES, SourcesFileError, read_sources
from indexer.writer import NothingToIndex, Summary, build_index

DEFAULT_ARCHIVE = Path("data/archive")
MAP_FIELDS = ("id", "headline", "body", "date", "source", "keywords")


_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20,
          "G": 2**30, "GB": 2**30}


class Size(click.ParamType):
    """A size in bytes: ``500K``, ``64M``, ``1G`` (powers of 1024) or a number."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper()
        number = text.rstrip("KMGB")
        try:
            size = int(float(number) * _UNITS[text[len(number):]])
        except (ValueError, KeyError):
            self.fail(f"{value!r}: expected a size such as 500K, 64M or 1G", param, ctx)
        if size < 1:
            self.fail(f"{value!r}: must be at least one byte", param, ctx)
        return size


def parse_mapping(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        ours, sep, theirs = value.partition("=")
        if not sep or not theirs or ours not in MAP_FIELDS:
            raise click.BadParameter(
                f"{value!r}: expected FIELD=NAME with FIELD one of {', '.join(MAP_FIELDS)}",
                param_hint="--map",
            )
        mapping[ours] = theirs
    return mapping


class _Progress:
    """A click progress bar on a terminal, plain lines (every 2 s) otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.started = time.perf_counter()
        self.last_line = 0.0
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        if not self.quiet and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label="indexing", file=sys.stderr,
                                         show_pos=True, item_show_func=lambda s: s)
            self.bar.__enter__()

    def file(self, result, summary: Summary) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        rate = summary.indexed / elapsed if elapsed else 0
        if self.bar is not None:
            self.bar.update(1, f"{count(summary.indexed, 'article')}, {rate:,.0f}/s")
        elif not self.quiet and (elapsed - self.last_line >= 2 or self.done == self.total):
            self.last_line = elapsed
            click.echo(f"  {number(self.done)}/{count(self.total, 'file')}, "
                       f"{count(summary.indexed, 'article')}, "
                       f"{rate:,.0f} articles/s", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def format_summary(s: Summary, home: Path, rejects_hint: bool = False) -> str:
    """The human summary of a build; ``rejects_hint`` ends it with how to get
    the list of rejects (a line of its own in the block, not a stray stderr
    line that could run into other output)."""
    kept = ": nothing changed, the live index is kept" if s.unchanged else ""
    lines = [
        f"index:      {home} ({s.generation}){kept}",
        f"files:      {number(s.files)} read"
        + (f", {number(s.files_unchanged)} unchanged" if s.files_unchanged else "")
        + f", {number(s.files_rejected)} rejected",
        f"indexed:    {count(s.indexed, 'article')}"
        + (f" ({number(s.embedded)} from 'read also' blocks)" if s.embedded else "")
        + (f"; {number(s.added)} written by this update" if s.update else ""),
        f"duplicates: {number(s.duplicates)} skipped (same headline and body)",
        f"rejected:   {count(s.records_rejected, 'record')} in otherwise good files",
    ]
    if s.removed:
        lines.append(f"removed:    {count(s.removed, 'article')} of changed, moved or deleted files"
                     " (or now found first in another file)")
    for reason, n in s.reasons.most_common():
        lines.append(f"  - {reason}: {number(n)}")
    lines.append(f"no date:    {count(s.dates_missing, 'article')}"
                 " (missing or unparseable, never guessed)")
    lines.append(f"time:       {s.elapsed:.1f} s, {s.rate:,.0f} articles/s"
                 + (" written" if s.update else ""))
    if rejects_hint and s.report:
        lines.append("details:    rerun with --rejects FILE for the list")
    return "\n".join(lines)


@click.command("index")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@index_option
@backend_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto decides per file by content.")
@click.option("--map", "maps", multiple=True, metavar="FIELD=NAME",
              help="Read FIELD (id, headline, body, date, source, keywords, url, author) "
                   "from column NAME.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes reading, analyzing and writing, each a part of the input "
                   "(--update uses one).")
@click.option("--update", is_flag=True, help="Add new and changed files to the live index.")
@click.option("--shards", type=click.IntRange(1, 1024), default=None,
              help="With --backend opensearch: primary shards of the new index "
                   "(default $ARSHIF_OPENSEARCH_SHARDS, the config file, or 1).")
@click.option("--replicas", type=click.IntRange(0, 16), default=None,
              help="With --backend opensearch: replicas of each shard, made once the "
                   "index is built (default $ARSHIF_OPENSEARCH_REPLICAS, the config "
                   "file, or 0).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rejected files, duplicates and date problems here (JSON Lines).")
@click.option("--max-file-size", "max_file_bytes", type=Size(), default=MAX_FILE_BYTES,
              metavar="SIZE",
              help=f"Report, not read, a file read whole (text, SGML, JSON, CSV) larger than "
                   f"SIZE, and a JSON Lines line larger than SIZE (default "
                   f"{format_size(MAX_FILE_BYTES).replace(' ', '')}).")
@click.option("--follow-symlinks", is_flag=True,
              help="Also read symlinks that lead outside the given folders (reported and "
                   "skipped by default).")
@click.option("--sources", "sources_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Display names of the sources: slug<TAB>name[<TAB>URL] lines "
                   f"(default {DEFAULT_SOURCES} when present).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def index_command(sources, home, fmt, maps, jobs, update, shards, replicas, rejects,
                  max_file_bytes, follow_symlinks, sources_file, as_json, quiet, target):
    """Build the index from archive SOURCES (files or folders; default data/archive).

    The new index is built beside the live one and swapped in only when the
    build succeeded: a crash or Ctrl-C leaves the previous index serving.
    """
    home = home or store.default_home()
    sources = sources or (DEFAULT_ARCHIVE,)
    mapping = parse_mapping(maps)
    if sources_file is None and DEFAULT_SOURCES.is_file():
        sources_file = DEFAULT_SOURCES
    try:
        source_names = read_sources(sources_file) if sources_file else {}
    except SourcesFileError as exc:
        raise click.ClickException(str(exc)) from None
    if rejects:
        try:  # a typo in --rejects should not cost a whole build
            open(rejects, "a", encoding="utf-8").close()
        except OSError as exc:
            raise click.ClickException(
                f"cannot write the rejects file {rejects}: {exc.strerror or exc}"
            ) from None
    if target.kind != "opensearch" and (shards is not None or replicas is not None):
        fail("--shards and --replicas are for --backend opensearch: an embedded index "
             "is one folder")
    progress = _Progress(quiet or as_json)
    try:
        if target.kind == "opensearch":
            if jobs > 1:
                raise click.UsageError("--jobs is not supported with --backend opensearch "
                                       "yet")
            from search.cluster.build import build_cluster_index
            from search.cluster.update import update_cluster_index

            cluster = target.cluster(shards, replicas)
            home = cluster.display()
            build = update_cluster_index if update else build_cluster_index
            summary = build(sources, cluster, fmt=fmt, mapping=mapping,
                            max_file_bytes=max_file_bytes, follow_symlinks=follow_symlinks,
                            on_start=progress.start, on_file=progress.file,
                            source_names=source_names)
        else:
            summary = build_index(sources, home, fmt=fmt, mapping=mapping, jobs=jobs,
                                  update=update, max_file_bytes=max_file_bytes,
                                  follow_symlinks=follow_symlinks, on_start=progress.start,
                                  on_file=progress.file, source_names=source_names)
    except NothingToIndex as exc:
        if rejects and exc.summary is not None:  # why nothing was found
            _write_rejects(rejects, exc.summary, "nothing was published")
        raise click.ClickException(str(exc)) from None
    except store.StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"could not write the index in {home}: {exc.strerror or exc};"
            " the previous index is unchanged"
        ) from None
    finally:
        progress.close()
    if rejects:
        _write_rejects(rejects, summary, f"the index was built ({summary.generation})")
    if as_json:
        payload = {"index": str(home), **summary.as_dict()}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(format_summary(summary, home, rejects_hint=not rejects))


def _write_rejects(path: Path, summary: Summary, outcome: str) -> None:
    """Write the build's report as JSON Lines (``--rejects``)."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            for entry in summary.report:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise click.ClickException(
            f"{outcome} but the rejects file {path} could not be written: {exc.strerror or exc}"
        ) from None


@click.command("stats")
@index_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats_command(home, as_json, target):
    """Show what is in an index: articles, dates, sources, size, analyzer."""
    from search.backend import open_backend

    home = home or store.default_home()
    try:
        stats = open_backend(home, target=target).stats()
    except store.StoreError as exc:
        fail(str(exc))  # as arshif search: exit 2, one line
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    click.echo(f"index:     {stats['path']} ({stats['generation']})")
    click.echo(f"articles:  {number(stats['articles'])}")
    click.echo(f"dates:     {stats['date_min'] or '-'} .. {stats['date_max'] or '-'}"
               f" ({number(stats['undated'])} undated)")
    click.echo(f"size:      {megabytes(stats['size_bytes'])} on disk")
    click.echo(f"analysis:  {stats['fingerprint']}")
    click.echo(f"built:     {stats['built_at'] or '-'}")
    click.echo("sources:")
    names = stats.get("source_names", {})
    for value, n in stats["sources"]:
        shown = f"{names[value]} ({value})" if value in names else value or "(none)"
        click.echo(f"  {number(n):>7}  {shown}")
