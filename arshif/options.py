"""Options shared by the subcommands that open an index: where it is, and
which backend holds it.  Here, not with one subcommand, so that running one
does not import the others (arshif/cli.py loads a subcommand when it runs)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from arshif.output import fail
from indexer import store


def index_option(f):
    """``--index DIR``, shared by every subcommand that opens an index."""
    return click.option(
        "--index",
        "home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Index folder (default: $ARSHIF_INDEX or data/index).",
    )(f)


def backend_option(f):
    """``--backend embedded|opensearch``, ``--url URL[,URL…]`` and ``--config
    FILE`` (or ``$ARSHIF_BACKEND``, ``$ARSHIF_OPENSEARCH_URL``,
    ``$ARSHIF_CONFIG``), given to the command as one ``target``
    (``search.backend.Target``).  The option beats the environment, which
    beats the config file (search/config.py); credentials and TLS options
    come from the environment or the file only (search/cluster/connection.py).
    A config file or cluster setting that cannot be used is one line and exit 2."""
    from search.backend import BACKENDS, Target
    from search.config import read_config

    @functools.wraps(f)
    def command(*args, backend, url, config_file, **kwargs):
        try:
            config = read_config(config_file)
            target = Target(backend or config.backend or "embedded", url, config)
            if target.kind == "opensearch":
                target.cluster()  # bad URLs or counts: before any work starts
        except store.StoreError as exc:
            fail(str(exc))
        return f(*args, target=target, **kwargs)

    command = click.option(
        "--config", "config_file", envvar="ARSHIF_CONFIG", default=None, metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the backend and the cluster's settings from this TOML file "
             "(options and the environment come first).")(command)
    command = click.option(
        "--url", envvar="ARSHIF_OPENSEARCH_URL", default=None, metavar="URL[,URL…]",
        help="With --backend opensearch: the cluster's nodes, comma-separated "
             "(default http://127.0.0.1:9200).")(command)
    return click.option(
        "--backend", envvar="ARSHIF_BACKEND", type=click.Choice(BACKENDS), default=None,
        help="Where the index lives: a folder (embedded, the default), or an OpenSearch "
             "cluster.")(command)
