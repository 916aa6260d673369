"""The index on disk: generations swapped atomically, one builder at a time.

Layout of an index home (default ``data/index``)::

    data/index/
        CURRENT            name of the live generation (replaced atomically)
        gen-000003/        the live Whoosh index
        gen-000002/        the previous one, kept while servers may still read it
        gen-000004.tmp/    a build in progress (removed if the builder died)
        .lock              held (flock) by the running ``arshif index``

Whoosh allows one writer per index and its ``AsyncWriter`` can lose writes, so
every build writes a new generation beside the live one and only a finished
build is published, by an atomic ``os.replace`` of ``CURRENT``.  A crash, a
``kill -9`` or Ctrl-C at any moment leaves the previous generation serving; a
flock is released by the kernel when its holder dies, so no stale lock remains.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import re
import shutil
import signal
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

CURRENT = "CURRENT"
LOCK = ".lock"
GEN_RE = re.compile(r"^gen-(\d{6})$")
KEEP_PREVIOUS = 1


class StoreError(Exception):
    """A user-facing index problem (no index yet, locked, unwritable)."""


class NoIndex(StoreError):
    pass


class IndexBusy(StoreError):
    pass


class IndexDamaged(StoreError):
    """A file of the live generation is missing, damaged or of another
    format: the index must be rebuilt (its data is nowhere else)."""

    def __init__(self, detail: str):
        super().__init__(f"the index is damaged or of another version ({detail}); "
                         "rebuild it with: arshif index")


def default_home() -> Path:
    return Path(os.environ.get("ARSHIF_INDEX", "data/index"))


def current_dir(home: Path) -> Path | None:
    """The live generation's folder, or None when nothing was built yet."""
    try:
        name = (home / CURRENT).read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = home / name
    return path if GEN_RE.match(name) and path.is_dir() else None


def current_name(home: Path) -> str:
    """The live generation's name ('' if none): cheap to poll for changes."""
    try:
        return (home / CURRENT).read_text("utf-8").strip()
    except OSError:
        return ""


