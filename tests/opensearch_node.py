"""One OpenSearch node on loopback for the tests: the distribution that
``make opensearch`` fetched (.cache/opensearch/), on the machine's Java.

The node gets its own folder (config, data, logs) and free ports, a small
heap, and is ready when its health endpoint answers yellow or green.
OpenSearch refuses to run as root, so under root (CI, the developers'
machines) it runs as ``nobody`` through ``setpriv``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = os.environ.get("OPENSEARCH_VERSION", "2.19.6")
DISTRIBUTION = Path(os.environ.get("OPENSEARCH_CACHE", ROOT / ".cache" / "opensearch")) / (
    f"opensearch-{VERSION}")
#: Startup takes 20-40 s on a busy 2-core machine; past this it is stuck.
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60
HEAP = "512m"


def jvm_options(heap: str = HEAP, quick_start: bool = True) -> str:
    """The distribution's jvm.options without its GC log and heap dump, which
    it writes relative to the working folder.  A test node has a small heap
    and only the quick compiler (``quick_start``: it starts sooner; its
    steady-state speed does not matter); a benchmark's node gives both up."""
    quick = "-XX:TieredStopAtLevel=1\n" if quick_start else ""
    return f"""\
-Xms{heap}
-Xmx{heap}
-XX:+UseG1GC
{quick}-Djava.io.tmpdir=${{OPENSEARCH_TMPDIR}}
18-:-Djava.security.manager=allow
20-:--add-modules=jdk.incubator.vector
-Djava.util.concurrent.ForkJoinPool.common.threadFactory=org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory
"""


class NodeUnavailable(RuntimeError):
    """Java or the distribution is missing: the tests that need a node skip."""


def java_home() -> Path:
    java = shutil.which("java")
    if java is None:
        raise NodeUnavailable("no java on PATH (OpenSearch needs Java 17+)")
    return Path(os.path.realpath(java)).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    """A single-node cluster; ``start()`` returns when it answers.

    ``heap`` (``-Xms``/``-Xmx``), ``processors`` (``node.processors``: the
    sizes of its thread pools) and ``quick_start`` (jvm_options) default to
    a test node's; bench/opensearch_bench.py starts a larger one."""

    def __init__(self, distribution: Path = DISTRIBUTION, heap: str = HEAP,
                 processors: int = 1, quick_start: bool = True):
        self.distribution = distribution
        self.heap, self.processors, self.quick_start = heap, processors, quick_start
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Node:
        if not (self.distribution / ".fetched").is_file():
            raise NodeUnavailable(f"no OpenSearch distribution in {self.distribution}: "
                                  "run `make opensearch`")
        env = {**os.environ, "OPENSEARCH_JAVA_HOME": str(java_home())}
        env.pop("JAVA_HOME", None)
        env.pop("OPENSEARCH_JAVA_OPTS", None)
        self.folder = Path(tempfile.mkdtemp(prefix="arshif-opensearch-"))
        config = self.folder / "config"
        shutil.copytree(self.distribution / "config", config)
        (config / "jvm.options").write_text(jvm_options(self.heap, self.quick_start))
        for sub in ("data", "logs", "tmp"):
            (self.folder / sub).mkdir()
        env.update(OPENSEARCH_PATH_CONF=str(config), OPENSEARCH_TMPDIR=str(self.folder / "tmp"))
        self.port, transport = free_port(), free_port()
        command = [str(self.distribution / "bin" / "opensearch"),
                   "-Ediscovery.type=single-node", "-Enetwork.host=127.0.0.1",
                   f"-Ehttp.port={self.port}", f"-Etransport.port={transport}",
                   f"-Ecluster.name=arshif-test-{self.port}", "-Enode.name=node-1",
                   f"-Epath.data={self.folder / 'data'}", f"-Epath.logs={self.folder / 'logs'}",
                   # A full disk elsewhere on the machine must not block the test index.
                   "-Ecluster.routing.allocation.disk.threshold_enabled=false",
                   f"-Enode.processors={self.processors}"]
        if os.geteuid() == 0:
            # OpenSearch will not run as root: the node's folder becomes nobody's,
            # with a copy of the distribution if nobody cannot read it where it is
            # (a checkout under a private folder).
            readable = subprocess.run(
                ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "test",
                 "-r", str(self.distribution / "lib")], check=False).returncode == 0
            if not readable:
                copy = self.folder / "distribution"
                shutil.copytree(self.distribution, copy, symlinks=True)
                command[0] = str(copy / "bin" / "opensearch")
            shutil.chown(self.folder, "nobody", "nogroup")
            for path in self.folder.rglob("*"):
                shutil.chown(path, "nobody", "nogroup")
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                       *command]
        self.log = open(self.folder / "console.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=self.folder, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"OpenSearch exited with {self.process.returncode}:\n"
                                   + self.console_tail())
            try:
                health = self.request("/_cluster/health?wait_for_status=yellow&timeout=2s")
                if health.get("status") in ("yellow", "green"):
                    return
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.5)  # not listening yet: the next poll
        raise RuntimeError(f"OpenSearch did not answer within {START_TIMEOUT_S} s:\n"
                           + self.console_tail())

    def request(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def console_tail(self, lines: int = 40) -> str:
        if self.folder is None:
            return ""
        try:
            text = (self.folder / "console.log").read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the node (its whole process group) and remove its folder."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
