"""``arshif serve`` as a service: many idle and slow connections, request
bodies, the reverse proxy in front, and the worker supervisor.

Everything runs a real ``arshif serve`` (helpers from tests/test_reliability.py)
on loopback.  Outcomes are reached by events: the test waits until the
workers hold every connection it opened, until a worker says it is waiting at
a hook, until a pid is gone.  Timeouts only stop a test that would hang.  The
scenario functions return their figures for ``scripts/reliability_report.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from indexer.writer import build_index
from test_reliability import (
    HANG_S,
    ROOT,
    Server,
    marker,
    serving,
    wait_for,
    worker_pids,
    write_archive,
)
from web.commands import CONNECTION_LIMIT, MAX_REQUEST_BODY, make_server
from web.prefork import MAX_FAILED_STARTS

LINUX = Path("/proc/self/task").exists()
needs_proc = pytest.mark.skipif(not LINUX, reason="needs Linux /proc")
#: A hang guard for one answer: generous, yet far below waitress's channel
#: timeout, so an answer that only came once a blocking connection timed out
#: still fails the test.
ANSWER_GUARD_S = 10
#: How long the workers may take to accept the connections a test opened or
#: to die after their parent: a hang guard (it takes milliseconds).
EVENT_GUARD_S = 60


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    build_index([write_archive(tmp / "archive", 30, "serving")], tmp / "index")
    return tmp / "index"


def search_ok(server: Server) -> bool:
    """One ordinary client: a new connection, a search, its one hit."""
    status, body = server.get("/api/search?q=" + quote(marker("serving")),
                              timeout=ANSWER_GUARD_S)
    return status == 200 and json.loads(body)["total"] == 1


def _gate_files(pid: int, tmpdir: Path) -> set[str]:
    """The files under ``tmpdir`` that process ``pid`` holds open."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(f"{tmpdir}/"):
                found.add(target)
    return found


@needs_proc
def test_the_workers_share_one_gate_for_heavy_searches(home, tmp_path):
    """search/budget.py lets one heavy search run at a time in the whole
    server: every worker holds the one lock file it inherited (record locks
    belong to the process, so theirs exclude each other: tests/test_budget.py).
    The file has no name, so even a server killed outright leaves nothing
    in the temporary directory."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with serving(home, workers=2, env={"TMPDIR": str(tmpdir)}) as server:
        gates: dict[int, set[str]] = {}

        def both_opened() -> bool:
            gates.clear()
            gates.update({pid: _gate_files(pid, tmpdir) for pid in worker_pids(server.proc.pid)})
            return len(gates) == 2 and all(gates.values())

        assert wait_for(both_opened, EVENT_GUARD_S), gates
        (first, second) = gates.values()
        assert first == second and len(first) == 1
        assert search_ok(server)
        assert list(tmpdir.iterdir()) == []
        server.proc.kill()
        server.proc.wait(HANG_S)
    assert list(tmpdir.iterdir()) == []


# -- connections ------------------------------------------------------------------------------

def _socket_inodes(pid: int) -> set[str]:
    """The socket inodes ``pid`` holds open; none once it has exited (the
    tests kill workers, so it may exit between any two of these reads)."""
    out = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # exited (or never started)
        return out
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def _established_inodes(port: int) -> set[str]:
    """Inodes of the server ends of the established TCP connections to ``port``."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                    out.add(cols[9])
    return out


def accepted(server: Server) -> int:
    """Connections the workers have accepted (those still in the kernel's
    queue are established too, but held by nobody)."""
    held: set[str] = set()
    for pid in worker_pids(server.proc.pid) or {server.proc.pid}:
        held |= _socket_inodes(pid)
    return len(held & _established_inodes(server.port))


@dataclass
class ConnectionFigures:
    idle: int
    slow: int
    keepalive: int
    accepted: int = 0
    answered: int = 0
    probes: int = 0
    latencies_s: list = field(default_factory=list)

    @property
    def max_latency_s(self) -> float:
        return max(self.latencies_s, default=0.0)


