"""The timeline: its step follows the span, its counts are the search's, and
every bar's link finds the articles it counted (engine, page and API)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from indexer.writer import build_index
from search.backend import Request, open_backend
from search.timeline import day_number, spell, step_for, timeline_of_days
from web import create_app
from web.timeline import LEVELS, build_timeline, level

#: A word per group of articles, and the dates of the group's articles: each
#: group's span calls for another step.
GROUPS = {
    "قمح": [date(2015, 7, 21) + timedelta(days=d) for d in (0, 0, 1, 5, 12, 20)],  # 3 weeks
    "نفط": [date(2022, 1, 3), date(2022, 2, 14), date(2022, 2, 15), date(2022, 6, 30)],  # 6 months
    "ذهب": [date(2018, 3, 1), date(2019, 11, 5), date(2023, 9, 26)],  # 5 years
    "قطن": [date(2001, 5, 5), date(2016, 1, 1), date(2016, 12, 31)],  # 15 years
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeline")
    records = []
    for word, dates in GROUPS.items():
        for n, day in enumerate(dates):
            records.append({"id": f"{word}-{n}", "title": f"خبر عن {word} رقم {n}",
                            "content": f"تقرير عن {word} في الأسواق.",
                            "date": day.isoformat(), "source": "المصدر"})
    # An undated match counts in the total, not on the timeline.
    records.append({"id": "undated", "title": "قمح بلا تاريخ", "content": "قمح بلا تاريخ."})
    (root / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records),
                                  "utf-8")
    build_index([root / "a.jsonl"], root / "index")
    return root / "index"


@pytest.fixture(scope="module")
def engine(home):
    return open_backend(home)


@pytest.fixture(scope="module")
def client(home):
    return create_app(home).test_client()


def test_step_thresholds():
    assert [step_for(n) for n in (1, 62, 63, 366, 367, 3660, 3661)] == [
        "day", "day", "week", "week", "month", "month", "year"]


def _naive_period(unit: str, day: date) -> date:
    """The first day of ``day``'s period, from the calendar itself."""
    if unit == "day":
        return day
    if unit == "week":  # weeks start on Saturday
        return day - timedelta(days=(day.weekday() - 5) % 7)
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


@settings(max_examples=150, deadline=None)
@given(days=st.lists(st.integers(0, 9000), min_size=1, max_size=60),
       weighted=st.booleans(), margins=st.tuples(st.integers(0, 800), st.integers(0, 800)))
def test_every_article_is_counted_in_its_period(days, weighted, margins):
    """Whatever the archive's dates around the articles' (``bounds``: the
    periods' keys are worked out over them once, then sliced)."""
    first = date(2000, 1, 1)
    dates = [first + timedelta(days=d) for d in days]
    weights = np.arange(1, len(days) + 1, dtype=float) if weighted else None
    numbers = np.array([day_number(d) for d in dates])
    found = timeline_of_days(numbers, None, weights=weights)
    bounds = (int(numbers.min()) - margins[0], int(numbers.max()) + margins[1])
    assert timeline_of_days(numbers, bounds, weights=weights) == found
    unit = found["unit"]
    assert unit == step_for(max(days) - min(days) + 1)
    expected: dict[date, int] = {}
    for n, day in enumerate(dates):
        start = _naive_period(unit, day)
        expected[start] = expected.get(start, 0) + (n + 1 if weighted else 1)
    periods = found["periods"]
    got = {date.fromisoformat(p["from"] + ("-01-01" if len(p["from"]) == 4 else
                                           "-01" if len(p["from"]) == 7 else "")): p["count"]
           for p in periods}
    assert {k: v for k, v in got.items() if v} == expected
    assert sum(p["count"] for p in periods) == sum(expected.values())


