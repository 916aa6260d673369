"""``arshif serve``: the web app under waitress (Flask's dev server only with --debug)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import tempfile
from pathlib import Path

import click

from arshif.options import backend_option, index_option
from arshif.output import fail
from indexer import store
from search import budget
from search.backend import open_backend
from web import prefork

#: Request threads per worker.  Searching is CPU work, so threads beyond the
#: core count only take turns at the GIL; but a costly request may wait
#: without the CPU (search/budget.py's gate, web/errors.py's refusal pause)
#: and must not leave ordinary searches without a thread.
THREADS = 8
SWITCH_INTERVAL_S = 0.0005

#: Open connections each worker holds at once.  An idle or slow client holds
#: a connection but no thread (waitress reads with one event loop and hands
#: only complete requests to its threads), so connections are cheap; what
#: locks everyone out is reaching this limit, after which a worker stops
#: accepting and new clients wait in the kernel's queue.  Waitress's default
#: (100) let a few hundred idle clients do that.  The limit is per worker
#: because the kernel may hand every connection to one of them.
CONNECTION_LIMIT = 1000
#: Each connection is a file descriptor; the rest (index files, logs, pipes).
FD_RESERVE = 256
#: A connection with no request in progress and no bytes received for this
#: long is closed (an idle keep-alive, or a client that stopped mid-header),
#: checked every CLEANUP_INTERVAL_S.  A client that trickles a header line
#: now and then is not caught by this: a reverse proxy is (deploy/nginx.conf).
CHANNEL_TIMEOUT_S = 30
CLEANUP_INTERVAL_S = 10
#: Every route is GET: a request with a body is refused (413) as soon as its
#: headers announce one, before any of it is read, so no body is ever
#: buffered in memory or in a temporary file.
MAX_REQUEST_BODY = 0


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one).

    Opened here rather than by waitress so that forked workers can share it.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def make_server(app, host: str, port: int, threads: int, sock: socket.socket | None = None,
                connection_limit: int = CONNECTION_LIMIT):
    """A waitress server on ``sock`` or, without one, on a new socket at host:port.

    Kept apart from the command so tests serve through the very same code.
    """
    from waitress import create_server

    sock = sock or listen_socket(host, port)
    return create_server(app, sockets=[sock], threads=threads, ident="arshif",
                         clear_untrusted_proxy_headers=True,
                         connection_limit=connection_limit,
                         channel_timeout=CHANNEL_TIMEOUT_S,
                         cleanup_interval=CLEANUP_INTERVAL_S,
                         max_request_body_size=MAX_REQUEST_BODY,
                         # select() fails on descriptors past 1023, which a
                         # worker with many connections reaches; poll() has
                         # no such limit.
                         asyncore_use_poll=True)


def raise_fd_limit(connections: int = CONNECTION_LIMIT) -> int:
    """Raise this process's soft limit on open files (inherited by the
    workers) to what ``connections`` need, within the hard limit; return the
    number of connections that fit.

    The usual soft limit (1024) is below what the connection limit needs,
    and an ``accept`` past it fails.
    """
    try:
        import resource
    except ImportError:  # not a Unix: nothing to raise
        return connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(1, min(connections, soft - FD_RESERVE))


def display_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("localhost" if host == "::" else host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@click.command("serve")
@index_option
@backend_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 256), default=THREADS, show_default=True,
              help="Requests each worker process serves at once.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes sharing the port (default: one per core, at most 4).")
@click.option("--debug", is_flag=True,
              help="Flask's development server with the debugger. Never in production.")
def serve_command(home: Path | None, host: str, port: int, threads: int, workers: int | None,
                  debug: bool, target):
    """Serve the search page and the JSON API."""
    from web.app import create_app

    home = home or store.default_home()
    try:
        backend = open_backend(home, target=target)
        generation = backend.summary()["generation"]  # fail now, not per request
    except store.StoreError as exc:
        fail(str(exc))
    home = backend.home
    # Errors (logged by web.errors) go to stderr with a timestamp.
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if debug:
        app = create_app(backend=open_backend(home, target=target))
        click.echo(f"arshif: DEBUG server (not for production) on {display_url(host, port)}",
                   err=True)
        app.run(host=host, port=port, debug=True, threaded=True, use_reloader=False)
        return
    if workers is None:
        workers = min(prefork.cores(), 4) if prefork.can_fork() else 1
    try:
        sock = listen_socket(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    connections = raise_fd_limit(CONNECTION_LIMIT)
    if connections < CONNECTION_LIMIT:
        logging.getLogger("arshif.serve").warning(
            "the open-file limit allows %d connections per worker, not %d "
            "(raise it with ulimit -n)", connections, CONNECTION_LIMIT)
    shown = display_url(host, sock.getsockname()[1])
    plural = "es" if workers > 1 else ""
    click.echo(f"arshif: serving {home} ({generation}) on {shown} "
               f"({workers} process{plural}; Ctrl-C to stop)")

    def serve(ready=lambda: None) -> None:  # each worker opens the index itself
        # Searching is CPU work that reads files and sockets; every read and
        # send releases the GIL, and a thread waiting to get it back waits
        # out the switch interval (5 ms by default) while another searches.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        server = make_server(create_app(backend=open_backend(home, target=target)), host, port,
                             threads, sock, connection_limit=connections)
        ready()  # for the supervisor: this worker started; its deaths are not start failures
        try:
            server.run()
        finally:
            server.close()

    status = 0
    # One heavy search at a time in the whole server (search/budget.py): the
    # workers lock a file through the descriptor they inherit.  It has no name
    # (or loses it at once), so no stop, however abrupt, leaves it behind.
    with tempfile.TemporaryFile(prefix="arshif-heavy-") as gate:
        budget.GATE.share(gate.fileno())
        try:
            if workers == 1:
                serve()
            else:
                sys.stdout.flush()
                status = prefork.run_workers(serve, workers)
        except KeyboardInterrupt:
            pass
        finally:
            budget.GATE.share(None)
    click.echo("arshif: stopped")
    sys.exit(status)
