"""The ``arshif`` command: one click group; each package adds its subcommands."""

from __future__ import annotations

import importlib

import click

from arshif import __version__

#: Each subcommand, where it is defined ("module:name").
SUBCOMMANDS = {
    "eval": "search.evaluate:eval_command",
    "index": "indexer.commands:index_command",
    "search": "search.commands:search_command",
    "serve": "web.commands:serve_command",
    "stats": "indexer.commands:stats_command",
}


class Subcommands(click.Group):
    """A group that imports a subcommand's module when the subcommand runs
    (click's "lazily loading subcommands" pattern).

    Why: each ``arshif search`` is a new process, and importing every
    subcommand (the web app and Flask, the index writer) would be a good
    part of its time before the search starts."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        module, attribute = SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=Subcommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arshif")
def main():
    """arshif: search Arabic news archives (أرشيف)."""