def hold_connections(server: Server, idle: int = 170, slow: int = 170, keepalive: int = 160,
                     probes: int = 10) -> ConnectionFigures:
    """Open ``idle`` silent connections, ``slow`` ones that trickle a request's
    header lines and never end it (slowloris), and ``keepalive`` ones that got
    an answer and stay open; once the workers have accepted them all, send
    ``probes`` ordinary searches, trickling one more header line on every slow
    connection between probes."""
    f = ConnectionFigures(idle, slow, keepalive)
    held: list[socket.socket] = []
    try:
        for _ in range(keepalive):
            conn = http.client.HTTPConnection(server.host, server.port, timeout=ANSWER_GUARD_S)
            conn.request("GET", "/healthz")
            assert conn.getresponse().read()
            held.append(conn.sock)  # HTTP/1.1: the connection stays open
        for _ in range(idle):
            held.append(socket.create_connection((server.host, server.port)))
        trickling = []
        for n in range(slow):
            s = socket.create_connection((server.host, server.port))
            s.sendall(f"GET /?q={n} HTTP/1.1\r\nHost: {server.host}\r\n".encode())
            trickling.append(s)
        held += trickling
        wait_for(lambda: accepted(server) >= len(held), EVENT_GUARD_S)
        f.accepted = accepted(server)
        for n in range(probes):
            for s in trickling:
                s.sendall(f"X-Slow-{n}: {n}\r\n".encode())
            started = time.perf_counter()
            try:
                ok = search_ok(server)
            except OSError:  # the hang guard: no answer
                ok = False
            f.latencies_s.append(round(time.perf_counter() - started, 3))
            f.probes += 1
            f.answered += ok
    finally:
        for s in held:
            s.close()
    return f


@needs_proc
@pytest.mark.parametrize("workers", [1, 2])
def test_500_idle_slow_and_keepalive_connections_lock_nobody_out(home, workers):
    with serving(home, threads=2, workers=workers) as server:
        assert search_ok(server)
        f = hold_connections(server)
        assert f.accepted >= 500, f"the workers accepted only {f.accepted} of 500 connections"
        assert f.answered == f.probes, f
        assert search_ok(server)  # and after they are gone
        assert not server.errors(), server.errors()


def _temp_bytes(server: Server, tmpdir: Path) -> int:
    """Bytes in files under ``tmpdir`` (also deleted ones still open by a worker:
    waitress's overflow buffers are unlinked temporary files)."""
    total = sum(p.stat().st_size for p in tmpdir.rglob("*") if p.is_file())
    for pid in worker_pids(server.proc.pid) | {server.proc.pid}:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else ():
            try:
                if os.readlink(fd).startswith(str(tmpdir)) and " (deleted)" in os.readlink(fd):
                    total += os.stat(fd).st_size
            except OSError:
                continue
    return total


def _status_line(sock: socket.socket) -> str:
    sock.settimeout(ANSWER_GUARD_S)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(ANSWER_GUARD_S)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


#: Requests that carry (or announce) a body, as sent before any body byte.
BODIES = {
    "POST, 900 MB announced": b"POST /api/search HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 900000000\r\n\r\n",
    "PUT, 900 MB announced": b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n",
    "GET with a 5-byte body": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "POST, chunked": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\nabcd\r\n",
}


def refused_bodies(server: Server, tmpdir: Path, unfinished: int = 3) -> dict:
    """Each request of BODIES on its own connection, then ``unfinished``
    900 MB POSTs at once that try to send 8 MB each; what the server answered
    and how many bytes its temporary folder holds afterwards."""
    out: dict = {"answers": {}}
    for what, request in BODIES.items():
        with socket.create_connection((server.host, server.port)) as s:
            s.sendall(request)
            try:
                out["answers"][what] = _status_line(s)
            except OSError as exc:
                out["answers"][what] = f"no answer ({exc.__class__.__name__})"
    socks = [socket.create_connection((server.host, server.port)) for _ in range(unfinished)]
    try:
        statuses, sent = [], []
        for s in socks:
            s.sendall(BODIES["POST, 900 MB announced"])
            try:
                statuses.append(_status_line(s))
            except OSError as exc:
                statuses.append(f"no answer ({exc.__class__.__name__})")
        for s in socks:
            n = 0
            try:
                for _ in range(128):  # the server closed the connection: this fails soon
                    n += s.send(b"x" * 65536)
            except OSError:
                pass
            sent.append(n)
        out["unfinished"] = statuses
        out["unfinished_bytes_sent"] = sent
        out["temp_bytes"] = _temp_bytes(server, tmpdir)
    finally:
        for s in socks:
            s.close()
    with socket.create_connection((server.host, server.port)) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        answer = _answer(s)
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    out["empty_post"] = head.split("\r\n", 1)[0]
    allow = re.search(r"(?im)^Allow: (.*)$", head)
    out["empty_post_allow"] = allow.group(1).strip() if allow else None
    return out


