"""How every subcommand speaks to the terminal: English counts, one-line errors, exit codes.

Numbers always carry thousands separators and nouns agree with them, so a
summary reads the same whichever command printed it.
"""

from __future__ import annotations

import sys

import click

#: ``arshif search``: found something, found nothing; every command: the user
#: must fix something (usage, a missing or unreadable index).
EXIT_FOUND, EXIT_NONE, EXIT_ERROR = 0, 1, 2


def number(n: int) -> str:
    """1234 -> '1,234'."""
    return f"{int(n):,}"


def megabytes(n_bytes: int) -> str:
    """3924238012 -> '3,924.2 MB'."""
    return f"{n_bytes / 1e6:,.1f} MB"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 result', '2 results', '1,234 articles' (``plural`` for irregular nouns)."""
    return f"{number(n)} {noun if n == 1 else plural or noun + 's'}"


def fail(message: str) -> None:
    """One line on stderr and exit 2: what the user has to change."""
    click.echo(f"arshif: {message}", err=True)
    sys.exit(EXIT_ERROR)
