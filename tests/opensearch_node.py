"""OpenSearch on loopback for the tests: one node (``Node``) or a cluster
of several (``Cluster``), from the distribution that ``make opensearch``
fetched (.cache/opensearch/), on the machine's Java.

Each node gets its own folder (config, data, logs) and free ports, a small
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
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION = os.environ.get("OPENSEARCH_VERSION", "2.19.6")
DISTRIBUTION = Path(os.environ.get("OPENSEARCH_CACHE", ROOT / ".cache" / "opensearch")) / (
    f"opensearch-{VERSION}")
#: Startup takes 20-40 s on a busy 2-core machine; past this it is stuck.
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60
HEAP = "512m"
#: A cluster node's heap: three of them, beside the suite's single node and
#: its other tests, on a 2-core 24 GB machine.
CLUSTER_HEAP = "512m"


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
    """One node; alone (``discovery.type=single-node``) unless a ``Cluster``
    gives it its peers.  ``start()`` returns when it answers; ``kill()``
    ends it as a crash would and keeps its folder, so that ``start()``
    brings it back with its data.

    ``heap`` (``-Xms``/``-Xmx``), ``processors`` (``node.processors``: the
    sizes of its thread pools) and ``quick_start`` (jvm_options) default to
    a test node's; bench/opensearch_bench.py starts a larger one."""

    def __init__(self, distribution: Path = DISTRIBUTION, heap: str = HEAP,
                 processors: int = 1, quick_start: bool = True, name: str = "node-1"):
        self.distribution = distribution
        self.heap, self.processors, self.quick_start = heap, processors, quick_start
        self.name = name
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.log = None
        self.port = self.transport = 0
        self.cluster_name = ""
        #: The transport addresses and names of a cluster's nodes (Cluster sets them).
        self.peers: list[tuple[str, int]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Node:
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self) -> None:
        """The node's folder, ports and configuration, made on the first start."""
        if not (self.distribution / ".fetched").is_file():
            raise NodeUnavailable(f"no OpenSearch distribution in {self.distribution}: "
                                  "run `make opensearch`")
        java_home()
        self.folder = Path(tempfile.mkdtemp(prefix="arshif-opensearch-"))
        config = self.folder / "config"
        shutil.copytree(self.distribution / "config", config)
        (config / "jvm.options").write_text(jvm_options(self.heap, self.quick_start))
        for sub in ("data", "logs", "tmp"):
            (self.folder / sub).mkdir()
        self.port = self.port or free_port()
        self.transport = self.transport or free_port()
        self.cluster_name = self.cluster_name or f"arshif-test-{self.port}"
        self.command = [str(self.distribution / "bin" / "opensearch")]
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
                self.command = [str(copy / "bin" / "opensearch")]
            shutil.chown(self.folder, "nobody", "nogroup")
            for path in self.folder.rglob("*"):
                shutil.chown(path, "nobody", "nogroup")
            self.command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            *self.command]

    def _settings(self) -> list[str]:
        if self.peers:
            discovery = [
                "-Ediscovery.seed_hosts=" + ",".join(f"127.0.0.1:{p}" for _, p in self.peers),
                "-Ecluster.initial_cluster_manager_nodes="
                + ",".join(name for name, _ in self.peers)]
        else:
            discovery = ["-Ediscovery.type=single-node"]
        return [*discovery, "-Enetwork.host=127.0.0.1",
                f"-Ehttp.port={self.port}", f"-Etransport.port={self.transport}",
                f"-Ecluster.name={self.cluster_name}", f"-Enode.name={self.name}",
                f"-Epath.data={self.folder / 'data'}", f"-Epath.logs={self.folder / 'logs'}",
                # A full disk elsewhere on the machine must not block the test index.
                "-Ecluster.routing.allocation.disk.threshold_enabled=false",
                f"-Enode.processors={self.processors}"]

    def launch(self) -> None:
        """Start the node's process (again, after ``kill()``); ``wait_ready``
        waits for it to answer."""
        if self.folder is None:
            self._prepare()
        env = {**os.environ, "OPENSEARCH_JAVA_HOME": str(java_home()),
               "OPENSEARCH_PATH_CONF": str(self.folder / "config"),
               "OPENSEARCH_TMPDIR": str(self.folder / "tmp")}
        env.pop("JAVA_HOME", None)
        env.pop("OPENSEARCH_JAVA_OPTS", None)
        self.log = open(self.folder / "console.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([*self.command, *self._settings()], cwd=self.folder,
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, nodes: int = 1) -> None:
        """Until the node answers yellow or green in a cluster of ``nodes``."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"OpenSearch exited with {self.process.returncode}:\n"
                                   + self.console_tail())
            try:
                health = self.request("/_cluster/health?wait_for_status=yellow"
                                      f"&wait_for_nodes=%3E%3D{nodes}&timeout=2s")
                if health.get("status") in ("yellow", "green") and not health.get("timed_out"):
                    return
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.5)  # not listening yet, or no cluster manager yet: the next poll
        raise RuntimeError(f"OpenSearch did not answer within {START_TIMEOUT_S} s:\n"
                           + self.console_tail())

    def request(self, path: str, method: str = "GET", timeout: float = 10) -> dict:
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return json.loads(response.read())

    def console_tail(self, lines: int = 40) -> str:
        if self.folder is None:
            return ""
        try:
            text = (self.folder / "console.log").read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """``kill -9`` of the node (its JVM and the process group around it), as
        a crash or a pulled plug; its folder and data stay for a restart."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._close_log()

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
        self._close_log()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


class Cluster:
    """``size`` nodes on loopback forming one cluster: each has its own
    folder and ports, and all of them seed the discovery and may be elected
    cluster manager.  ``start()`` returns when every node has joined."""

    def __init__(self, size: int = 3, heap: str = CLUSTER_HEAP,
                 distribution: Path = DISTRIBUTION, processors: int = 1,
                 quick_start: bool = True):
        self.nodes = [Node(distribution, heap, processors, quick_start, name=f"node-{n}")
                      for n in range(1, size + 1)]
        name = f"arshif-test-cluster-{free_port()}"
        for node in self.nodes:
            node.port, node.transport, node.cluster_name = free_port(), free_port(), name
        for node in self.nodes:
            node.peers = [(peer.name, peer.transport) for peer in self.nodes]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> Cluster:
        try:
            for node in self.nodes:  # all at once: the first election needs a majority
                node.launch()
            for node in self.nodes:
                node.wait_ready(nodes=len(self.nodes))
        except BaseException:
            self.stop()
            raise
        return self

    def health(self, query: str = "", timeout: float = 10) -> dict:
        """``_cluster/health`` from the first node that answers (``timeout``:
        seconds to wait for its answer, longer than a ``timeout=`` in ``query``)."""
        failure: Exception | None = None
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                return node.request("/_cluster/health" + query, timeout=timeout)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                failure = exc
        raise RuntimeError(f"no node of the cluster answers: {failure}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextmanager
def running(nodes):
    """``nodes`` (a Node or a Cluster) started for a fixture and stopped
    after it.  The tests that use them skip, with the reason, where Java or
    the distribution is missing; in CI (``CI=true``) that is a failure,
    since .ci/run fetches the distribution."""
    try:
        nodes.start()
    except NodeUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"OpenSearch is needed in CI: {exc}")
        pytest.skip(str(exc))
    try:
        yield nodes
    finally:
        nodes.stop()
