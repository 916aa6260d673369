"""Dates as people type them in filters: ``2023``, ``2023-09``, ``2023-09-26``,
or any form the archive reader understands (``26 سبتمبر 2023``)."""

from __future__ import annotations

import calendar
import re
from datetime import date

from indexer.dates import parse_date

_PARTIAL_RE = re.compile(r"^\s*(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?\s*$")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def parse_user_date(text: str, end: bool = False) -> date:
    """A filter bound: a year or month means its first day, or its last with ``end``.

    Raises ValueError with a message fit for the user.
    """
    value = (text or "").translate(_DIGITS).strip()
    if m := _PARTIAL_RE.match(value):
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        try:
            if day:
                return date(year, int(month), int(day))
            if month:
                month = int(month)
                return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
            return date(year, 12, 31) if end else date(year, 1, 1)
        except ValueError:
            raise ValueError(f"not a valid date: {text!r}") from None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {text!r} (use 2023, 2023-09 or 2023-09-26)")
    return parsed.date()