@needs_proc
def test_request_bodies_are_refused_not_stored(home, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with serving(home, threads=2, workers=2, env={"TMPDIR": str(tmpdir)}) as server:
        r = refused_bodies(server, tmpdir)
        for what, status in r["answers"].items():
            assert status.startswith("HTTP/1.1 413"), (what, status)
        assert all(s.startswith("HTTP/1.1 413") for s in r["unfinished"]), r
        assert r["temp_bytes"] == 0, r
        # no body: the app itself answers, naming the methods it allows
        assert r["empty_post"].startswith("HTTP/1.1 405"), r
        assert {"GET", "HEAD"} <= {m.strip() for m in r["empty_post_allow"].split(",")}
        assert search_ok(server)
        assert not server.errors(), server.errors()


def test_the_server_is_built_with_its_documented_limits():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        server = make_server(lambda env, start: [], "127.0.0.1", 0, threads=1, sock=s)
        try:
            adj = server.adj
            assert adj.connection_limit == CONNECTION_LIMIT >= 1000
            assert adj.max_request_body_size == MAX_REQUEST_BODY == 0
            assert adj.asyncore_use_poll  # select() cannot watch descriptors past 1023
            assert adj.channel_timeout <= 60
        finally:
            server.close()


# -- supervision ------------------------------------------------------------------------------

def gone(pid: int) -> bool:
    """The process has ended (a zombie, not yet reaped by whoever adopted it, counts)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def hook_lines(server: Server, point: str) -> int:
    # count, not lines: two workers' messages can share a line
    return sum(line.count(f"arshif-test-hook: {point}") for line in server.log)


def restart_on_same_port(home: Path, port: int) -> bool:
    with serving(home, threads=2, workers=2, port=port) as again:
        return again.port == port and search_ok(again)


def kill_parent(home: Path) -> dict:
    """kill -9 of a serving ``arshif serve``; then a new one on the same port."""
    with serving(home, threads=2, workers=2) as server:
        assert wait_for(lambda: len(worker_pids(server.proc.pid)) == 2)
        answered = search_ok(server)
        workers = worker_pids(server.proc.pid)
        started = time.perf_counter()
        server.proc.kill()
        server.proc.wait(HANG_S)
        ended = wait_for(lambda: all(gone(p) for p in workers), EVENT_GUARD_S)
        out = {"answered_before": answered, "workers_ended": ended,
               "workers_ended_after_s": round(time.perf_counter() - started, 3)}
        port = server.port
    out["restart_on_same_port_answers"] = restart_on_same_port(home, port)
    return out


@needs_proc
def test_kill_9_of_the_parent_ends_its_workers_and_frees_the_port(home):
    r = kill_parent(home)
    assert r["answered_before"]
    assert r["workers_ended"], "the workers outlived their parent"
    assert r["restart_on_same_port_answers"]


@needs_proc
def test_a_parent_that_dies_before_a_worker_is_set_up_still_ends_it(home, tmp_path):
    """The race: the parent dies after the fork, before the worker asked to
    die with it.  The workers wait at the ``worker-start`` hook meanwhile."""
    go = tmp_path / "go"
    hook = {"ARSHIF_TEST_HOOK": f"worker-start:wait:{go}"}
    with serving(home, threads=2, workers=2, env=hook) as server:
        assert wait_for(lambda: hook_lines(server, "worker-start wait") == 2, EVENT_GUARD_S)
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 2
        server.proc.kill()
        server.proc.wait(HANG_S)
        go.touch()  # the workers go on, to set up a parent that is already gone
        assert wait_for(lambda: all(gone(p) for p in workers), EVENT_GUARD_S), \
            "a worker outlived its parent"
        port = server.port
    assert restart_on_same_port(home, port)


def _accepted_by(server: Server, pid: int) -> bool:
    return bool(_socket_inodes(pid) & _established_inodes(server.port))


def serve_until_every_worker_answered(server: Server, keep: list) -> set[int]:
    """Searches on kept-open connections until every worker holds one of them
    (so every worker has served); returns the workers' pids."""
    workers: set[int] = set()

    def every_worker_answered() -> bool:
        nonlocal workers
        workers = worker_pids(server.proc.pid)
        if len(workers) == 2 and all(_accepted_by(server, p) for p in workers):
            return True
        conn = http.client.HTTPConnection(server.host, server.port, timeout=ANSWER_GUARD_S)
        try:
            conn.request("GET", "/api/search?q=" + quote(marker("serving")))
            answer = json.loads(conn.getresponse().read())
        except ConnectionError:
            # A connection made while the previous round's killed workers
            # are replaced can be reset (seen once, on a loaded machine), as
            # the search right after a kill may fail (below): ask again.
            conn.close()
            return False
        assert answer["total"] == 1
        keep.append(conn)  # keep-alive: its worker keeps it
        return False

    assert wait_for(every_worker_answered, EVENT_GUARD_S)
    return workers


def kill_workers_repeatedly(home: Path, rounds: int = 8) -> dict:
    """``rounds`` times: once every worker has served, SIGKILL one of them
    (even rounds) or all (odd rounds); then an ordinary search."""
    out: dict = {"rounds": rounds, "killed": 0, "answered_after_kill": 0,
                 "answer_after_kill_s": []}
    with serving(home, threads=2, workers=2) as server:
        for n in range(rounds):
            keep: list = []
            workers = serve_until_every_worker_answered(server, keep)
            victims = workers if n % 2 else {min(workers)}
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            for conn in keep:
                conn.close()
            assert wait_for(lambda v=victims: all(gone(p) for p in v), EVENT_GUARD_S)
            out["killed"] += len(victims)
            started = time.perf_counter()
            # queued on the shared socket until a (new) worker takes it
            with suppress(OSError):
                out["answered_after_kill"] += search_ok(server)
            out["answer_after_kill_s"].append(round(time.perf_counter() - started, 2))
        out["still_running"] = server.proc.poll() is None
        out["workers_at_end"] = len(worker_pids(server.proc.pid))
        out["restarts_logged"] = sum("after it served; starting another" in line
                                     for line in server.log)
        out["gave_up"] = any("cannot start" in line for line in server.log)
    return out


@needs_proc
def test_workers_killed_again_and_again_after_serving_are_replaced(home):
    r = kill_workers_repeatedly(home, rounds=8)  # more kills than failed starts allowed
    assert r["still_running"] and not r["gave_up"], r
    assert r["answered_after_kill"] == r["rounds"], r
    assert r["workers_at_end"] == 2 and r["restarts_logged"] == r["killed"] == 12, r


def workers_killed_at_start(home: Path) -> dict:
    """Every worker is killed at its start (the hook acts once per process,
    and each worker is a new one)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("arshif")), "serve", "--index", str(home),
         "--port", "0", "--workers", "2"],
        capture_output=True, text=True, timeout=HANG_S,
        env={**os.environ, "ARSHIF_TEST_HOOK": "worker-start:kill"})
    last = [line for line in proc.stderr.splitlines() if "arshif.serve" in line]
    return {"exit_code": proc.returncode, "seconds": round(time.perf_counter() - started, 2),
            "failed_starts": proc.stderr.count("before it was ready to serve"),
            "message": last[-1].split(": ", 1)[-1] if last else "", "stderr": proc.stderr}


@needs_proc
def test_workers_that_cannot_start_stop_the_server(home):
    r = workers_killed_at_start(home)
    assert r["exit_code"] == 1, r["stderr"][-2000:]
    assert r["failed_starts"] == MAX_FAILED_STARTS, r["stderr"][-2000:]
    assert r["message"] == "workers cannot start (5 failed starts in a row); stopping", r


#: run_workers on its own, in a process of its own: the serve function fails
#: at start as long as fewer than FAIL_FIRST starts were recorded in DIR, then
#: records its pid in DIR/ready-PID and serves (sleeps) until it is killed.
SUPERVISED = """
import os, sys, time, signal
from pathlib import Path
from web import prefork

folder = Path(os.environ["DIR"])
fail_first = int(os.environ["FAIL_FIRST"])
prefork.USE_PDEATHSIG = os.environ.get("PDEATHSIG", "1") == "1"

def serve(ready):
    with open(folder / "starts", "a") as f:
        f.write("x")
    if (folder / "starts").stat().st_size <= fail_first:
        raise RuntimeError("cannot start")
    ready()
    (folder / f"ready-{os.getpid()}").touch()
    while True:
        time.sleep(3600)

sys.exit(prefork.run_workers(serve, 2))
"""


def supervised(folder: Path, fail_first: int = 0, pdeathsig: bool = True) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", SUPERVISED], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "DIR": str(folder), "FAIL_FIRST": str(fail_first),
                                 "PDEATHSIG": "1" if pdeathsig else "0"})


def ready_pids(folder: Path) -> set[int]:
    return {int(p.name.split("-")[1]) for p in folder.glob("ready-*")}


def test_failed_starts_then_success_keeps_serving(tmp_path):
    """Four failed starts (one fewer than the limit), then workers that start:
    the parent backs off, keeps going, and stops cleanly on SIGTERM."""
    proc = supervised(tmp_path, fail_first=MAX_FAILED_STARTS - 1)
    try:
        assert wait_for(lambda: len(ready_pids(tmp_path)) == 2, EVENT_GUARD_S)
        assert proc.poll() is None
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 0, err
    assert err.count("before it was ready to serve") == MAX_FAILED_STARTS - 1
    assert all(gone(p) for p in ready_pids(tmp_path))


def test_failed_starts_while_no_worker_serves_stop(tmp_path):
    proc = supervised(tmp_path, fail_first=1000)
    _, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 1, err
    assert err.count("before it was ready to serve") == MAX_FAILED_STARTS


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["prctl", "pipe"])
@needs_proc
def test_workers_end_with_a_killed_parent_by_either_mechanism(tmp_path, pdeathsig):
    if pdeathsig and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    proc = supervised(tmp_path, pdeathsig=pdeathsig)
    try:
        assert wait_for(lambda: len(ready_pids(tmp_path)) == 2, EVENT_GUARD_S)
        workers = ready_pids(tmp_path)
    finally:
        proc.kill()
        proc.communicate(timeout=HANG_S)
    assert wait_for(lambda: all(gone(p) for p in workers), EVENT_GUARD_S)


# -- the reverse proxy in front (deploy/nginx.conf) -----------------------------------------

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
NGINX_SITE = ROOT / "deploy" / "nginx.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(tmp: Path, listen: int, upstream: int) -> Path:
    """The shipped site file, listening on ``listen`` and proxying to
    ``upstream``, inside a main configuration that keeps every file nginx
    writes under ``tmp``."""
    site = NGINX_SITE.read_text()
    site, n1 = re.subn(r"(?m)^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen};", site)
    site, n2 = re.subn(r"server 127\.0\.0\.1:5000;", f"server 127.0.0.1:{upstream};", site)
    assert n1 == n2 == 1, "deploy/nginx.conf no longer has the lines this test adapts"
    (tmp / "site.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(textwrap.dedent(f"""\
        {user}daemon off;
        worker_processes 1;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log;
        events {{ worker_connections 1024; }}
        http {{
            access_log off;
        """) + temp + f"\n    include {tmp}/site.conf;\n}}\n")
    return conf


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_GUARD_S) as s:
        s.sendall(request)
        return _answer(s)


@needs_proc
@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx; "
                                          ".ci/run installs it)")
def test_the_shipped_nginx_config_is_valid_and_proxies(home, tmp_path):
    with serving(home, threads=2, workers=2) as server:
        listen = _free_port()
        conf = nginx_config(tmp_path, listen, server.port)
        base = [NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=HANG_S)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            def listening() -> bool:
                assert proc.poll() is None, proc.stderr.read()
                with socket.socket() as s:
                    return s.connect_ex(("127.0.0.1", listen)) == 0

            assert wait_for(listening, EVENT_GUARD_S)
            proxied = Server(proc, "127.0.0.1", listen)
            assert search_ok(proxied)  # a search through nginx
            status, page = proxied.get("/?q=" + quote(marker("serving")), timeout=ANSWER_GUARD_S)
            assert status == 200 and 'dir="rtl"' in page.decode()
            with socket.create_connection(("127.0.0.1", listen)) as s:
                # its status line only: nginx then waits a while for the body
                # it will discard (lingering close) before it closes
                s.sendall(b"POST /api/search HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 2000000\r\n\r\n")
                assert _status_line(s).startswith("HTTP/1.1 413")
            small = _raw(listen, b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: 5"
                                 b"\r\nConnection: close\r\n\r\nhello")
            assert small.startswith(b"HTTP/1.1 405"), small[:300]  # arshif's, with Allow
            assert re.search(rb"(?im)^Allow: .*GET", small), small[:300]
        finally:
            proc.terminate()
            proc.wait(HANG_S)
        assert not server.errors(), server.errors()
