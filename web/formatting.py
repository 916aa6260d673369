"""Arabic text for the UI: dates and counts.

Dates are shown one way everywhere ("26 سبتمبر 2023": Western digits, the
month names used across Arab news sites), whatever form the index stores.
"""

from __future__ import annotations

import re
from datetime import date

from markupsafe import Markup, escape

MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
          "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")

#: A run of Latin letters and digits, with the separators and spaces inside it
#: (2023-09-26, arshif index, 500).
_LTR_RUN = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z_./:\- ]*[0-9A-Za-z])?")


def ltr_runs(text: str) -> Markup:
    """Escaped text with each Latin or number run in ``<bdi dir="ltr">``.

    In right-to-left text the bidi algorithm reads digits after Arabic
    letters as Arabic numbers, which a "-" does not join: "2023-09" would be
    shown as "09-2023", teaching the wrong format.  Isolated left-to-right,
    each run reads as typed.
    """
    out, pos = [], 0
    for m in _LTR_RUN.finditer(text):
        out += [escape(text[pos:m.start()]), Markup('<bdi dir="ltr">%s</bdi>') % m.group()]
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def arabic_date(value) -> str:
    """'2023-09-26' (or a date, or '2023-09', '2023') -> '26 سبتمبر 2023'.

    Anything unrecognised is returned as text rather than raising: a template
    filter must never break a page.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        value = value.isoformat()
    parts = str(value)[:10].split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return str(value)
    if len(numbers) == 1:
        return str(numbers[0])
    if not 1 <= numbers[1] <= 12:
        return str(value)
    month_year = f"{MONTHS[numbers[1] - 1]} {numbers[0]}"
    return f"{numbers[2]} {month_year}" if len(numbers) >= 3 else month_year


def number(value: int) -> str:
    """Western digits with thousands separators (1,234)."""
    return f"{int(value):,}"


def count_phrase(n: int, one: str, two: str, few: str, many: str) -> str:
    """Arabic agreement of a noun with a number: 1, 2, 3-10 and 11+ differ."""
    if n == 1:
        return one
    if n == 2:
        return two
    noun = few if 3 <= n % 100 <= 10 else many
    return f"{number(n)} {noun}"


def results_phrase(n: int) -> str:
    return count_phrase(n, "نتيجة واحدة", "نتيجتان", "نتائج", "نتيجة")


def articles_phrase(n: int) -> str:
    return count_phrase(n, "مقال واحد", "مقالان", "مقالات", "مقالًا")


def sources_phrase(n: int) -> str:
    return count_phrase(n, "مصدر واحد", "مصدران", "مصادر", "مصدرًا")


def stories_phrase(n: int) -> str:
    return count_phrase(n, "قصة واحدة", "قصتان", "قصص", "قصة")


def others_phrase(n: int) -> str:
    """'N other articles' (of the same story), in agreement with N."""
    if n == 1:
        return "مقال آخر"
    if n == 2:
        return "مقالان آخران"
    if 3 <= n % 100 <= 10:
        return f"{number(n)} مقالات أخرى"
    return f"{number(n)} مقالًا آخر"


def seconds(ms: float) -> str:
    """Search time as people read it: '0.25 ثانية' (never a misleading '0.00')."""
    if ms < 10:
        return "أقل من 0.01 ثانية"
    return f"{ms / 1000:.2f} ثانية"
