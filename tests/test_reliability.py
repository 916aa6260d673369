"""Never down, never corrupt: rebuilds under load, kill -9, two builders, full disks.

Everything runs real processes (``arshif serve``, ``arshif index``) on
loopback with a free port.  Kill points are reached by events, never timers,
so no outcome depends on the machine's speed: the test-only hook
``ARSHIF_TEST_HOOK`` (``indexer/store.py``: ``checkpoint``) makes ``arshif
index`` SIGKILL itself at a named point of the build, or block there until the
test has acted (killed it, started a second builder); one more kill is
black-box (``kill -9`` while the build is blocked writing its progress bar to
a terminal nobody reads).  The
rebuilds under load are paced by the answers the clients get.  Timeouts
(HANG_S) only stop a test that would otherwise hang.  The scenario functions
return their figures, and ``scripts/reliability_report.py`` reruns them for
docs/reliability.md.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer import store
from indexer.writer import build_index
from search.backend import Request
from search.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
#: Only a guard against a hang (a deadlock, a build that never ends): far
#: beyond what anything here takes on a slow, loaded machine.  No assertion
#: is about speed; that is measured in bench/.
HANG_S = 300
#: How long the workers of a killed builder may take to exit: they are killed
#: by the kernel with it (milliseconds); past this they are orphans.
ORPHAN_GUARD_S = 60
ARSHIF = Path(sys.executable).with_name("arshif")
WORDS = ("الاقتصاد", "السياسة", "النفط", "الحكومة", "المنطقة", "الأسواق", "التقرير", "العالم",
         "الانتخابات", "الطاقة", "المياه", "الزراعة", "التعليم", "الصحة", "الرياضة", "الثقافة")


def arshif_cmd(*args: str) -> list[str]:
    exe = ARSHIF if ARSHIF.exists() else shutil.which("arshif")
    assert exe, "the arshif command is not installed"
    return [str(exe), *args]


def marker(tag: str) -> str:
    """A word found only in one archive version (letters only: one token)."""
    letters = "بتثجحخدذرزسشصضطظعغفقكلمن"
    digest = hashlib.sha1(tag.encode()).digest()
    return "كلمة" + "".join(letters[b % len(letters)] for b in digest[:8])


def write_archive(folder: Path, count: int, tag: str, paragraphs: int = 2, seed: int = 1) -> Path:
    """``count`` articles in the user's text format; article 0 holds ``marker(tag)``."""
    rng = random.Random(seed)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for n in range(count):
        body = [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(paragraphs)]
        if n == 0:
            body.append(f"فقرة خاصة فيها {marker(tag)} وحدها.")
        text = "\n".join([f"عنوان الخبر {n} عن {rng.choice(WORDS)}",
                          f"تاريخ النشر: 2023-{n % 12 + 1:02d}-15",
                          *body, f"المصدر | مصدر {n % 5}"]) + "\n"
        (folder / f"a{n:05d}.txt").write_text(text, "utf-8")
    return folder


def run_index(
    *args: str, env: dict | None = None, timeout: float = HANG_S
) -> subprocess.CompletedProcess:
    return subprocess.run(arshif_cmd("index", *args), capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def leftovers(home: Path) -> list[str]:
    """Anything a finished build must not leave: tmp generations and pointers,
    generations newer than the live one."""
    live = store.current_name(home)
    out = []
    for p in home.iterdir():
        if p.name.endswith(".tmp") or (store.GEN_RE.match(p.name) and p.name > live):
            out.append(p.name)
    return sorted(out)


def finds(home: Path, word: str) -> int:
    return Engine(home).search(Request(q=word, facets=False)).total


# -- a real server ---------------------------------------------------------------------------

@dataclass
class Server:
    proc: subprocess.Popen
    host: str
    port: int
    log: list = field(default_factory=list)  # its stderr lines
    drain: threading.Thread | None = None  # reads the log; ends when the server has exited

    def errors(self) -> list[str]:
        return [line for line in self.log if " ERROR " in line or "Traceback" in line]

    def get(self, path: str, timeout: float = HANG_S) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, path: str) -> dict:
        status, body = self.get(path)
        assert status == 200, (status, body[:200])
        return json.loads(body)


