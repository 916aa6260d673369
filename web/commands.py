"""``arshif serve``: the web app under waitress (Flask's dev server only with --debug)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from indexer import store
from indexer.commands import index_option
from search.engine import Engine

EXIT_ERROR = 2


def _fail(message: str) -> None:
    click.echo(f"arshif: {message}", err=True)
    sys.exit(EXIT_ERROR)


def make_server(app, host: str, port: int, threads: int):
    """A waitress server bound to host:port (port 0 picks a free one).

    Kept apart from the command so tests serve through the very same code.
    """
    from waitress import create_server

    return create_server(app, host=host, port=port, threads=threads, ident="arshif",
                         clear_untrusted_proxy_headers=True)


def display_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("localhost" if host == "::" else host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@click.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests served at once.")
@click.option("--debug", is_flag=True,
              help="Flask's development server with the debugger. Never in production.")
def serve_command(home: Path | None, host: str, port: int, threads: int, debug: bool):
    """Serve the search page and the JSON API."""
    from web.app import create_app

    home = home or store.default_home()
    engine = Engine(home)
    try:
        generation = engine.generation()  # opens the index: fail now, not per request
    except store.StoreError as exc:
        _fail(str(exc))
    app = create_app(engine=engine)
    # Errors (logged by web.errors) go to stderr with a timestamp.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if debug:
        click.echo(f"arshif: DEBUG server (not for production) on {display_url(host, port)}", err=True)
        app.run(host=host, port=port, debug=True, threaded=True, use_reloader=False)
        return
    try:
        server = make_server(app, host, port, threads)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    click.echo(f"arshif: serving {home} ({generation}) on "
               f"{display_url(host, server.effective_port)} (Ctrl-C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("arshif: stopped")
    finally:
        server.close()
