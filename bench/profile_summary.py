"""Summarize a py-spy profile in "raw" (collapsed stack) format: top functions.

    py-spy record --format raw -o prof.txt -- .venv/bin/python ...
    .venv/bin/python bench/profile_summary.py prof.txt [--top 25] [--under FUNC]

Prints, per function (file:line numbers dropped), the share of samples where it
is on top of the stack (self) and anywhere on it (inclusive).  ``--under``
restricts to stacks passing through a function whose name contains FUNC.
Stdlib only.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE_RE = re.compile(r"\s*\((.*?)(?::\d+)?\)\s*$")


def frame_key(frame: str, keep_path: int = 2) -> str:
    """'fn (path/to/mod.py:12)' -> 'fn (to/mod.py)'."""
    m = _LINE_RE.search(frame)
    if not m:
        return frame.strip()
    name = frame[: m.start()].strip()
    path = "/".join(Path(m.group(1)).parts[-keep_path:])
    return f"{name} ({path})"


def load(path: Path, under: str | None = None):
    self_c: Counter = Counter()
    incl_c: Counter = Counter()
    total = 0
    for line in path.read_text("utf-8", "replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_key(f) for f in stack.split(";")]
        # py-spy puts a "process/thread" pseudo-frame first
        frames = ([f for f in frames if not f.startswith(("process ", "thread ", "<module>"))]
                  or frames)
        if under and not any(under in f for f in frames):
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl_c[f] += n
    return total, self_c, incl_c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--under", default=None)
    args = ap.parse_args(argv)
    total, self_c, incl_c = load(args.profile, args.under)
    if not total:
        print("no samples")
        return 1
    print(f"{total} samples{' under ' + args.under if args.under else ''}\n")
    print("self %   function")
    for f, n in self_c.most_common(args.top):
        print(f"{100 * n / total:6.1f}   {f}")
    print("\nincl %   function")
    for f, n in incl_c.most_common(args.top):
        print(f"{100 * n / total:6.1f}   {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
