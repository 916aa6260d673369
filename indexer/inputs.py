"""What a generation was built from: every input file and what it gave.

``--update`` must give the index a full rebuild of the same files gives.
A rebuild keeps, of an article found in several files, the copy of the file
that comes first in walk order; the copies it skipped are in no index, so
the index alone cannot tell which file holds an article once the first copy
is deleted, renamed or moved.  So each generation records, per input file
(or part of a large file) in walk order, its signature and the facts
counting needs (``indexer.summary.FileFacts``: rejects, and each article's
content key, record and date problem), each article marked with whether it
was indexed.  An update replays these facts for the files that did not
change, reads the others, and so counts, and keeps, what a rebuild would.

One JSON line per file or part, gzip-compressed, written as the build
counts, so a build holds none of it in memory::

    {"path": "/a/b.jsonl", "signature": "123:456", "part": 0, "last": true,
     "rejects": [[path, reason, record], …],
     "articles": [[key, record, embedded, date_problem, indexed], …]}

(an article's path is the file's unless given as a sixth element).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from indexer import store
from indexer.article import Reject
from indexer.summary import ArticleFacts, FileFacts

NAME = "INPUTS.jsonl.gz"


class Recorder:
    """Writes a generation's inputs file, one counted file (or part) at a time."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / NAME
        self.path.unlink(missing_ok=True)  # never write through a link to another generation
        # Level 1: the file is written once per build and read once per update.
        # Closed by ``close`` (the build's ``finally``): it spans the whole build.
        self._out = gzip.open(self.path, "wt", encoding="utf-8",  # noqa: SIM115
                              compresslevel=1)

    def add(self, facts: FileFacts, indexed: list[bool]) -> None:
        articles = []
        for fact, kept in zip(facts.articles, indexed, strict=True):
            row = [fact.key, fact.record, fact.embedded, fact.date_problem, kept]
            if fact.path != facts.path:
                row.append(fact.path)
            articles.append(row)
        line = {"path": facts.path, "signature": facts.signature, "part": facts.part,
                "last": facts.last,
                "rejects": [[r.path, r.reason, r.record] for r in facts.rejects],
                "articles": articles}
        self._out.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._out.close()


def load(folder: Path) -> dict[str, list[list[tuple[FileFacts, list[bool]]]]]:
    """Per input file of the generation in ``folder``, in walk order, each
    time the walk met it (sources that overlap meet a file twice), its
    parts' facts and which of their articles were indexed."""
    path = Path(folder) / NAME
    files: dict[str, list[list[tuple[FileFacts, list[bool]]]]] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                entry = json.loads(line)
                articles = [ArticleFacts(row[0], row[5] if len(row) > 5 else entry["path"],
                                         row[1], row[2], row[3]) for row in entry["articles"]]
                facts = FileFacts(entry["path"], [Reject(*r) for r in entry["rejects"]],
                                  articles, entry["part"], entry["last"], entry["signature"])
                met = files.setdefault(facts.path, [])
                if facts.part == 0 or not met:
                    met.append([])
                met[-1].append((facts, [bool(row[4]) for row in entry["articles"]]))
    except FileNotFoundError:
        raise store.StoreError(
            f"the index in {folder} does not list its input files (an older arshif built "
            "it), so it cannot be updated; rebuild it with: arshif index (without --update)"
        ) from None
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise store.IndexDamaged(f"{NAME}: {exc}") from exc
    return files
