"""Ordinary searches' latency with four worst-case queries in flight.

    .venv/bin/python scripts/worst_case_load.py INDEX PORT

Starts ``arshif serve`` (default workers and threads) on INDEX, times 150
ordinary searches alone, then again while four clients keep sending the
costliest queries, one kind each (search/budget.py): 125 wildcards (past the
budget), and ``*ا*``, ``ا*`` and ``*ي*`` (the costliest accepted: wildcards
that match much of the vocabulary); and times /healthz under that load.
Prints one JSON line; docs/reliability.md has the figures.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

WORDS = ["النفط", "الاقتصاد", "السعودية", "الرياض", "وزير", "الخارجية", "التعليم", "الصحة",
         "المملكة", "الملك", "أسعار", "السوق", "الطاقة", "الحرب"]
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
WORST = " ".join(f"*{LETTERS[i % len(LETTERS)]}*" for i in range(125))[:499]
#: One kind per worst-case client: past the budget, and the costliest accepted.
WORST_KINDS = [WORST, "*ا*", "ا*", "*ي*"]


def get(base: str, path: str, timeout: float = 60) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as response:
            response.read()
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    return code, (time.perf_counter() - started) * 1000


def search(base: str, q: str) -> tuple[int, float]:
    return get(base, "/?" + urllib.parse.urlencode({"q": q}))


def p95(values: list[float]) -> float:
    return round(sorted(values)[int(len(values) * 0.95) - 1], 1)


def main() -> int:
    home, port = sys.argv[1], int(sys.argv[2])
    arshif = str(Path(sys.executable).with_name("arshif"))
    server = subprocess.Popen([arshif, "serve", "--index", home, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                get(base, "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        rng = random.Random(1)
        ordinary = [" ".join(rng.sample(WORDS, rng.choice((1, 2, 3)))) for _ in range(150)]
        for q in ordinary[:30]:  # warm
            search(base, q)
        idle = [search(base, q)[1] for q in ordinary]
        stop = threading.Event()
        worst: list[tuple[int, float]] = []

        def hammer(q: str) -> None:
            while not stop.is_set():
                worst.append(search(base, q))

        clients = [threading.Thread(target=hammer, args=(q,)) for q in WORST_KINDS]
        for client in clients:
            client.start()
        time.sleep(2)
        loaded = [search(base, q)[1] for q in ordinary]
        health = [get(base, "/healthz")[1] for _ in range(20)]
        stop.set()
        for client in clients:
            client.join()
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({
        "ordinary_alone_p50_ms": round(statistics.median(idle), 1),
        "ordinary_alone_p95_ms": p95(idle),
        "ordinary_loaded_p50_ms": round(statistics.median(loaded), 1),
        "ordinary_loaded_p95_ms": p95(loaded), "healthz_max_ms": round(max(health), 1),
        "worst_requests": len(worst),
        "worst_statuses": dict(sorted(Counter(code for code, _ in worst).items())),
        "worst_p50_ms": round(statistics.median(ms for _, ms in worst), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
