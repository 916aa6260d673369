"""A synthetic news archive of any size, grown from the shared corpora.

The shared corpora hold 58,579 articles, 58,227 of them with a body (what
the project's readers give); a scale benchmark needs up to a million.  The
archive written here is the real articles first, then rounds of variants:

* round 0: the base articles as the project's readers read them, in a seeded
  random order, unchanged; except that the 914 that repeat an earlier one
  (the same story under two URLs: arshif indexes it once, Lucene twice) are
  written as variants, so both engines index the same articles;
* round r >= 1: every base article again, its paragraphs shuffled plus one
  paragraph of another article inserted, one headline word replaced by a word
  of another headline, dated r * 364 days earlier (same weekday): an archive
  that grows by going back in time, as a newspaper's does.

One ``random.Random(seed)`` drives the whole stream, so the first N articles
are the same whatever the total: the 234k archive is a prefix of the 1M one,
and the same seed always gives the same bytes.  Articles are written as JSON
Lines (id, headline, body, date, source) in shards of ``shard`` articles, so
that a size is a list of whole shards and ``arshif index --jobs 2`` can split
the input between its processes (it splits by file).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

SHARD = 1_000
#: Days each round moves its copies back (52 weeks: the weekday is kept).
ROUND_DAYS = 364
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class Base:
    """One real article, as the generator needs it."""

    headline: str
    body: str
    paragraphs: list[str]
    date: object  # datetime | None
    source: str
    duplicate: bool  # repeats an earlier article's content (arshif's content key)


def read_base(sources: list[Path]) -> list[Base]:
    """Every article of ``sources`` as the project's own readers read it (what
    ``arshif index`` would see), in walk order, repeats marked."""
    from indexer.article import Reject
    from indexer.readers.archive import iter_files, read_file
    from indexer.schema import content_key

    roots = [s for s in sources if s.is_dir()]
    seen: set[str] = set()
    out: list[Base] = []
    for item in iter_files(sources):
        if isinstance(item, Reject):
            continue
        for art in read_file(item, "auto", {}, roots).articles:
            key = content_key(art)
            paragraphs = [p.strip() for p in art.body.split("\n") if p.strip()]
            out.append(Base(art.headline, art.body, paragraphs or [art.body], art.date,
                            art.source, key in seen))
            seen.add(key)
    return out


class Generator:
    """Article ``i`` of the synthetic archive, in order (see the module docstring)."""

    def __init__(self, base: list[Base], seed: int):
        if not base:
            raise ValueError("no base articles")
        self.rng = random.Random(seed)
        self.base = list(base)
        self.rng.shuffle(self.base)
        self.words = [w for b in self.base for w in b.headline.split()] or ["خبر"]
        self.seen: set[bytes] = set()
        self.count = 0

    def next(self) -> dict:
        i = self.count
        self.count += 1
        rnd, j = divmod(i, len(self.base))
        a = self.base[j]
        if rnd == 0 and not a.duplicate:
            rec = self._record(i, a.headline, a.body, a.date, a.source)
        else:
            rec = self._variant(i, a, rnd)
        self.seen.add(self._key(rec))
        return rec

    def _variant(self, i: int, a: Base, rnd: int) -> dict:
        """A new article from ``a``; redrawn in the rare case it repeats one
        already written (arshif would index it once, Lucene twice)."""
        date = a.date - timedelta(days=ROUND_DAYS * rnd) if a.date else None
        while True:
            paragraphs = list(a.paragraphs)
            self.rng.shuffle(paragraphs)
            other = self.base[self.rng.randrange(len(self.base))]
            paragraphs.insert(self.rng.randint(0, len(paragraphs)),
                              self.rng.choice(other.paragraphs))
            words = a.headline.split() or [""]
            words[self.rng.randrange(len(words))] = self.rng.choice(self.words)
            rec = self._record(i, " ".join(words), "\n\n".join(paragraphs), date, a.source)
            if self._key(rec) not in self.seen:
                return rec

    @staticmethod
    def _record(i: int, headline: str, body: str, date, source: str) -> dict:
        return {"id": f"syn-{i:07d}", "headline": headline, "body": body,
                "date": date.strftime(DATE_FORMAT) if date else "", "source": source}

    @staticmethod
    def _key(rec: dict) -> bytes:
        text = rec["headline"] + "\n" + rec["body"]
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


def shard_name(number: int) -> str:
    return f"{number:05d}.jsonl"


def write_archive(base: list[Base], total: int, dest: Path, seed: int,
                  shard: int = SHARD) -> list[Path]:
    """Write the first ``total`` articles (a multiple of ``shard``) under
    ``dest`` as shard files; return them in order.  Streams: one shard in memory."""
    if total % shard:
        raise ValueError(f"{total} articles is not a whole number of {shard}-article shards")
    dest.mkdir(parents=True, exist_ok=True)
    gen = Generator(base, seed)
    files = []
    for number in range(total // shard):
        path = dest / shard_name(number)
        lines = [json.dumps(gen.next(), ensure_ascii=False) for _ in range(shard)]
        path.write_text("\n".join(lines) + "\n", "utf-8")
        files.append(path)
    return files


def link_size(files: list[Path], count: int, shard: int, dest: Path) -> Path:
    """A folder of hard links to the first ``count`` articles' shards: what
    both engines index for one size.  Hard links, not symlinks: arshif
    skips symlinks that leave the folder it is given (and so would a user's
    archive)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in files[:count // shard]:
        link = dest / path.name
        if not link.exists():
            os.link(path, link)
    return dest