def _naive_period_end(unit: str, day: date) -> date:
    """The last day of ``day``'s period."""
    start = _naive_period(unit, day)
    if unit == "day":
        return start
    if unit == "week":
        return start + timedelta(days=6)
    if unit == "month":
        return (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return start.replace(month=12, day=31)


@settings(max_examples=150, deadline=None)
@given(days=st.lists(st.integers(0, 9000), min_size=1, max_size=30),
       widen=st.tuples(st.integers(0, 400), st.integers(0, 400)),
       margins=st.tuples(st.integers(0, 800), st.integers(0, 800)))
def test_every_period_links_to_its_part_inside_the_filter(days, widen, margins):
    """Each period's link is the period cut to the request's date filter:
    the first and last periods where the filter cuts them, whole between."""
    first = date(2000, 1, 1)
    numbers = np.array([day_number(first + timedelta(days=d)) for d in days])
    bounds = (int(numbers.min()) - margins[0], int(numbers.max()) + margins[1])
    date_from = first + timedelta(days=max(min(days) - widen[0], bounds[0] - day_number(first)))
    date_to = first + timedelta(days=min(max(days) + widen[1], bounds[1] - day_number(first)))
    found = timeline_of_days(numbers, bounds, date_from, date_to)
    unit = found["unit"]
    day = _naive_period(unit, date_from)
    for period in found["periods"]:
        assert (period["from"], period["to"]) == spell(
            max(day, date_from), min(_naive_period_end(unit, day), date_to))
        day = _naive_period_end(unit, day) + timedelta(days=1)
    assert day > date_to


def test_whole_periods_are_spelled_as_filters_spell_them():
    assert spell(date(2023, 9, 1), date(2023, 9, 30)) == ("2023-09", "2023-09")
    assert spell(date(2024, 2, 1), date(2024, 2, 29)) == ("2024-02", "2024-02")
    assert spell(date(2023, 1, 1), date(2023, 12, 31)) == ("2023", "2023")
    assert spell(date(2023, 9, 2), date(2023, 9, 8)) == ("2023-09-02", "2023-09-08")
    assert spell(date(2023, 9, 2), date(2023, 9, 2)) == ("2023-09-02", "2023-09-02")


def test_three_weeks_are_drawn_per_day(engine):
    result = engine.search(Request(q="قمح"))
    tl = result.timeline
    assert tl["unit"] == "day"
    assert len(tl["periods"]) == 21  # 21 July .. 10 August, empty days included
    first, last = tl["periods"][0], tl["periods"][-1]
    assert (first["from"], first["to"], first["count"]) == ("2015-07-21", "2015-07-21", 2)
    assert (last["from"], last["count"]) == ("2015-08-10", 1)
    assert sum(p["count"] for p in tl["periods"]) == result.total - 1  # the undated one


def test_a_one_week_filter_shows_its_seven_days(engine):
    result = engine.search(Request(q="قمح", date_from=date(2015, 7, 20),
                                   date_to=date(2015, 7, 26)))
    tl = result.timeline
    assert tl["unit"] == "day"
    assert [p["from"] for p in tl["periods"]] == [f"2015-07-{d}" for d in range(20, 27)]
    assert [p["count"] for p in tl["periods"]] == [0, 2, 1, 0, 0, 0, 1]
    result = engine.search(Request(q="قمح", date_from=date(2015, 7, 22),
                                   date_to=date(2015, 7, 28)))
    assert len(result.timeline["periods"]) == 7
    assert [p["count"] for p in result.timeline["periods"]] == [1, 0, 0, 0, 1, 0, 0]


def test_a_filter_is_drawn_within_the_archives_dates(engine):
    # The archive's first article is of 5 May 2001: the days before it are not drawn.
    tl = engine.search(Request(q="قطن", date_from=date(2001, 4, 1),
                               date_to=date(2001, 5, 10))).timeline
    assert tl["unit"] == "day"
    assert [p["from"] for p in tl["periods"]] == [f"2001-05-{d:02d}" for d in range(5, 11)]


def test_half_a_year_is_drawn_per_week_from_saturday(engine):
    tl = engine.search(Request(q="نفط")).timeline
    assert tl["unit"] == "week"
    first = tl["periods"][0]
    assert first["from"] == "2022-01-01" and first["to"] == "2022-01-07"  # a Saturday..Friday
    assert date.fromisoformat(first["from"]).weekday() == 5
    assert first["count"] == 1
    weeks = {p["from"]: p["count"] for p in tl["periods"]}
    assert weeks["2022-02-12"] == 2  # the 14th and 15th
    assert len(tl["periods"]) == 26


def test_a_filter_cuts_the_periods_at_its_ends(engine):
    tl = engine.search(Request(q="نفط", date_from=date(2022, 1, 4))).timeline
    assert tl["periods"][0]["from"] == "2022-01-04"  # not the Saturday before
    assert tl["periods"][0]["count"] == 0


def test_years_are_drawn_per_month_up_to_ten(engine):
    tl = engine.search(Request(q="ذهب")).timeline
    assert tl["unit"] == "month"
    assert tl["periods"][0] == {"from": "2018-03", "to": "2018-03", "count": 1}
    assert tl["periods"][-1] == {"from": "2023-09", "to": "2023-09", "count": 1}
    assert len(tl["periods"]) == 5 * 12 + 7


def test_longer_spans_are_drawn_per_year(engine):
    tl = engine.search(Request(q="قطن")).timeline
    assert tl["unit"] == "year"
    assert [p["from"] for p in tl["periods"]] == [str(y) for y in range(2001, 2017)]
    assert tl["periods"][-1]["count"] == 2


def test_no_dated_match_no_timeline(engine):
    assert engine.search(Request(q="قمح", date_from=date(2030, 1, 1))).timeline is None


@pytest.mark.parametrize("word", list(GROUPS))
def test_every_bar_links_to_the_articles_it_counts(client, word):
    page = client.get("/", query_string={"q": word}).get_data(as_text=True)
    chart = page[page.index('<ol class="timeline-bars"'):]
    chart = chart[:chart.index("</ol>")]
    bars = re.findall(r'<a href="([^"]*)"[^>]*>\s*<span class="n[^"]*">([^<]*)</span>', chart)
    assert bars
    for href, label in bars:
        query = {k: v[0] for k, v in parse_qs(urlsplit(href.replace("&amp;", "&")).query).items()}
        assert query["q"] == word and {"from", "to"} <= set(query)
        api = client.get("/api/search", query_string=query).get_json()
        assert api["total"] == int(label.replace(",", "")), href


def test_counts_are_written_on_the_page_and_match_the_api(client):
    page = client.get("/", query_string={"q": "قمح"}).get_data(as_text=True)
    api = client.get("/api/search", query_string={"q": "قمح"}).get_json()
    assert "حسب اليوم" in page
    counts = re.findall(r'<span class="n[^"]*">([^<]*)</span>', page)
    assert counts == [str(p["count"]) for p in api["timeline"]["periods"] if p["count"]]
    assert 'data-unit="day"' in page
    assert " style=" not in page
    assert "21 يوليو 2015: مقالان" in page  # the title names the period and its count


def test_bar_heights_are_classes():
    tl = build_timeline({"unit": "week", "periods": [
        {"from": "2022-01-01", "to": "2022-01-07", "count": 1},
        {"from": "2022-01-08", "to": "2022-01-14", "count": 0},
        {"from": "2022-01-15", "to": "2022-01-21", "count": 200}]})
    assert [b.level for b in tl.bars] == [1, 0, LEVELS]
    assert tl.bars[0].period == "1 يناير 2022 – 7 يناير 2022"
    assert tl.bars[2].label == "200"
    assert level(1000, 1000) == LEVELS and level(0, 5) == 0
    assert build_timeline(None) is None


def test_centuries_apart_are_counted_in_their_years(tmp_path):
    """Day codes of an archive spanning more days than 16 bits count (1800
    to 2026): each article still falls in its own year."""
    records = [{"id": f"d{n}", "title": f"خبر عن الفضة رقم {n}",
                "content": f"الفضة في الأسواق، الخبر رقم {n}.", "date": day, "source": "المصدر"}
               for n, day in enumerate(["1800-03-01", "1900-06-15", "2026-01-01", "2026-02-01"])]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False)
                                                for r in records), "utf-8")
    build_index([tmp_path / "a.jsonl"], tmp_path / "index")
    tl = open_backend(tmp_path / "index").search(Request(q="الفضة")).timeline
    assert tl["unit"] == "year"
    counts = {p["from"]: p["count"] for p in tl["periods"] if p["count"]}
    assert counts == {"1800": 1, "1900": 1, "2026": 2}
    assert len(tl["periods"]) == 2026 - 1800 + 1
