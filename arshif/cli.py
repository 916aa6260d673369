"""The ``arshif`` command: one click group; each package adds its subcommands."""

from __future__ import annotations

import click

from arshif import __version__
from indexer.commands import index_command, stats_command
from search.commands import search_command
from search.evaluate import eval_command
from web.commands import serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arshif")
def main():
    """arshif: search Arabic news archives (أرشيف)."""


main.add_command(index_command)
main.add_command(stats_command)
main.add_command(search_command)
main.add_command(eval_command)
main.add_command(serve_command)
