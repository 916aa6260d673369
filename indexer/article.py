"""The records that flow from the archive readers to the index writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Article:
    """One article as read from the archive, before analysis.

    ``date`` is None when the archive gave no date or one we could not parse;
    ``date_text`` keeps what was written so the problem can be reported and
    nothing is guessed.
    """

    id: str
    headline: str
    body: str
    path: str
    date: datetime | None = None
    date_text: str = ""
    source: str = ""
    keywords: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    parent: str = ""  # id of the article this one was embedded in ("read also" block)
    url: str = ""  # the original's address, when the archive records it
    author: str = ""  # the byline, when the archive records it

    @property
    def date_problem(self) -> str:
        """'' when fine, else why the article has no date."""
        if self.date is not None:
            return ""
        return f"unparseable date: {self.date_text!r}" if self.date_text else "no date"


@dataclass
class Reject:
    """An input (a file, or one record in a file) that could not be indexed."""

    path: str
    reason: str
    record: str = ""  # which record inside the file, when a file holds many

    def as_dict(self) -> dict:
        return {"path": self.path, "record": self.record, "reason": self.reason}
