"""Parse publication dates as Arabic news archives write them.

:func:`parse_user_date` reads a date as people type it in a filter or a
query (``2023``, ``2023-09``, ``2023-09-26``, or any form below) as the first
or last day it covers.  :func:`parse_date` reads an archive's dates: it returns a *naive* datetime
holding the wall-clock time exactly as written, or None when the text cannot
be read with confidence. It never guesses: a missing year, a relative date
("أمس", "قبل ساعتين"), an unknown word, an impossible day, a weekday that
contradicts the date, or an implausible year all give None, so the caller can
report the article instead of indexing it under a wrong date.

Decisions worth knowing:

* Time zones and offsets ("GMT", "UTC", "Z", "+0400", "+03:00") are dropped,
  not applied: archives show the time their readers saw, and converting
  would move late-evening articles to the next day.
* All-numeric dates are read day first ("03/04/2023" is 3 April), which is
  what Arabic archives use. Month-first dates such as "09/26/2023" give None
  rather than being swapped. Two-digit years are never accepted.
* Years before 1800, and dates more than two years after today, give None:
  such values are typos or placeholders, not publication dates.
* A weekday name is optional, but when present it must match the date.
* Every word must be understood: "بتوقيت مكة" or any other unknown word
  makes the whole text None rather than being skipped.
* Hijri dates ("١٢ ربيع الأول ١٤٤٥هـ", "1445/03/12 هـ") are converted with
  ``hijridate``'s Umm al-Qura calendar, the one Saudi and Gulf papers
  print (years 1343-1500 AH; others give None).  A text that gives both
  calendars ("... ١٤٤٥هـ الموافق ٢٧ سبتمبر ٢٠٢٣م") is dated by its
  Gregorian date, provided the Hijri one names the same day give or take
  two (papers that follow a sighted moon can be a day or two off Umm
  al-Qura); further apart, the text is None.
  Digits of scripts other than ASCII, Arabic-Indic and Persian, and texts
  longer than 256 characters, are refused too.

Supported spellings (digits may be ASCII, Arabic-Indic or Persian):

* English: "26th, September 2023 GMT", "September 26, 2023",
  "26 September 2023", "Sep 26 2023", "Tuesday, 26 September 2023".
* ISO 8601: "2023-09-26", "2023-09-26T14:30:00", "2023-09-26 14:30:00",
  "2023-09-26T14:30:00+03:00", "2023-09-26T14:30:00Z".
* RFC 2822 (TREC/ANT corpora): "Sun, 15 Jul 2018 21:56:56 +0400".
* Arabic: "الثلاثاء، 26 سبتمبر 2023م - 10:30 م", "26 أيلول 2023",
  "سبتمبر/أيلول", "أيلول (سبتمبر)", with Levantine/Iraqi, Egyptian/Gulf and
  Maghrebi month names, ص/م or صباحاً/مساءً, and a "تاريخ النشر:" prefix.
* Numeric: "26/09/2023", "26-09-2023", "26.9.2023", "2023/09/26".
* Hijri: "12 ربيع الأول 1445هـ", "ربيع الآخر", "جمادى الأولى", "ذو القعدة" /
  "ذي القعدة", with or without "هـ", and numeric with "هـ".
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime

from hijridate import Hijri

__all__ = ["parse_date", "printed_hijri"]

MIN_YEAR = 1800
"""Earliest year accepted; anything older is a typo or a placeholder."""

MAX_YEARS_AHEAD = 2
"""How far past today a date may lie (scheduled posts, clock skew)."""

_MAX_INPUT_CHARS = 256
"""A date field longer than this is not a date; skip the work."""

# --------------------------------------------------------------------------
# Vocabulary. Spellings are given *after* normalization: lower case, no
# hamza on alef (أ/إ/آ/ٱ -> ا), no diacritics, no tatweel.
# --------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}


def _add_month_names(month: int, *names: str) -> None:
    """Register the spellings of one month (keeps the table readable)."""
    for name in names:
        _MONTHS[name] = month


_add_month_names(1, "january", "jan", "يناير", "جانفي")
_add_month_names(2, "february", "feb", "فبراير", "شباط", "فيفري")
_add_month_names(3, "march", "mar", "مارس", "اذار")
_add_month_names(4, "april", "apr", "ابريل", "نيسان", "افريل")
_add_month_names(5, "may", "مايو", "ايار", "ماي")
_add_month_names(6, "june", "jun", "يونيو", "يونيه", "يونية", "حزيران", "جوان")
_add_month_names(
    7, "july", "jul", "يوليو", "يوليه", "يولية", "تموز", "جويلية", "جويليه", "يوليوز"
)
_add_month_names(8, "august", "aug", "اغسطس", "اب", "اوت", "غشت")
_add_month_names(9, "september", "sep", "sept", "سبتمبر", "ايلول", "شتنبر")
_add_month_names(10, "october", "oct", "اكتوبر")
_add_month_names(11, "november", "nov", "نوفمبر", "نونبر")
_add_month_names(12, "december", "dec", "ديسمبر", "دجنبر")

# Hijri months (the Umm al-Qura calendar's), one-word names.
_HIJRI_MONTHS = {"محرم": 1, "صفر": 2, "رجب": 7, "شعبان": 8, "رمضان": 9, "شوال": 10}
# Two-word Hijri names: (first word, second word without "ال") -> month.
_HIJRI_PAIRS = {
    ("ربيع", "اول"): 3, ("ربيع", "ثاني"): 4, ("ربيع", "اخر"): 4,
    **{(first, second): month
       for first in ("جمادى", "جمادي")
       for second, month in (("اولى", 5), ("اولي", 5), ("اول", 5), ("ثانية", 6),
                             ("ثانيه", 6), ("اخرة", 6), ("اخره", 6), ("ثاني", 6))},
    **{(first, second): month
       for first in ("ذو", "ذي")
       for second, month in (("قعدة", 11), ("قعده", 11), ("حجة", 12), ("حجه", 12))},
}
# How far (days) a Hijri date printed beside a Gregorian one may be from it.
_HIJRI_SLACK = 2

# Two-word Levantine names: (first word, ordinal) -> month.
_LEVANTINE_MONTHS = {
    ("تشرين", "اول"): 10,
    ("تشرين", "ثاني"): 11,
    ("كانون", "اول"): 12,
    ("كانون", "ثاني"): 1,
}

# Monday = 0, as datetime.weekday() counts.
_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("monday", "mon", "الاثنين", "الاتنين", "اثنين"),
        ("tuesday", "tue", "tues", "الثلاثاء", "الثلاثا", "ثلاثاء"),
        ("wednesday", "wed", "الاربعاء", "اربعاء"),
        ("thursday", "thu", "thur", "thurs", "الخميس", "خميس"),
        ("friday", "fri", "الجمعة", "الجمعه", "جمعة", "جمعه"),
        ("saturday", "sat", "السبت", "سبت"),
        ("sunday", "sun", "الاحد", "احد"),
    ]
):
    for _name in _names:
        _WEEKDAYS[_name] = _number
del _number, _names, _name

# Zone names that may follow a date; they are ignored, never applied.
_ZONE_NAMES = frozenset(
    ["gmt", "utc", "ut", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt"]
)

# Words that carry no date information: "on", "at", "يوم" (day), "في" (in),
# "الساعة" (at hour).
# "الموافق" (corresponding to) joins a Hijri and a Gregorian date; "لـ"
# follows it; the calendars' names are labels.
_FILLER_WORDS = frozenset(["on", "at", "the", "of", "يوم", "في", "الساعة", "الساعه",
                           "الموافق", "ل", "هجري", "هجرية", "هجريه", "ميلادي",
                           "ميلادية", "ميلاديه"])

# The Gregorian era suffix ("2023م"); distinct from "م" after a time (PM).
_ERA_MARK = "م"
# The Hijri era suffix ("1445هـ", tatweel already removed).
_HIJRI_MARK = "ه"

_PM_MARKS = frozenset(["pm", "p.m.", "p.m", "م", "مساء", "مساءا"])
# AM marks: "am", "a.m.", "ص", "صباحا", "صباح" (anything not in _PM_MARKS).

# --------------------------------------------------------------------------
# Character normalization, done once with str.translate.
# --------------------------------------------------------------------------


def _build_translation() -> dict[int, str | None]:
    """Map every character that only gets in the way to its plain form.

    Digits become ASCII so one set of regexes serves all scripts; bidi marks,
    tatweel and diacritics are invisible in the archive but break matching;
    alef forms and Persian letters vary between sites for the same word.
    """
    table: dict[int, str | None] = {}
    for offset in range(10):
        table[0x0660 + offset] = str(offset)  # Arabic-Indic digits
        table[0x06F0 + offset] = str(offset)  # Persian (Extended) digits
    invisible = [0x0640, 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF]
    invisible += range(0x202A, 0x202F)  # LRE, RLE, PDF, LRO, RLO
    invisible += range(0x2066, 0x206A)  # LRI, RLI, FSI, PDI
    invisible += range(0x064B, 0x0653)  # tanween, harakat, shadda, sukun
    invisible += [0x0670]  # superscript alef
    for code in invisible:
        table[code] = None
    for alef in "أإآٱ":
        table[ord(alef)] = "ا"
    table[ord("ی")] = "ي"  # Persian yeh
    table[ord("ک")] = "ك"  # Persian kaf
    return table


_TRANSLATION = _build_translation()

# Patterns use [0-9], not \d: digits of other scripts were translated above,
# and any digit we did not translate is one we do not know how to read.

# ISO "2023-09-26T14:30" -> "2023-09-26 14:30" (text is lower-cased first).
_ISO_T_RE = re.compile(r"(?<=[0-9])t(?=[0-9])")

# Labels some archives leave in front of the date.
_PREFIX_RE = re.compile(
    r"^(?:تاريخ\s+النشر|تاريخ\s+نشر|نشر\s+بتاريخ|نشر\s+في|بتاريخ|التاريخ"
    r"|published\s+on|published|date)\s*:?\s*"
)

_NOT_LETTER_AHEAD = r"(?![^\W\d_])"

# A zone name with an offset outside a time ("GMT+3"); dropped as a whole.
_ZONE_OFFSET_RE = re.compile(
    r"(?<![^\W\d_])(?:gmt|utc)\s*[+-][0-9]{1,2}(?::?[0-9]{2})?(?![0-9])"
)

# A time of day, with an optional AM/PM mark and an optional zone that is
# swallowed here so it cannot be mistaken for part of the date.
_TIME_RE = re.compile(
    rf"""
    (?<![0-9:]) (?P<hour>[0-9]{{1,2}}) : (?P<minute>[0-9]{{2}})
    (?: : (?P<second>[0-9]{{2}}) (?:[.,][0-9]+)? )?  (?![0-9:])
    (?: \s* (?P<mark>a\.?m\.?|p\.?m\.?|صباحا|صباح|ص|مساءا|مساء|م) {_NOT_LETTER_AHEAD} )?
    (?: \s* (?:z|utc|ut|gmt|[ecmp][sd]t) {_NOT_LETTER_AHEAD} )?
    (?: \s* [+-][0-9]{{2}}:?[0-9]{{2}} (?![0-9]) )?
    """,
    re.VERBOSE,
)

# Everything left once the time is gone, one token at a time. The last
# alternative catches any other character so the scan covers the whole text.
# Each alternative is one outer named group, so ``lastgroup`` names its kind.
_TOKEN_RE = re.compile(
    rf"""
      (?P<numeric> (?P<first>[0-9]{{1,4}}) (?P<sep>[-/.]) (?P<middle>[0-9]{{1,2}})
                   (?P=sep) (?P<last>[0-9]{{1,4}}) (?![0-9]) )
    | (?P<number> (?P<digits>[0-9]+) (?: (?P<suffix>st|nd|rd|th|م|ه) {_NOT_LETTER_AHEAD} )? )
    | (?P<levantine> (?P<lv_name>تشرين|كانون) \s+ (?:ال)? (?P<lv_ordinal>اول|ثاني) )
      {_NOT_LETTER_AHEAD}
    | (?P<hijri> (?P<h_first>ربيع|جمادى|جمادي|ذو|ذي) \s+ (?:ال)? (?P<h_second>[^\W\d_]+) )
    | (?P<word> [^\W\d_]+ ) \.?
    | (?P<separator> [-–—/.,،;؛:|()\[\]]+ )
    | (?P<space> \s+ )
    | (?P<other> . )
    """,
    re.VERBOSE | re.DOTALL,
)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def parse_date(text: str) -> datetime | None:
    """Return the naive local datetime written in ``text``, or None.

    None means "not confidently a date": the caller keeps the raw text and
    reports it. Date-only input gives midnight. Offsets and zone names are
    ignored, so the result is the wall-clock time as written.
    """
    found = _parse(text)
    return found[0] if found else None


_PARTIAL_RE = re.compile(r"^\s*(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?\s*$")
_USER_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def parse_user_date(text: str, end: bool = False) -> date:
    """A filter bound: a year or month means its first day, or its last with ``end``.

    Raises ValueError with a message fit for the user.
    """
    value = (text or "").translate(_USER_DIGITS).strip()
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


def printed_hijri(text: str) -> bool:
    """True when ``text`` is a date (``parse_date`` reads it) written with
    the Hijri calendar, alone or beside the Gregorian one."""
    found = _parse(text)
    return bool(found and found[1])


#: The ISO form most archives write (``2015-08-09``, ``2015-08-09 17:26:31``,
#: ``2015-08-09T17:26``), read without the general steps below: a build
#: parses a date per article.  Anything else, or a value these fields
#: cannot hold, takes the general path (a test compares the two).
_ISO_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?", re.ASCII)


def _parse(text: str) -> tuple[datetime, bool] | None:
    """``parse_date``'s answer and whether the text gave a Hijri date."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT_CHARS:
        return None
    if (iso := _ISO_RE.fullmatch(text)) is not None:
        try:
            moment = datetime(*(int(part or 0) for part in iso.groups()))
        except ValueError:
            moment = None
        if moment is not None and _is_plausible(moment):
            return moment, False
    return _parse_written(text)