@contextmanager
def serving(home: Path, threads: int = 16, workers: int = 2, env: dict | None = None,
            port: int = 0):
    """``arshif serve`` on a loopback port (by default a free one), stopped afterwards."""
    proc = subprocess.Popen(arshif_cmd("serve", "--index", str(home), "--host", "127.0.0.1",
                                       "--port", str(port), "--threads", str(threads),
                                       "--workers", str(workers)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    try:
        line = _readline(proc.stdout, timeout=HANG_S)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, f"no address in {line!r}: {proc.stderr.read() if proc.poll() is not None else ''}"
        server = Server(proc, "127.0.0.1", int(m.group(1)))
        server.drain = threading.Thread(target=_drain, args=(proc.stderr, server.log), daemon=True)
        server.drain.start()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(HANG_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(HANG_S)


def _drain(stream, into: list) -> None:
    for line in stream:
        into.append(line)


def _readline(stream, timeout: float) -> str:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else ""


# -- 0. worker processes ---------------------------------------------------------------------

def worker_pids(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def wait_for(predicate, timeout: float = HANG_S) -> bool:
    """Poll until ``predicate()`` holds (an event); the timeout is a hang guard."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_share_the_port_are_replaced_and_stop_together(tmp_path):
    home = tmp_path / "index"
    build_index([write_archive(tmp_path / "archive", 30, "workers")], home)
    with serving(home, threads=2, workers=2) as server:
        assert wait_for(lambda: len(worker_pids(server.proc.pid)) == 2)
        first = worker_pids(server.proc.pid)
        for _ in range(20):  # connections are spread over both; all answered
            assert server.json("/api/search?q=" + quote(marker("workers")))["total"] == 1
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(worker_pids(server.proc.pid) - first) == 1)
        assert victim not in worker_pids(server.proc.pid)
        assert server.json("/healthz")["status"] == "ok"
        workers = worker_pids(server.proc.pid)
        server.proc.terminate()
        server.proc.wait(HANG_S)
        assert wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in workers))
    assert any("starting another" in line for line in server.log)


# -- 1. rebuild while serving a steady load --------------------------------------------------

@dataclass
class LoadFigures:
    clients: int
    rebuilds: int
    seconds: float = 0.0
    sent: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)
    generations: list = field(default_factory=list)  # as /healthz saw them, in order
    new_word_found_after_swap: list = field(default_factory=list)  # per rebuild
    max_latency_s: float = 0.0
    build_seconds: list = field(default_factory=list)
    server_log: list = field(default_factory=list)  # warnings and errors the server logged
    last_generation: str = ""
    generation_regressions: int = 0


def rebuild_under_load(tmp: Path, clients: int = 50, rebuilds: int = 1, articles: int = 300,
                       answers_per_version: int = 10) -> LoadFigures:
    """``clients`` threads hammer a real server while ``arshif index`` rebuilds
    ``rebuilds`` times; each rebuild adds a word that the next answers must find.

    Paced by events, not the clock: the first rebuild starts once the clients
    have sent 100 requests, and each next one once ``answers_per_version``
    searches for the newest word, sent after its swap, were answered and
    /healthz named the new generation.  (With a time budget, a slow machine
    did fewer rebuilds and the test failed.)
    """
    home = tmp / "index"
    write_archive(tmp / "v0", articles, "v0")
    assert run_index(str(tmp / "v0"), "--index", str(home), "-q").returncode == 0
    figures = LoadFigures(clients, rebuilds)
    stop = threading.Event()
    progress = threading.Condition()  # its lock guards everything below; notified per answer
    words = {0: marker("v0")}
    seen: list[tuple[float, str, int, int]] = []  # (time, word, version asked, total)
    gens: list[tuple[float, float, str]] = []  # (start, end, generation) of /healthz answers

    def client(n: int, server: Server) -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=HANG_S)
        i = n
        while not stop.is_set():
            with progress:
                figures.sent += 1
                current = dict(words)
            i += 1
            version = max(current)
            kind = i % 5
            if kind == 0:
                path = "/healthz"
            elif kind == 1:
                path = f"/api/search?q={quote(current[version])}"
            elif kind == 2:
                path = f"/?q={quote(random.choice(WORDS))}&page={i % 2 + 2}"
            elif kind == 3:
                path = "/article/a00001"
            else:
                pair = random.choice(WORDS) + " " + random.choice(WORDS)
                path = f"/api/search?q={quote(pair)}&sort=newest"
            started = time.monotonic()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200
                if ok and kind == 0:
                    with progress:
                        gens.append((started, time.monotonic(), json.loads(body)["generation"]))
                if ok and kind == 1:
                    with progress:
                        seen.append((started, current[version], version, json.loads(body)["total"]))
            except Exception as exc:  # every failure counts
                ok, body = False, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=HANG_S)
            took = time.monotonic() - started
            with progress:
                figures.max_latency_s = max(figures.max_latency_s, took)
                if not ok:
                    figures.failed += 1
                    status = getattr(locals().get("resp"), "status", None)
                    figures.failures.append((path, status, body[-300:]))
                progress.notify_all()
        conn.close()

    def answered(version: int) -> bool:
        """Enough searches for ``version``'s word came back, and /healthz named its generation."""
        return (sum(1 for _, _, v, _ in seen if v == version) >= answers_per_version
                and any(g == f"gen-{version + 1:06d}" for _, _, g in gens))

    def await_(predicate, what: str) -> None:
        with progress:
            assert progress.wait_for(predicate, HANG_S), f"hung waiting for {what}"

    swaps: list[tuple[int, float]] = []  # (version, time the new generation was published)
    starts: list[float] = []  # when each rebuild began
    with serving(home) as server:
        began = time.monotonic()
        threads = [threading.Thread(target=client, args=(n, server), daemon=True)
                   for n in range(clients)]
        for t in threads:
            t.start()
        try:
            await_(lambda: figures.sent > 100 and answered(0), "the first requests")
            for version in range(1, rebuilds + 1):
                src = tmp / f"v{version}"
                write_archive(src, articles, f"v{version}", seed=version + 1)
                t0 = time.monotonic()
                starts.append(t0)
                done = run_index(str(src), "--index", str(home), "-q")
                assert done.returncode == 0, done.stderr
                figures.build_seconds.append(round(time.monotonic() - t0, 2))
                with progress:
                    swaps.append((version, time.monotonic()))
                    words[version] = marker(f"v{version}")
                await_(lambda v=version: answered(v), f"searches for version {version}")
        finally:
            stop.set()
            for t in threads:
                t.join(HANG_S)
        figures.seconds = round(time.monotonic() - began, 1)
        last_gen = server.json("/healthz")["generation"]
    server.drain.join(HANG_S)  # the server has exited: its whole log is read
    figures.server_log = [line for line in server.log if " INFO " not in line][:80]
    # After each swap, a search for that version's word finds it (the index
    # serving it is the new one); before it, nothing has that word.
    for k, (version, published) in enumerate(swaps):
        until = starts[k + 1] if k + 1 < len(starts) else float("inf")
        after = [total for t, w, v, total in seen if v == version and published <= t < until]
        figures.new_word_found_after_swap.append(bool(after) and all(after))
    figures.generations = sorted({g for _, _, g in gens})
    figures.last_generation = last_gen
    # /healthz answers that named an older generation than one already
    # answered before they were sent (a label race in Engine, see the docs).
    by_end = sorted(gens, key=lambda x: x[1])
    newest, k = "", 0
    for start, _, g in sorted(gens):
        while k < len(by_end) and by_end[k][1] < start:
            newest = max(newest, by_end[k][2])
            k += 1
        figures.generation_regressions += g < newest
    return figures


def check_load(f: LoadFigures) -> None:
    assert f.failed == 0, f.failures[:5]
    assert f.sent > 100
    assert all(f.new_word_found_after_swap), f.new_word_found_after_swap
    # Every generation was served in turn, and the last answers come from the newest.
    assert f.generations == [f"gen-{n:06d}" for n in range(1, f.rebuilds + 2)], f.generations
    assert f.last_generation == f.generations[-1]
    assert not [line for line in f.server_log if "ERROR" in line or "Traceback" in line], \
        f.server_log


def test_rebuild_under_load_quick(tmp_path):
    f = rebuild_under_load(tmp_path, clients=10, rebuilds=1, articles=100)
    check_load(f)


@pytest.mark.slow
def test_rebuild_under_load_fifty_clients_three_rebuilds(tmp_path):
    f = rebuild_under_load(tmp_path, clients=50, rebuilds=3, articles=400)
    check_load(f)


# -- 2. kill -9 at every stage of a build ----------------------------------------------------

#: (name, ARSHIF_TEST_HOOK value): where the build is when it dies.  "POINT:kill"
#: kills itself there; "POINT:wait" blocks there and the test kills the builder
#: once every process that reaches the point (each --jobs worker) waits in it.
KILL_POINTS = [
    ("start: generation folder made", "start:kill"),
    ("reading: after the first file", "file:kill"),
    ("reading: at the 500th file", "file@500:kill"),
    ("writing: segment files on disk, not listed in a TOC", "segments:kill"),
    ("swap: generation renamed, CURRENT not replaced", "rename:kill"),
    ("swap: new CURRENT written, not renamed", "pointer:kill"),
]
QUICK_KILL_POINTS = [p for p in KILL_POINTS if p[1] in ("start:kill", "file:kill", "rename:kill",
                                                        "pointer:kill")]


@dataclass
class KillFigures:
    point: str
    hook: str
    exit_code: int = 0
    left_behind: list = field(default_factory=list)  # what the dead build left
    old_index_intact: bool = False
    served_meanwhile: bool = False
    next_build_ok: bool = False
    cleaned: bool = False


def kill_during_build(tmp: Path, points=KILL_POINTS, articles: int = 1500, jobs: int = 1,
                      server: bool = True, update: bool = False) -> list[KillFigures]:
    """For each point: the live index survives a kill -9 there, is served
    throughout, and the next plain ``arshif index`` succeeds and cleans up."""
    home = tmp / "index"
    write_archive(tmp / "v0", articles, "v0")
    assert run_index(str(tmp / "v0"), "--index", str(home), "-q").returncode == 0
    results = []
    ctx = serving(home) if server else _nothing()
    with ctx as srv:
        live_word, live_gen = marker("v0"), store.current_name(home)
        for n, (name, hook) in enumerate(points, 1):
            f = KillFigures(name, hook)
            src = write_archive(tmp / f"v{n}", articles, f"v{n}", seed=n + 1)
            extra = (["--jobs", str(jobs)] if jobs > 1 else []) + (["--update"] if update else [])
            waiters = jobs if hook.startswith("part-file") else 1
            f.exit_code, stderr = _killed_build(src, home, hook, extra, waiters)
            assert f.exit_code == -signal.SIGKILL, (hook, f.exit_code, stderr[-500:])
            f.left_behind = sorted(
                p.name + (f" ({_describe(p)})" if p.is_dir() else "")
                for p in home.iterdir() if p.name not in (live_gen, store.CURRENT, store.LOCK)
                and not (store.GEN_RE.match(p.name) and p.name < live_gen))
            _no_orphans(home)
            # The previous index: still the live one, intact, answering.
            f.old_index_intact = (store.current_name(home) == live_gen
                                  and finds(home, live_word) == 1
                                  and finds(home, marker(f"v{n}")) == 0)
            if srv is not None:
                health = srv.json("/healthz")
                found = srv.json(f"/api/search?q={quote(live_word)}")["total"]
                f.served_meanwhile = health["generation"] == live_gen and found == 1
            else:
                f.served_meanwhile = True
            # The next build needs no manual cleanup.
            again = run_index(str(src), "--index", str(home), "-q", *extra)
            f.next_build_ok = again.returncode == 0 and finds(home, marker(f"v{n}")) == 1
            f.cleaned = leftovers(home) == []
            if srv is not None:
                found = srv.json(f"/api/search?q={quote(marker(f'v{n}'))}")["total"]
                f.served_meanwhile &= found == 1
            live_word, live_gen = marker(f"v{n}"), store.current_name(home)
            results.append(f)
    return results


def _describe(folder: Path) -> str:
    files = [p for p in folder.rglob("*") if p.is_file()]
    toc = any(p.name.endswith(".toc") and not p.name.startswith("_MAIN_0") for p in files)
    return f"{len(files)} files, {sum(p.stat().st_size for p in files) // 1024} KB" + (
        ", committed" if toc else "")


def _killed_build(src: Path, home: Path, hook: str, extra: list[str],
                  waiters: int = 1) -> tuple[int, str]:
    """Run a build that dies at ``hook``: "POINT:kill" kills itself there;
    "POINT:wait" blocks there, and once ``waiters`` processes say they wait
    (the workers of ``--jobs N``), this test sends the builder kill -9."""
    wait = hook.endswith(":wait")
    release = home.parent / "never-released"  # the waiting processes die first
    env = {**os.environ, store.TEST_HOOK_ENV: f"{hook}:{release}" if wait else hook}
    proc = subprocess.Popen(arshif_cmd("index", str(src), "--index", str(home), "-q", *extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    log: list[str] = []
    try:
        if wait:
            for _ in range(waiters):
                line = _readline(proc.stderr, timeout=HANG_S)
                assert (line.startswith("arshif-test-hook: ")
                        and line.rstrip().endswith(" wait")), line
            proc.send_signal(signal.SIGKILL)
        proc.wait(HANG_S)
        # Orphaned workers would hold stderr open: read what there is, and
        # let _no_orphans (called next) name them.
        drain = threading.Thread(target=_drain, args=(proc.stderr, log), daemon=True)
        drain.start()
        drain.join(ORPHAN_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(log)


@contextmanager
def _nothing():
    yield None


def _no_orphans(home: Path, wait: float = ORPHAN_GUARD_S) -> None:
    """No process of the killed build may survive it (``--jobs`` workers)."""
    deadline = time.monotonic() + wait
    while True:
        pids = [pid for pid in _pids_mentioning(str(home)) if pid != os.getpid()]
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in pids:  # started by this test (children of its build): clean up, then fail
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not pids, f"processes of the killed build still running: {pids}"


def _pids_mentioning(text: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
                cmdline = raw.replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if text in cmdline and "index" in cmdline and "serve" not in cmdline:
                out.append(int(entry.name))
    return out


def check_kills(results: list[KillFigures]) -> None:
    for f in results:
        assert f.exit_code == -signal.SIGKILL, f
        assert f.old_index_intact, f
        assert f.served_meanwhile, f
        assert f.next_build_ok, f
        assert f.cleaned, f


def test_kill_at_each_stage_quick(tmp_path):
    results = kill_during_build(tmp_path, QUICK_KILL_POINTS, articles=40, server=False)
    check_kills(results)
    left = {f.hook: f.left_behind for f in results}
    assert any(x.startswith("gen-000002.tmp") for x in left["start:kill"])
    # An unpublished generation.
    assert any(re.fullmatch(r"gen-\d{6}", x.split(" ")[0]) for x in left["rename:kill"])
    assert any(x.startswith("CURRENT.") for x in left["pointer:kill"])


def test_kill_during_update_quick(tmp_path):
    """``--update`` starts from a copy of the live generation: same guarantees."""
    points = [("update: after the first file", "file:kill"), ("update: renamed", "rename:kill")]
    check_kills(kill_during_build(tmp_path, points, articles=40, server=False, update=True))


def test_kill_at_each_stage_with_jobs_quick(tmp_path):
    """``--jobs 2`` (one segment per worker process): the same guarantees, and
    no worker outlives its killed builder (``_no_orphans``)."""
    points = [*QUICK_KILL_POINTS, ("all read, workers writing segments", "commit:kill")]
    check_kills(kill_during_build(tmp_path, points, articles=40, jobs=2, server=False))


@pytest.mark.slow
def test_kill_at_each_stage_while_serving(tmp_path):
    results = kill_during_build(tmp_path, KILL_POINTS, articles=1500)
    check_kills(results)
    written = next(f for f in results if f.hook.startswith("segments"))
    assert any(x.split(" ")[0].endswith(".tmp") and "committed" not in x
               for x in written.left_behind)


JOBS_KILL_POINTS = [("reading with --jobs 2: both workers mid-part", "part-file:wait")]


@pytest.mark.slow
def test_kill_with_jobs_leaves_no_workers_holding_the_lock(tmp_path):
    """--jobs 2 forks index workers; killed with their builder, they used to
    live on (blocked on their queue) holding the build lock forever.  The
    builder is killed while both workers are in the middle of their part."""
    results = kill_during_build(tmp_path, JOBS_KILL_POINTS, articles=1500, jobs=2, server=False)
    check_kills(results)


def black_box_kill(tmp: Path, articles: int = 3000) -> dict:
    """No hook: ``kill -9`` the real command in the middle of its build.

    The build's stderr is a terminal that the test stops reading once the
    progress bar has started: the bar is redrawn for every file, far more
    output than a terminal buffers, so the build soon blocks writing it, in
    the middle of reading the archive, whatever the machine's speed.  It is
    killed after the bar's first output (it cannot have finished by then).
    """
    home = tmp / "index"
    write_archive(tmp / "v0", 20, "v0")
    assert run_index(str(tmp / "v0"), "--index", str(home), "-q").returncode == 0
    live = store.current_name(home)
    src = write_archive(tmp / "v1", articles, "v1")
    terminal, stderr = os.openpty()
    proc = subprocess.Popen(arshif_cmd("index", str(src), "--index", str(home)),
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    os.close(stderr)
    seen = ""
    try:
        while "indexing" not in seen:  # the bar has started: the build is reading
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the build ended and closed the terminal
                chunk = b""
            if not chunk:
                break
            seen += chunk.decode("utf-8", "replace")
        assert proc.poll() is None, f"the build ended before its progress bar: {seen!r}"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(terminal)
    bar = [line for line in re.split(r"[\r\n]", seen) if "indexing" in line]
    out = {"progress_line": bar[-1].strip() if bar else "(none yet)",
           "exit_code": proc.returncode,
           "left_behind": sorted(p.name for p in home.iterdir() if p.name.endswith(".tmp")),
           "old_index_intact": store.current_name(home) == live and finds(home, marker("v0")) == 1}
    again = run_index(str(src), "--index", str(home), "-q")
    out["next_build_ok"] = again.returncode == 0 and finds(home, marker("v1")) == 1
    out["cleaned"] = leftovers(home) == []
    return out


@pytest.mark.slow
def test_black_box_kill_mid_build(tmp_path):
    out = black_box_kill(tmp_path)
    assert out["exit_code"] == -signal.SIGKILL
    assert out["left_behind"], "the kill should have caught a build in progress"
    assert out["old_index_intact"] and out["next_build_ok"] and out["cleaned"], out


# -- 3. two builders at once -----------------------------------------------------------------

def two_builders(tmp: Path) -> dict:
    """A second ``arshif index`` while the first holds the lock: the first
    waits at its ``start`` point until the second has returned, so a second
    builder that waited for the lock would hang (and fail) instead of
    passing on a fast machine."""
    home = tmp / "index"
    write_archive(tmp / "v0", 10, "v0")
    assert run_index(str(tmp / "v0"), "--index", str(home), "-q").returncode == 0
    src = write_archive(tmp / "v1", 30, "v1")
    release = tmp / "release-first"
    first = subprocess.Popen(arshif_cmd("index", str(src), "--index", str(home), "-q"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, store.TEST_HOOK_ENV: f"start:wait:{release}"})
    try:
        hook = _readline(first.stderr, timeout=HANG_S)
        assert "arshif-test-hook: start wait" in hook, hook
        t0 = time.monotonic()
        second = run_index(str(tmp / "v0"), "--index", str(home), "-q")
        second_took = time.monotonic() - t0
        first_held_the_lock = first.poll() is None
        during = store.current_name(home)
        release.touch()
        first.communicate(timeout=HANG_S)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    return {"second_exit_code": second.returncode, "second_message": second.stderr.strip(),
            "second_seconds": round(second_took, 2), "first_held_the_lock": first_held_the_lock,
            "first_exit_code": first.returncode,
            "live_during": during, "live_after": store.current_name(home),
            "new_found": finds(home, marker("v1")), "leftovers": leftovers(home)}


def test_two_builders_at_once(tmp_path):
    r = two_builders(tmp_path)
    assert r["second_exit_code"] != 0
    assert "another `arshif index` is building" in r["second_message"]
    assert "Traceback" not in r["second_message"]
    assert r["first_held_the_lock"]  # so the second was refused, not made to wait
    assert r["first_exit_code"] == 0
    assert r["live_during"] == "gen-000001" and r["live_after"] == "gen-000002"
    assert r["new_found"] == 1 and r["leftovers"] == []


# -- 4. disk full, read-only index location --------------------------------------------------

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _erofs(*args, **kwargs):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def _fail_whoosh_file_writes(monkeypatch, after_bytes: int = 0):
    """Whoosh's segment files hit ENOSPC once ``after_bytes`` have been written."""
    from whoosh.filedb import structfile

    written = [0]
    real = structfile.StructFile.write

    def write(self, data):
        written[0] += len(data)
        if written[0] > after_bytes:
            _enospc()
        return real(self, data)

    monkeypatch.setattr(structfile.StructFile, "write", write)


def _fail_pointer(monkeypatch):
    real = Path.write_text

    def write_text(self, *a, **k):
        if self.name.startswith(store.CURRENT + "."):
            _enospc()
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)


DISK_FULL = {
    "while writing segments": lambda mp: _fail_whoosh_file_writes(mp, 10_000),
    "while writing the manifest": lambda mp: mp.setattr("indexer.manifest.write", _enospc),
    "while syncing the generation": lambda mp: mp.setattr("indexer.store._fsync_tree", _enospc),
    "while writing CURRENT": _fail_pointer,
    "making the new generation folder": lambda mp: mp.setattr("indexer.store.new_generation",
                                                              _enospc),
}
READ_ONLY = {
    "lock file on a read-only folder": lambda mp: mp.setattr("indexer.store.os.open", _erofs),
    "new generation on a read-only folder": lambda mp: mp.setattr("indexer.store.new_generation",
                                                                  _erofs),
}


@pytest.fixture
def built(tmp_path):
    home = tmp_path / "index"
    write_archive(tmp_path / "v0", 10, "v0")
    build_index([tmp_path / "v0"], home)
    write_archive(tmp_path / "v1", 60, "v1", paragraphs=6)
    return home


def _cli_index(tmp_path: Path, home: Path):
    return CliRunner().invoke(main, ["index", str(tmp_path / "v1"), "--index", str(home), "-q"])


@pytest.mark.parametrize("where", list(DISK_FULL) + list(READ_ONLY))
def test_disk_full_and_read_only_are_clear_errors(where, built, tmp_path, monkeypatch):
    home = built
    before = store.current_name(home)
    with monkeypatch.context() as mp:
        (DISK_FULL.get(where) or READ_ONLY[where])(mp)
        result = _cli_index(tmp_path, home)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    wanted = "No space left on device" if where in DISK_FULL else "Read-only file system"
    assert wanted in result.output, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    # The old index stays, whole, and nothing half-written is left.
    assert store.current_name(home) == before
    assert finds(home, marker("v0")) == 1 and finds(home, marker("v1")) == 0
    assert leftovers(home) == [], leftovers(home)
    # Space back: the next build just works.
    assert _cli_index(tmp_path, home).exit_code == 0
    assert finds(home, marker("v1")) == 1


def test_index_under_a_file_is_a_clear_error(tmp_path):
    write_archive(tmp_path / "v0", 2, "v0")
    (tmp_path / "afile").write_text("x")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "v0"), "--index",
                                       str(tmp_path / "afile" / "ix")])
    assert result.exit_code == 1
    assert "cannot write the index folder" in result.output and "Traceback" not in result.output


def test_unwritable_rejects_file_is_refused_before_building(tmp_path):
    write_archive(tmp_path / "v0", 2, "v0")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "v0"), "--index",
                                       str(tmp_path / "ix"), "--rejects",
                                       str(tmp_path / "no" / "such" / "dir" / "r.jsonl")])
    assert result.exit_code == 1 and "cannot write the rejects file" in result.output
    assert not (tmp_path / "ix" / "CURRENT").exists()  # refused before any work


@contextmanager
def tmpfs(path: Path, size: str):
    """A real tiny tmpfs (root only); skips the test where it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def real_disk_full(tmp: Path) -> dict:
    with tmpfs(tmp / "small", "1m") as small:
        home = small / "index"
        write_archive(tmp / "v0", 10, "v0")
        assert run_index(str(tmp / "v0"), "--index", str(home), "-q").returncode == 0
        live = store.current_name(home)
        write_archive(tmp / "v1", 2400, "v1", paragraphs=4)  # well over 1 MB indexed
        full = run_index(str(tmp / "v1"), "--index", str(home), "-q")
        out = {"exit_code": full.returncode, "message": full.stderr.strip().splitlines()[-1:],
               "traceback": "Traceback" in full.stderr,
               "live_kept": store.current_name(home) == live,
               "old_found": finds(home, marker("v0")), "leftovers": leftovers(home)}
        with serving(home) as srv:  # and it is still served
            out["served"] = srv.json(f"/api/search?q={quote(marker('v0'))}")["total"]
        write_archive(tmp / "v2", 12, "v2")
        next_build = run_index(str(tmp / "v2"), "--index", str(home), "-q")
        out["next_small_build_ok"] = next_build.returncode == 0
        out["new_found"] = finds(home, marker("v2"))
        # Read-only: the same folder remounted ro.
        subprocess.run(["mount", "-o", "remount,ro", str(small)], check=True)
        ro = run_index(str(tmp / "v0"), "--index", str(home), "-q")
        out["ro_exit_code"], out["ro_message"] = ro.returncode, ro.stderr.strip()
        out["ro_served"] = finds(home, marker("v2"))
        subprocess.run(["mount", "-o", "remount,rw", str(small)], check=True)
        return out


def test_real_disk_full_and_read_only_tmpfs(tmp_path):
    r = real_disk_full(tmp_path)
    assert r["exit_code"] == 1 and not r["traceback"], r
    assert "No space left on device" in r["message"][0]
    assert "previous index is unchanged" in r["message"][0]
    assert r["live_kept"] and r["old_found"] == 1 and r["served"] == 1 and r["leftovers"] == []
    assert r["next_small_build_ok"] and r["new_found"] == 1
    assert r["ro_exit_code"] == 1 and "Read-only file system" in r["ro_message"]
    assert "Traceback" not in r["ro_message"] and r["ro_served"] == 1
