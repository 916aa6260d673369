"""A small, bounded HTTP load generator (stdlib only: threads + http.client).

Loopback only: ``run_load`` refuses any host that is not a loopback address.
Every run is bounded by a request count and a duration, whichever comes first.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter

from stats import percentiles


def _check_loopback(host: str) -> None:
    try:
        addr = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc}") from None
    if not addr.is_loopback:
        raise ValueError(f"refusing to load {host} ({addr}): loopback addresses only")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def search_path(q: dict) -> str:
    """``/api/search?...`` for one bench query (date range and sort included)."""
    params = {"q": q["q"]}
    if q.get("date_from"):
        params["from"] = q["date_from"]
    if q.get("date_to"):
        params["to"] = q["date_to"]
    if q.get("sort", "relevance") != "relevance":
        params["sort"] = q["sort"]
    return "/api/search?" + urllib.parse.urlencode(params)


def get(host: str, port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def run_load(host: str, port: int, paths: list[str], threads: int = 16, duration: float = 20.0,
             max_requests: int = 4000, timeout: float = 10.0) -> dict:
    """Keep-alive clients in ``threads`` threads cycling over ``paths``."""
    _check_loopback(host)
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    deadline = time.perf_counter() + duration

    def worker():
        nonlocal issued
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        while True:
            with lock:
                if issued >= max_requests or time.perf_counter() >= deadline:
                    break
                i = issued
                issued += 1
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    statuses[resp.status] += 1
                    if resp.status != 200:
                        errors[f"HTTP {resp.status}"] += 1
                if resp.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(duration + timeout + 5)
    elapsed = time.perf_counter() - started
    done = len(latencies)
    ok = statuses.get(200, 0)
    return {
        "threads": threads, "duration_limit_s": duration, "max_requests": max_requests,
        "requests": done, "ok": ok, "errors": sum(errors.values()), "error_kinds": dict(errors),
        "elapsed_s": round(elapsed, 2), "rps": round(ok / elapsed, 1) if elapsed else 0.0,
        **{f"{k}_ms": v for k, v in percentiles(latencies).items()},
    }


class Server:
    """``arshif serve`` on a free loopback port, in a subprocess we stop ourselves."""

    def __init__(self, cmd: list[str], home: str, log_path: str, host: str = "127.0.0.1"):
        _check_loopback(host)
        self.host = host
        self.port = free_port(host)
        self.log = open(log_path, "wb")  # noqa: SIM115 - the server's output; stop() closes it
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--index", home, "--host", host, "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until /healthz (or /) answers; raises if the server died or never answered."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"arshif serve exited with status {self.proc.returncode}")
            try:
                status, _ = get(self.host, self.port, "/healthz", timeout=2)
                if status < 500:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"arshif serve did not answer within {timeout:.0f} s")

    def peak_rss_mb(self) -> float | None:
        """Summed peak RSS of the server and its worker processes (``--workers``)."""
        pids = [self.proc.pid]
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            total += int(line.split()[1])
            except OSError:
                continue
        return round(total / 1024, 1) if total else None

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        self.log.close()
        return self.proc.returncode