def _parse_written(text: str) -> tuple[datetime, bool] | None:
    """``_parse`` by the general steps: any spelling this module reads."""
    cleaned = _normalize(text)
    if not cleaned:
        return None
    split = _split_time(cleaned)
    if split is None:
        return None
    rest, (hour, minute, second) = split
    found = _parse_calendar_date(rest)
    if found is None:
        return None
    (year, month, day), weekday, hijri = found
    try:
        result = datetime(year, month, day, hour, minute, second)
    except ValueError:  # 31 September, 25:00, ...
        return None
    if weekday is not None and weekday != result.weekday():
        return None
    if not _is_plausible(result):
        return None
    return result, hijri


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Reduce the many ways sites write the same date to one spelling.

    NFKC folds Arabic presentation forms and odd spaces; the translation
    table folds digits, alef forms and invisible marks; a leading label and
    a "GMT+3" zone are dropped because they say nothing about the date.
    """
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATION).lower()
    text = _ISO_T_RE.sub(" ", text).strip()
    text = _PREFIX_RE.sub("", text)
    text = _ZONE_OFFSET_RE.sub(" ", text)
    return text.strip()


def _split_time(text: str) -> tuple[str, tuple[int, int, int]] | None:
    """Take the time of day out of ``text``.

    Returns the remaining text and (hour, minute, second) — midnight when no
    time is written — or None when the time is ambiguous (two times) or
    impossible with its AM/PM mark ("15:00 م").
    """
    matches = list(_TIME_RE.finditer(text))
    if not matches:
        return text, (0, 0, 0)
    if len(matches) > 1:
        return None
    match = matches[0]
    hour = int(match["hour"])
    minute = int(match["minute"])
    second = int(match["second"] or 0)
    mark = match["mark"]
    if mark is not None:
        hour = _to_24_hour(hour, is_pm=mark in _PM_MARKS)
        if hour is None:
            return None
    rest = f"{text[: match.start()]} {text[match.end():]}"
    return rest, (hour, minute, second)


def _to_24_hour(hour: int, *, is_pm: bool) -> int | None:
    """Convert a 12-hour clock reading; 12 ص is 00 and 12 م is noon."""
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if is_pm else 0)


def _parse_calendar_date(
    text: str,
) -> tuple[tuple[int, int, int], int | None, bool] | None:
    """Read the Gregorian (year, month, day), the optional weekday and
    whether a Hijri date was given from ``text``.

    The text is scanned into tokens; every token must be understood, and the
    meaningful ones must form exactly one known pattern. Anything else is
    None, which is how relative dates, missing years and garbage are refused.
    """
    tokens = _tokenize(text)
    if tokens is None:
        return None
    items, weekday = tokens
    hijri = any(item[0] in ("hmonth", "hnumeric") for item in items)
    ymd = _match_hijri(items) if hijri else _match_pattern(items)
    if ymd is None:
        return None
    return ymd, weekday, hijri


# A meaningful token: ("number", digits, suffix), ("month", n),
# ("numeric", (year, month, day)), and in the Hijri calendar ("hmonth", n)
# and ("hnumeric", (year, month, day)).
_Item = tuple


def _tokenize(text: str) -> tuple[list[_Item], int | None] | None:
    """Turn the text into meaningful items, dropping fillers and separators.

    Two adjacent month names must agree ("سبتمبر/أيلول") and collapse to one.
    At most one weekday is allowed. Returns None on any unknown word or
    character.
    """
    items: list[_Item] = []
    weekday: int | None = None
    for token in _TOKEN_RE.finditer(text):
        kind = token.lastgroup
        if kind in ("space", "separator"):
            continue
        if kind == "other":
            return None
        if kind == "numeric":
            ymd = _numeric_date(token["first"], token["middle"], token["last"])
            if ymd is None:
                return None
            items.append(("numeric", ymd))
        elif kind == "number":
            items.append(("number", token["digits"], token["suffix"]))
        elif kind == "levantine":
            month = _LEVANTINE_MONTHS[(token["lv_name"], token["lv_ordinal"])]
            if not _append_month(items, month):
                return None
        elif kind == "hijri":
            month = _HIJRI_PAIRS.get((token["h_first"], token["h_second"]))
            if month is None:
                return None
            items.append(("hmonth", month))
        else:  # a word
            word = token["word"]
            if word in _HIJRI_MONTHS:
                items.append(("hmonth", _HIJRI_MONTHS[word]))
            elif word in _MONTHS:
                if not _append_month(items, _MONTHS[word]):
                    return None
            elif word in _WEEKDAYS:
                if weekday is not None:
                    return None
                weekday = _WEEKDAYS[word]
            elif word in (_ERA_MARK, _HIJRI_MARK):
                if not _attach_era_mark(items, word):
                    return None
            elif word not in _FILLER_WORDS and word not in _ZONE_NAMES:
                return None
    return items, weekday


def _append_month(items: list[_Item], month: int) -> bool:
    """Add a month, merging it with an identical month just before it.

    Archives often give two names for one month ("أيلول (سبتمبر)"); two
    *different* months next to each other mean we cannot tell which is meant.
    """
    if items and items[-1][0] == "month":
        return items[-1][1] == month
    items.append(("month", month))
    return True


def _attach_era_mark(items: list[_Item], mark: str) -> bool:
    """Accept a detached "م" (Gregorian era) or "هـ" (Hijri) only right after
    a year; "هـ" after a numeric date makes it a Hijri one."""
    if not items:
        return False
    last = items[-1]
    if last[0] == "numeric":
        if mark == _HIJRI_MARK:
            items[-1] = ("hnumeric", last[1])
        return True
    if last[0] == "number" and len(last[1]) == 4 and last[2] is None:
        items[-1] = ("number", last[1], mark)
        return True
    return False


def _numeric_date(first: str, middle: str, last: str) -> tuple[int, int, int] | None:
    """Read "26/09/2023" (day first) or "2023/09/26" (year first).

    The four-digit part tells which end holds the year; without one (a
    two-digit year) the date is ambiguous and refused.
    """
    if len(first) == 4 and len(last) <= 2:
        return int(first), int(middle), int(last)
    if len(first) <= 2 and len(last) == 4:
        return int(last), int(middle), int(first)
    return None


def _match_pattern(items: list[_Item]) -> tuple[int, int, int] | None:
    """Accept only day-month-year, month-day-year or a numeric date."""
    kinds = tuple(item[0] for item in items)
    if kinds == ("numeric",):
        return items[0][1]
    if kinds == ("number", "month", "number"):
        day, month, year = items
    elif kinds == ("month", "number", "number"):
        month, day, year = items
    else:
        return None
    if not _is_day_token(day) or not _is_year_token(year):
        return None
    return int(year[1]), month[1], int(day[1])


def _match_hijri(items: list[_Item]) -> tuple[int, int, int] | None:
    """The Gregorian (year, month, day) of a Hijri date, alone or beside a
    Gregorian date that names the same day (within ``_HIJRI_SLACK`` days)."""
    at = [i for i, item in enumerate(items) if item[0] in ("hmonth", "hnumeric")]
    if len(at) != 1:
        return None
    i = at[0]
    if items[i][0] == "hnumeric":
        hijri, rest = items[i][1], items[:i] + items[i + 1:]
    else:
        if not 0 < i < len(items) - 1 or items[i - 1][0] != "number" \
                or items[i + 1][0] != "number":
            return None
        day, year = items[i - 1], items[i + 1]
        if not _is_day_token(day) or len(year[1]) != 4 or year[2] not in (None, _HIJRI_MARK):
            return None
        hijri, rest = (int(year[1]), items[i][1], int(day[1])), items[:i - 1] + items[i + 2:]
    try:
        converted = Hijri(*hijri).to_gregorian()
    except (ValueError, OverflowError):  # 30 Safar, or outside Umm al-Qura's years
        return None
    if not rest:
        return converted.year, converted.month, converted.day
    gregorian = _match_pattern(rest)
    if gregorian is None:
        return None
    try:
        apart = abs((date(*gregorian) - date(converted.year, converted.month,
                                             converted.day)).days)
    except ValueError:
        return None
    return gregorian if apart <= _HIJRI_SLACK else None


def _is_day_token(item: _Item) -> bool:
    """A day has one or two digits and may carry an ordinal (26th)."""
    return len(item[1]) <= 2 and item[2] not in (_ERA_MARK, _HIJRI_MARK)


def _is_year_token(item: _Item) -> bool:
    """A year has four digits and may carry the era mark (2023م)."""
    return len(item[1]) == 4 and item[2] in (None, _ERA_MARK)


def _is_plausible(moment: datetime) -> bool:
    """Refuse years before MIN_YEAR and dates beyond MAX_YEARS_AHEAD.

    Such values come from typos ("2203") or placeholders ("0001-01-01"),
    and indexing them would put articles at the ends of every date sort.
    """
    if moment.year < MIN_YEAR:
        return False
    today = date.today()
    try:
        latest = today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # today is 29 February
        latest = today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)
    return moment.date() <= latest