class CurrentName:
    """``current_name`` for a process that asks on every request.

    ``publish`` replaces CURRENT by a rename, so a changed file has a new
    inode (or mtime): a ``stat`` tells whether to read it again, which is
    several times cheaper than opening and reading it each time.
    """

    def __init__(self, home: Path):
        self.path = Path(home) / CURRENT
        self._seen: tuple | None = None
        self._name = ""

    def name(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError:
            self._seen = None
            return ""
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            self._name = current_name(self.path.parent)
            self._seen = seen
        return self._name


def generation_dir(home: Path, name: str) -> Path | None:
    """The folder of the generation ``name`` (as read from CURRENT), or None."""
    path = home / name
    return path if GEN_RE.match(name) and path.is_dir() else None


class MappedStorage(FileStorage):
    """A read-only Whoosh storage whose files are memory-mapped.

    Whoosh's FileStorage reads every posting block and stored document
    with a seek and a read system call; each one releases the GIL, and in
    a server whose threads are all searching, getting it back costs more
    than the read (profiled: a third of a worker's time under load).  A
    generation never changes once published, so mapping it is safe, and
    the pages are shared by every worker process.
    """

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as fh:
            try:
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
        return MappedFile(mapped, name=name, **kwargs)


class MappedFile(StructFile):
    """A StructFile over a memory map: ``get`` is a slice, not two system calls."""

    def get(self, position, length):
        return self.file[position:position + length]


@contextmanager
def build_lock(home: Path):
    """Hold the home's build lock; a second builder fails at once."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot write the index folder {home}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(
                f"another `arshif index` is building {home}; wait for it to finish"
            ) from None
        _HELD_LOCKS.add(fd)
        yield
    finally:
        _HELD_LOCKS.discard(fd)
        os.close(fd)


#: Lock fds held by this process.  ``--jobs N`` forks index workers, and a fork
#: shares the flock: after a ``kill -9`` of the builder its orphaned workers
#: (blocked forever on their job queue) kept the lock, and every later
#: ``arshif index`` was refused.  So a child forked during a build closes its
#: copy of the lock and asks the kernel to kill it when its parent dies.
_HELD_LOCKS: set[int] = set()


def _after_fork_in_child() -> None:
    if not _HELD_LOCKS:
        return
    parent = os.getppid()
    for fd in _HELD_LOCKS:
        with suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the lock is released all the same
        return
    if os.getppid() != parent:  # the builder died before prctl took effect
        os._exit(1)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _generations(home: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in home.iterdir() if (m := GEN_RE.match(p.name)))


def remove_leftovers(home: Path) -> None:
    """Delete half-built generations of builders that died (call under the lock).

    Also a finished generation newer than the live one: a builder killed
    between renaming it and replacing ``CURRENT`` never published it.
    """
    for path in home.glob("gen-*.tmp"):
        shutil.rmtree(path, ignore_errors=True)
    for path in home.glob(f"{CURRENT}.*.tmp"):
        path.unlink(missing_ok=True)
    live = current_dir(home)
    if live is not None:
        live_number = int(GEN_RE.match(live.name).group(1))
        for g in _generations(home):
            if g > live_number:
                shutil.rmtree(home / f"gen-{g:06d}", ignore_errors=True)


def new_generation(home: Path) -> Path:
    """A fresh, empty folder for the next generation (call under the lock)."""
    gens = _generations(home)
    path = home / f"gen-{(gens[-1] + 1) if gens else 1:06d}.tmp"
    path.mkdir()
    return path


def publish(home: Path, tmp: Path) -> Path:
    """Make the finished build in ``tmp`` the live generation, atomically."""
    final = tmp.with_suffix("")
    _fsync_tree(tmp)  # on disk before CURRENT names it (power loss, not just kill -9)
    os.replace(tmp, final)
    checkpoint("rename")
    pointer = home / f"{CURRENT}.{os.getpid()}.tmp"
    try:
        pointer.write_text(final.name + "\n", "utf-8")
        with open(pointer, "rb") as fh:
            os.fsync(fh.fileno())
        checkpoint("pointer")
        os.replace(pointer, home / CURRENT)
    except BaseException:
        # Disk full or read-only: leave no unpublished generation behind.
        pointer.unlink(missing_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    # Published already: a failed directory sync is not a failed build.
    with contextlib.suppress(OSError):
        _fsync_dir(home)
    _prune(home, final.name)
    return final


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(home: Path, live: str) -> None:
    """Keep the live generation and the previous one (a server may still read it)."""
    older = [g for g in _generations(home) if f"gen-{g:06d}" != live]
    for g in older[:-KEEP_PREVIOUS] if KEEP_PREVIOUS else older:
        shutil.rmtree(home / f"gen-{g:06d}", ignore_errors=True)


def disk_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


#: Test-only fault injection, for tests/test_reliability.py (docs/reliability.md).
#: ARSHIF_TEST_HOOK="POINT[@N]:ACTION" acts the Nth time (default: the first)
#: this process reaches POINT, once:
#:
#: - ``kill``: SIGKILL itself there;
#: - ``wait:PATH``: say so on stderr (``arshif-test-hook: POINT wait``) and
#:   block until the file PATH exists, so the test acts (kills the builder,
#:   starts a second one) while the process is exactly at that point.
#:
#: Events, not timers: a kill "0.3 s into reading" landed anywhere, or after
#: the build had finished, depending on the machine's speed.  Points:
#: ``start`` (new generation folder made), ``file`` (an input file read and
#: added; with ``--jobs N`` reported by a worker to the parent), ``part-file``
#: (``--jobs N``: a worker process has read and added a file of its part),
#: ``commit`` (all read; segments about to be written; with ``--jobs N`` the
#: workers write them now), ``segments`` (one-process build: segment files
#: written, not yet listed in a TOC), ``rename`` (generation renamed, CURRENT
#: not yet replaced), ``pointer`` (new CURRENT written, not yet renamed over
#: the old).  Processes forked by the build inherit the hook and count alone.
TEST_HOOK_ENV = "ARSHIF_TEST_HOOK"
_hook_counts: dict[str, int] = {}
HOOK_POLL_S = 0.01  # how often a waiting hook looks for its release file


def checkpoint(point: str) -> None:
    spec = os.environ.get(TEST_HOOK_ENV)
    if not spec:
        return
    where, _, rest = spec.partition(":")
    name, _, nth = where.partition("@")
    if name != point:
        return
    count = _hook_counts[point] = _hook_counts.get(point, 0) + 1
    if count != int(nth or 1):
        return
    action, _, arg = rest.partition(":")
    # One write of the whole line: the workers of --jobs N share stderr, and
    # print's separate writes of text and newline interleave between them.
    line = f"arshif-test-hook: {point} {action}\n"
    sys.stderr.flush()
    try:
        os.write(sys.stderr.fileno(), line.encode())
    except (AttributeError, OSError, ValueError):  # stderr is not a file (captured)
        sys.stderr.write(line)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "wait":
        while not os.path.exists(arg):
            time.sleep(HOOK_POLL_S)
