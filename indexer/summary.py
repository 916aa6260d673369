"""What a build did, counted the same way however many processes wrote it.

A parallel build (indexer/parallel.py) writes each part of the input in its
own process, and only the parent sees the whole walk order.  So the counting
is a function of small per-file facts, replayed in walk order: the one-process
build and the parent of a parallel build call the same ``count_file``, and
both give the same summary for the same input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from indexer.article import Article, Reject
from indexer.readers.archive import FileResult
from indexer.schema import content_key


@dataclass
class Summary:
    """What a build did; every input file and record is counted exactly once."""

    files: int = 0  # input files seen
    files_unchanged: int = 0  # --update: same size and mtime as last time
    files_rejected: int = 0  # files that gave no article at all
    indexed: int = 0  # articles written (including embedded ones)
    embedded: int = 0  # of which came from "read also" blocks
    duplicates: int = 0  # articles already indexed from another file
    records_rejected: int = 0  # records rejected inside files that gave articles
    removed: int = 0  # --update: documents of the previous generation deleted
    added: int = 0  # --update: documents written (the other indexed ones were kept)
    update: bool = False  # an --update: the counts are a rebuild's, added/removed the change
    unchanged: bool = False  # --update found nothing to change: the live generation stays
    dates_missing: int = 0  # articles indexed without a date
    reasons: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    generation: str = ""
    report: list[dict] = field(default_factory=list)  # rejects, duplicates, date problems
    #: The file being counted, read in parts: (articles, rejects) so far.
    open_file: tuple[int, int] = (0, 0)

    @property
    def rate(self) -> float:
        """Articles written per second."""
        written = self.added if self.update else self.indexed
        return written / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in ("report", "open_file")}
        data["reasons"] = dict(self.reasons)
        data["articles_per_second"] = round(self.rate, 1)
        return data


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What counting needs of one article: small, so it crosses processes
    cheaply (slots: the parent of a parallel build holds one per article)."""

    key: str  # content key (indexer.schema.content_key)
    path: str
    record: str
    embedded: bool
    date_problem: str  # '' when the article has a date

    @classmethod
    def of(cls, article: Article) -> ArticleFacts:
        return cls(content_key(article), article.path, article.id, bool(article.parent),
                   article.date_problem)


@dataclass(slots=True)
class FileFacts:
    """What counting needs of one input file."""

    path: str
    rejects: list[Reject]
    articles: list[ArticleFacts]
    part: int = 0  # of a large file read in parts (FileResult.part)
    last: bool = True
    signature: str = ""  # the file's size and mtime when read ('' if it could not be)

    @classmethod
    def of(cls, result: FileResult) -> FileFacts:
        return cls(result.path, result.rejects, [ArticleFacts.of(a) for a in result.articles],
                   result.part, result.last, result.signature)


def _reason_key(reason: str) -> str:
    """Group reasons for the summary ("unparseable date: 'x'" -> "unparseable date",
    "binary content, not text (32 control characters …)" -> "binary content, not text")."""
    return reason.split(":")[0].split(" (")[0]


def count_file(summary: Summary, facts: FileFacts, seen_keys: set[str]) -> list[bool]:
    """Count one file into ``summary``; return, per article, whether it is new
    (not a duplicate of an article in ``seen_keys``, which it then joins)."""
    s = summary
    if facts.part == 0:
        s.files += 1
        s.open_file = (0, 0)
    for reject in facts.rejects:
        s.reasons[_reason_key(reject.reason)] += 1
        s.report.append({"kind": "rejected", **reject.as_dict()})
    fresh = []
    for article in facts.articles:
        new = article.key not in seen_keys
        fresh.append(new)
        if not new:
            s.duplicates += 1
            s.report.append(
                {"kind": "duplicate", "path": article.path, "record": article.record,
                 "reason": "duplicate: same headline and body already indexed"}
            )
            continue
        seen_keys.add(article.key)
        s.indexed += 1
        s.embedded += article.embedded
        if article.date_problem:
            s.dates_missing += 1
            s.report.append(
                {"kind": "date", "path": article.path, "record": article.record,
                 "reason": article.date_problem}
            )
    # A file's rejects are its records' when it gave articles, else the
    # file is rejected: known at its last part.
    articles, rejects = s.open_file
    articles, rejects = articles + len(facts.articles), rejects + len(facts.rejects)
    s.open_file = (articles, rejects)
    if facts.last:
        if articles:
            s.records_rejected += rejects
        else:
            s.files_rejected += 1
    return fresh
