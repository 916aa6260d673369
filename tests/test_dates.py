"""Tests for indexer.dates.parse_date: every supported form, and refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from indexer.dates import MIN_YEAR, parse_date, printed_hijri

SEP_26 = datetime(2023, 9, 26)
SEP_26_1430 = datetime(2023, 9, 26, 14, 30)
RLM, LRM, ALM = "\u200f", "\u200e", "\u061c"

PARSED = [
    # The user's archive format and other English spellings.
    ("26th, September 2023 GMT", SEP_26),
    ("26TH, SEPTEMBER 2023 gmt", SEP_26),
    ("1st, October 2023 GMT", datetime(2023, 10, 1)),
    ("2nd, October 2023 GMT", datetime(2023, 10, 2)),
    ("3rd, October 2023 GMT", datetime(2023, 10, 3)),
    ("22nd, October 2023 UTC", datetime(2023, 10, 22)),
    ("September 26, 2023", SEP_26),
    ("September 26th, 2023", SEP_26),
    ("26 September 2023", SEP_26),
    ("26 september 2023", SEP_26),
    ("Sep 26 2023", SEP_26),
    ("Sept. 26, 2023", SEP_26),
    ("26th of September 2023", SEP_26),
    ("Tuesday, 26 September 2023", SEP_26),
    ("Tue, 26 Sep 2023", SEP_26),
    ("26 September 2023 GMT+3", SEP_26),
    ("26 September 2023 (GMT+03:00)", SEP_26),
    ("2023-09-26 14:30 GMT+03:00", SEP_26_1430),
    ("5 May 2021", datetime(2021, 5, 5)),
    # ISO 8601: offsets and Z are dropped, not applied.
    ("2023-09-26", SEP_26),
    ("2023-09-26T14:30:00", SEP_26_1430),
    ("2023-09-26t14:30:00", SEP_26_1430),
    ("2023-09-26 14:30:00", SEP_26_1430),
    ("2023-09-26T14:30", SEP_26_1430),
    ("2023-09-26T14:30:00+03:00", SEP_26_1430),
    ("2023-09-26T14:30:00-0500", SEP_26_1430),
    ("2023-09-26T14:30:00Z", SEP_26_1430),
    ("2023-09-26T14:30:00.123456Z", SEP_26_1430),
    ("2015-07-21 02:51:32", datetime(2015, 7, 21, 2, 51, 32)),
    # RFC 2822, as in the TREC/ANT corpora.
    ("Sun, 15 Jul 2018 21:56:56 +0400", datetime(2018, 7, 15, 21, 56, 56)),
    ("Sun, 15 Jul 2018 21:56:56 GMT", datetime(2018, 7, 15, 21, 56, 56)),
    ("15 Jul 2018 21:56:56 -0000", datetime(2018, 7, 15, 21, 56, 56)),
    # Arabic, Egyptian/Gulf names, with Arabic-Indic and Persian digits.
    ("26 سبتمبر 2023", SEP_26),
    ("٢٦ سبتمبر ٢٠٢٣", SEP_26),
    ("۲۶ سبتمبر ۲۰۲۳", SEP_26),
    ("26 يناير 2023", datetime(2023, 1, 26)),
    ("26 فبراير 2023", datetime(2023, 2, 26)),
    ("26 مارس 2023", datetime(2023, 3, 26)),
    ("26 أبريل 2023", datetime(2023, 4, 26)),
    ("26 ابريل 2023", datetime(2023, 4, 26)),
    ("26 إبريل 2023", datetime(2023, 4, 26)),
    ("26 مايو 2023", datetime(2023, 5, 26)),
    ("26 يونيو 2023", datetime(2023, 6, 26)),
    ("26 يونيه 2023", datetime(2023, 6, 26)),
    ("26 يوليو 2023", datetime(2023, 7, 26)),
    ("26 يوليه 2023", datetime(2023, 7, 26)),
    ("26 أغسطس 2023", datetime(2023, 8, 26)),
    ("26 اغسطس 2023", datetime(2023, 8, 26)),
    ("26 أكتوبر 2023", datetime(2023, 10, 26)),
    ("26 اكتوبر 2023", datetime(2023, 10, 26)),
    ("26 نوفمبر 2023", datetime(2023, 11, 26)),
    ("26 ديسمبر 2023", datetime(2023, 12, 26)),
    # Levantine/Iraqi names, with and without hamza.
    ("26 كانون الثاني 2023", datetime(2023, 1, 26)),
    ("26 شباط 2023", datetime(2023, 2, 26)),
    ("26 آذار 2023", datetime(2023, 3, 26)),
    ("26 اذار 2023", datetime(2023, 3, 26)),
    ("26 نيسان 2023", datetime(2023, 4, 26)),
    ("26 أيار 2023", datetime(2023, 5, 26)),
    ("26 ايار 2023", datetime(2023, 5, 26)),
    ("26 حزيران 2023", datetime(2023, 6, 26)),
    ("26 تموز 2023", datetime(2023, 7, 26)),
    ("26 آب 2023", datetime(2023, 8, 26)),
    ("26 أيلول 2023", SEP_26),
    ("26 ايلول 2023", SEP_26),
    ("26 تشرين الأول 2023", datetime(2023, 10, 26)),
    ("26 تشرين الاول 2023", datetime(2023, 10, 26)),
    ("26 تشرين الثاني 2023", datetime(2023, 11, 26)),
    ("26 كانون الأول 2023", datetime(2023, 12, 26)),
    # Maghrebi names.
    ("26 جانفي 2023", datetime(2023, 1, 26)),
    ("26 فيفري 2023", datetime(2023, 2, 26)),
    ("26 أفريل 2023", datetime(2023, 4, 26)),
    ("26 ماي 2023", datetime(2023, 5, 26)),
    ("26 جوان 2023", datetime(2023, 6, 26)),
    ("26 جويلية 2023", datetime(2023, 7, 26)),
    ("26 أوت 2023", datetime(2023, 8, 26)),
    # Two names for one month.
    ("26 سبتمبر/أيلول 2023", SEP_26),
    ("26 أيلول (سبتمبر) 2023", SEP_26),
    ("26 كانون الثاني/يناير 2023", datetime(2023, 1, 26)),
    # Era suffix, weekday prefix, label prefix.
    ("26 سبتمبر 2023م", SEP_26),
    ("26 سبتمبر 2023 م", SEP_26),
    ("الثلاثاء 26 سبتمبر 2023", SEP_26),
    ("الثلاثاء، 26 سبتمبر 2023", SEP_26),
    ("الأحد 24 سبتمبر 2023", datetime(2023, 9, 24)),
    ("الإثنين 25 سبتمبر 2023", datetime(2023, 9, 25)),
    ("الأربعاء 27 سبتمبر 2023", datetime(2023, 9, 27)),
    ("الخميس 28 سبتمبر 2023", datetime(2023, 9, 28)),
    ("الجمعة 29 سبتمبر 2023", datetime(2023, 9, 29)),
    ("السبت 30 سبتمبر 2023", datetime(2023, 9, 30)),
    ("تاريخ النشر: 26 سبتمبر 2023", SEP_26),
    ("تاريخ النشر : الثلاثاء 26 سبتمبر 2023م", SEP_26),
    ("نشر في: 26 سبتمبر 2023", SEP_26),
    # Times with ص/م and صباحاً/مساءً.
    ("الثلاثاء 26 سبتمبر 2023 - 10:30 م", datetime(2023, 9, 26, 22, 30)),
    ("الثلاثاء 26 سبتمبر 2023 - 10:30 ص", datetime(2023, 9, 26, 10, 30)),
    ("26 سبتمبر 2023 - 12:15 ص", datetime(2023, 9, 26, 0, 15)),
    ("26 سبتمبر 2023 - 12:15 م", datetime(2023, 9, 26, 12, 15)),
    ("26 سبتمبر 2023 10:30 مساءً", datetime(2023, 9, 26, 22, 30)),
    ("26 سبتمبر 2023 10:30 صباحاً", datetime(2023, 9, 26, 10, 30)),
    ("26 سبتمبر 2023م - 10:30 م", datetime(2023, 9, 26, 22, 30)),
    ("26 سبتمبر 2023 الساعة 14:30", SEP_26_1430),
    ("٢٦ سبتمبر ٢٠٢٣ - ١٠:٣٠ م", datetime(2023, 9, 26, 22, 30)),
    ("September 26, 2023 2:30 PM", SEP_26_1430),
    ("September 26, 2023 2:30 a.m.", datetime(2023, 9, 26, 2, 30)),
    # Numeric, day first; year first.
    ("26/09/2023", SEP_26),
    ("26-09-2023", SEP_26),
    ("26.9.2023", SEP_26),
    ("3/4/2023", datetime(2023, 4, 3)),
    ("2023/09/26", SEP_26),
    ("2023.09.26", SEP_26),
    ("26/09/2023 14:30", SEP_26_1430),
    ("٢٦/٠٩/٢٠٢٣", SEP_26),
    # Noise around the date.
    ("   26 سبتمبر 2023  \n", SEP_26),
    ("26 سبتـــمبر 2023", SEP_26),  # tatweel
    (f"{RLM}26{RLM} سبتمبر {LRM}2023{ALM}", SEP_26),
    ("\u202b26 سبتمبر 2023\u202c", SEP_26),  # RLE ... PDF
    ("\u206726/09/2023\u2069", SEP_26),  # RLI ... PDI
    ("26 سبتمبر 2023 | 10:30 م", datetime(2023, 9, 26, 22, 30)),
    ("| الثلاثاء، 26 سبتمبر، 2023 |", SEP_26),
    ("26\u00a0سبتمبر\u00a02023", SEP_26),  # no-break spaces
    # Limits of the plausible range.
    ("1 January 1800", datetime(1800, 1, 1)),
    ("29 فبراير 2024", datetime(2024, 2, 29)),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parses(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2023-09-26T14:30:00+03:00",
        "Sun, 15 Jul 2018 21:56:56 +0400",
        "26th, September 2023 GMT",
    ],
)
def test_result_is_naive_wall_clock(text: str) -> None:
    result = parse_date(text)
    assert result is not None
    assert result.tzinfo is None


REFUSED = [
    "",
    "   ",
    "أمس",
    "اليوم",
    "قبل ساعتين",
    "منذ 3 أيام",
    "yesterday",
    "2 hours ago",
    "12/05",
    "12/05/23",  # two-digit year
    "26 سبتمبر",  # no year
    "سبتمبر 2023",  # no day
    "September 2023",
    "2023",
    "lorem ipsum",
    "26 Foo 2023",
    "26 سبتمبر 2023 بتوقيت مكة",  # unknown trailing words are not skipped
    "31 September 2023",
    "31 سبتمبر 2023",
    "31/09/2023",
    "30 فبراير 2023",
    "29 فبراير 2023",  # not a leap year
    "2023-02-30",
    "2023-13-01",
    "09/26/2023",  # month first: not how Arabic archives write dates
    "26/09-2023",  # mixed separators
    "26 سبتمبر/أكتوبر 2023",  # two different months
    "الثلاثاء الأربعاء 26 سبتمبر 2023",  # two weekdays
    "Monday, 26 September 2023",  # weekday contradicts the date
    "الجمعة 26 سبتمبر 2023",
    "26 سبتمبر 2023 - 25:00",
    "26 سبتمبر 2023 - 10:60",
    "26 سبتمبر 2023 - 13:30 م",  # 13 o'clock PM
    "26 سبتمبر 2023 - 0:30 ص",
    "26 سبتمبر 2023 10:30 - 11:30",  # two times
    "26 سبتمبر 2023 10",  # stray number
    "2023م 26 سبتمبر",
    "26م سبتمبر 2023",  # era mark on the day
    "26 سبتمبر 2023th",  # ordinal on the year
    "26 سبتمبر 1445هـ",  # Hijri is not Gregorian
    "1 January 1799",
    "0001-01-01",
    "9999-12-31",
    "26 سبتمبر 20233",
    "26 सितंबर २०२३",  # Devanagari digits are not Arabic ones
    "26 سبتمبر २०२३",
    "26 سبتمبر 2023" + " " * 300,  # absurdly long input
]


@pytest.mark.parametrize("text", REFUSED)
def test_refuses(text: str) -> None:
    assert parse_date(text) is None


def test_refuses_non_string() -> None:
    assert parse_date(None) is None  # type: ignore[arg-type]


def test_min_year_is_1800() -> None:
    assert MIN_YEAR == 1800
    assert parse_date(f"31/12/{MIN_YEAR - 1}") is None
    assert parse_date(f"01/01/{MIN_YEAR}") == datetime(MIN_YEAR, 1, 1)


def _years_ahead(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def test_accepts_up_to_two_years_ahead() -> None:
    limit = _years_ahead(date.today(), 2)
    assert parse_date(limit.isoformat()) == datetime(limit.year, limit.month, limit.day)
    next_year = date.today().year + 1
    assert parse_date(f"{next_year}-01-01") == datetime(next_year, 1, 1)


def test_refuses_more_than_two_years_ahead() -> None:
    too_late = _years_ahead(date.today(), 2) + timedelta(days=1)
    assert parse_date(too_late.isoformat()) is None
    assert parse_date(f"1 January {date.today().year + 3}") is None


# -- Hijri dates (Umm al-Qura, converted by hijridate) ------------------------

SEP_27 = datetime(2023, 9, 27)  # 12 Rabi' al-Awwal 1445 in Umm al-Qura

HIJRI = [
    ("١٢ ربيع الأول ١٤٤٥هـ", SEP_27),
    ("12 ربيع الأول 1445هـ", SEP_27),
    ("12 ربيع الاول 1445 هـ", SEP_27),
    ("١٢ رَبِيع الأوَّل ١٤٤٥ هـ", SEP_27),
    ("12 ربيع الأول 1445", SEP_27),  # the month's name says which calendar
    ("الأربعاء 12 ربيع الأول 1445هـ", SEP_27),
    ("1445/03/12هـ", SEP_27),
    ("1445/03/12 هـ", SEP_27),
    ("12 ربيع الأول 1445 هجرية", SEP_27),
    ("1 محرم 1445هـ", datetime(2023, 7, 19)),
    ("15 ذو الحجة 1444هـ", datetime(2023, 7, 3)),
    ("15 ذي الحجة 1444هـ", datetime(2023, 7, 3)),
    ("3 جمادى الآخرة 1445", datetime(2023, 12, 16)),
    ("10 رمضان 1436هـ - 10:30 م", datetime(2015, 6, 27, 22, 30)),
    # Both calendars: the Gregorian date, when the Hijri one names the same day.
    ("الأربعاء ١٢ ربيع الأول ١٤٤٥هـ الموافق ٢٧ سبتمبر ٢٠٢٣م", SEP_27),
    ("12 ربيع الأول 1445هـ - 26 سبتمبر 2023م", SEP_26),  # a sighted moon: a day off
    ("26 سبتمبر 2023م الموافق 12 ربيع الأول 1445هـ", SEP_26),
]


@pytest.mark.parametrize(("text", "expected"), HIJRI)
def test_hijri(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected
    assert printed_hijri(text)


@pytest.mark.parametrize("text", [
    "12 ربيع الأول 1445هـ - 1 سبتمبر 2023م",  # the calendars disagree
    "الثلاثاء 12 ربيع الأول 1445هـ",  # 27 September 2023 was a Wednesday
    "12 ربيع الأول",  # no year
    "ربيع الأول 1445",  # no day
    "1 محرم 1200هـ",  # before Umm al-Qura's tables: not guessed
    "31 صفر 1445هـ",
    "12 ربيع الأول 1445م",  # a Gregorian era mark on a Hijri year
    "12 ربيع الأول 1445هـ 13 ربيع الأول 1445هـ",  # two Hijri dates
    "12 ربيع الرابع 1445هـ",
])
def test_hijri_refused(text: str) -> None:
    assert parse_date(text) is None
    assert not printed_hijri(text)


def test_gregorian_dates_are_not_hijri() -> None:
    assert not printed_hijri("26 سبتمبر 2023")
    assert not printed_hijri("")


@settings(max_examples=500, deadline=None)
@given(st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32),
                 st.none() | st.tuples(st.sampled_from(" T"), st.integers(0, 25),
                                       st.integers(0, 61), st.none() | st.integers(0, 61))))
def test_iso_dates_read_as_the_general_steps_read_them(parts):
    """ISO dates are read by a shortcut (a build parses one per article); a
    space around one sends it through the general steps, which must agree."""
    year, month, day, clock = parts
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if clock:
        sep, hour, minute, second = clock
        text += f"{sep}{hour:02d}:{minute:02d}" + ("" if second is None else f":{second:02d}")
    assert parse_date(text) == parse_date(f" {text} ")
