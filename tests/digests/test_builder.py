"""The digest's figures: what they count, whose they are, and what they never reveal."""

from __future__ import annotations

import datetime as dt

import pytest

from inspections.cases.models import CaseStatus
from inspections.digests.models import DigestKind
from inspections.digests.selectors import Period, digest_build
from inspections.fieldwork.models import Inspection
from tests.builders import (
    ANJI,
    ANJI_OTHER,
    DEQING,
    DEQING_VILLAGE,
    HUZHOU,
    MONDAY,
    YUCUN,
    at,
    case,
    category,
    county_activity,
    digest_inspection,
)

pytestmark = pytest.mark.django_db

WEEK = Period(kind=DigestKind.WEEKLY, start=MONDAY)
SENT_AT = at(2025, 1, 13, 8)


def test_periods_are_days_and_monday_weeks_in_china_time() -> None:
    # 2025-01-12 23:30 UTC is Monday 13 January 07:30 in China: last week is 6–12 January.
    now = dt.datetime(2025, 1, 12, 23, 30, tzinfo=dt.UTC)
    assert Period.last_complete(DigestKind.WEEKLY, now) == WEEK
    assert Period.last_complete(DigestKind.DAILY, now) == Period(DigestKind.DAILY, dt.date(2025, 1, 12))
    assert Period.containing(DigestKind.WEEKLY, dt.date(2025, 1, 9)) == WEEK
    assert WEEK.previous.start == dt.date(2024, 12, 30)
    assert WEEK.end == dt.date(2025, 1, 13)
    assert WEEK.label() == "2025-01-06 – 2025-01-12"


def test_it_counts_a_week_against_the_week_before() -> None:
    county_activity(YUCUN)

    digest = digest_build(prefix=ANJI, period=WEEK, language="en", now=SENT_AT)

    # two visits of the week plus the visits that opened the two new cases; one not submitted
    assert (digest.planned.current, digest.done.current) == (4, 3)
    assert (digest.planned.previous, digest.done.previous) == (1, 1)
    assert digest.coverage == (0.75, 1.0)
    assert (digest.new_cases.current, digest.new_cases.previous) == (2, 1)
    assert (digest.closed_cases.current, digest.closed_cases.previous) == (1, 0)
    assert (digest.open_cases.current, digest.open_cases.previous) == (2, 1)
    assert (digest.overdue.current, digest.overdue.previous) == (1, 0)
    assert digest.escalated_overdue == 1
    # Tuesday 14 January is within five working days of Monday 13 January
    assert (digest.due_soon.current, digest.due_soon.previous) == (1, 0)
    assert digest.due_soon_until == dt.date(2025, 1, 20)
    assert (digest.evidence_flags.current, digest.evidence_flags.previous) == (0, 0)
    assert not digest.is_empty

    [overdue] = digest.overdue_rows
    assert (overdue.village_code, overdue.days_overdue, overdue.escalation_level) == (YUCUN, 3, 1)
    assert overdue.category == "Garbage piled up"
    assert overdue.severity == "serious"
    [due] = digest.due_soon_rows
    assert due.deadline == dt.date(2025, 1, 14)
    assert [(v.code, v.open.current, v.open.previous) for v in digest.top_villages] == [(YUCUN, 2, 1)]
    assert {b.key: (b.new.current, b.closed.current) for b in digest.by_domain} == {
        "sewage": (1, 0),
        "garbage": (1, 1),
    }
    assert {b.key: b.new.current for b in digest.by_severity} == {"moderate": 1, "serious": 1}
    assert [b.label for b in digest.by_category] == ["Garbage piled up", "Sewage facility idle"]


def test_it_names_categories_in_the_language_asked_for() -> None:
    county_activity(YUCUN)

    digest = digest_build(prefix=ANJI, period=WEEK, language="zh-hans", now=SENT_AT)

    assert digest.overdue_rows[0].category == "生活垃圾乱堆乱放"
    assert {b.label for b in digest.by_category} == {"生活垃圾乱堆乱放", "污水设施闲置"}


def test_one_county_never_sees_another_countys_figures() -> None:
    county_activity(YUCUN)
    county_activity(DEQING_VILLAGE, scale=2)

    anji = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)
    deqing = digest_build(prefix=DEQING, period=WEEK, now=SENT_AT)
    huzhou = digest_build(prefix=HUZHOU, period=WEEK, now=SENT_AT)

    assert (anji.new_cases.current, deqing.new_cases.current, huzhou.new_cases.current) == (2, 4, 6)
    assert (anji.planned.current, deqing.planned.current, huzhou.planned.current) == (4, 8, 12)
    assert {row.village_code for row in anji.overdue_rows} == {YUCUN}
    assert {row.village_code for row in deqing.overdue_rows} == {DEQING_VILLAGE}
    assert {v.code for v in deqing.top_villages} == {DEQING_VILLAGE}
    assert {v.code for v in huzhou.top_villages} == {YUCUN, DEQING_VILLAGE}


def test_visits_whose_window_has_not_closed_are_never_counted() -> None:
    # Open now (Sunday to Wednesday), and one next month: nothing may reveal them.
    digest_inspection(
        ANJI_OTHER, window_start=at(2025, 1, 12, 8), window_end=at(2025, 1, 15, 18), status="scheduled"
    )
    digest_inspection(
        ANJI_OTHER, window_start=at(2025, 2, 3, 8), window_end=at(2025, 2, 4, 18), status="scheduled"
    )
    # Even submitted early, a visit counts only once its window has closed.
    digest_inspection(
        ANJI_OTHER,
        window_start=at(2025, 1, 10, 8),
        window_end=at(2025, 1, 14, 18),
        submitted_at=at(2025, 1, 10, 15),
    )

    last_week = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)
    # A preview of the week in progress, and of next week, built on Tuesday 14 January at noon.
    this_week = digest_build(
        prefix=ANJI, period=Period(DigestKind.WEEKLY, dt.date(2025, 1, 13)), now=at(2025, 1, 14, 12)
    )
    next_week = digest_build(
        prefix=ANJI, period=Period(DigestKind.WEEKLY, dt.date(2025, 1, 20)), now=at(2025, 1, 14, 12)
    )
    daily = digest_build(
        prefix=ANJI, period=Period(DigestKind.DAILY, dt.date(2025, 1, 13)), now=at(2025, 1, 14, 8)
    )

    for digest in (last_week, this_week, next_week, daily):
        assert (digest.planned.current, digest.done.current) == (0, 0)
        assert (digest.planned.previous, digest.done.previous) == (0, 0)
        assert digest.is_empty
        assert digest.top_villages == []


def test_a_cancelled_visit_is_not_planned() -> None:
    digest_inspection(
        YUCUN,
        window_start=at(2025, 1, 7, 8),
        window_end=at(2025, 1, 8, 8),
        status=Inspection.Status.CANCELLED,
    )

    digest = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)

    assert digest.planned.current == 0


def test_overdue_is_the_state_at_the_end_of_the_period() -> None:
    garbage = category()
    # Overdue at the end of the week, closed since: still overdue in last week's digest.
    case(
        YUCUN,
        opened_at=at(2024, 12, 20, 9),
        deadline=dt.date(2025, 1, 3),
        status=CaseStatus.CLOSED,
        closed_at=at(2025, 1, 13, 10),
        kind=garbage,
    )
    # Awaiting verification: the rectification is in, the deadline no longer runs.
    case(
        YUCUN,
        opened_at=at(2024, 12, 20, 9),
        deadline=dt.date(2025, 1, 3),
        status=CaseStatus.AWAITING_VERIFICATION,
        kind=garbage,
    )
    # Opened after the week: not in it.
    case(YUCUN, opened_at=at(2025, 1, 13, 9), deadline=dt.date(2025, 1, 3), kind=garbage)

    digest = digest_build(prefix=ANJI, period=WEEK, now=at(2025, 1, 14, 8))

    assert digest.overdue.current == 1
    assert digest.overdue_rows[0].days_overdue == 10
    assert digest.overdue.previous == 1  # already past its deadline on Monday 6 January


def test_an_empty_jurisdiction_gives_an_empty_digest() -> None:
    county_activity(DEQING_VILLAGE)

    digest = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)

    assert digest.is_empty
    assert digest.summary()["new_cases"] == [0, 0]


def _many(scale: int) -> None:
    county_activity(YUCUN, scale=scale)
    county_activity(ANJI_OTHER, scale=scale)
    county_activity(DEQING_VILLAGE, scale=scale)


@pytest.mark.parametrize("scale", [1, 12])
def test_the_builder_uses_the_same_number_of_queries_whatever_the_data(
    scale: int, django_assert_num_queries: object
) -> None:
    _many(scale)

    # 1    the holiday calendar: administrator's years (their dates are a second
    #      query only when a year was entered; none here)
    # 3    inspections planned / done, both periods (one aggregate)
    # 4    new / closed cases by category and severity, both periods (one grouped aggregate)
    # 5    open / overdue / due soon / escalated at both period ends (one aggregate)
    # 6    the overdue list, with village and category (one select_related query)
    # 7    the due-soon list, likewise
    # 8    villages with the most open cases (one grouped aggregate)
    # 9    evidence flags awaiting review at both period ends (one aggregate over photos
    #      with a flag of their own)
    # 10   the photos whose flags all name other photos (none here, so no query for those)
    # 11   complaints whose reply is overdue at both period ends (one aggregate)
    with django_assert_num_queries(10):  # type: ignore[operator]
        digest = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)

    assert digest.new_cases.current == 4 * scale
    assert len(digest.overdue_rows) == 2 * scale


def test_only_confirmed_problems_count_and_those_awaiting_review_are_counted_apart() -> None:
    garbage = category()
    case(YUCUN, opened_at=at(2025, 1, 7, 9), deadline=dt.date(2025, 1, 8), kind=garbage)
    for status in (
        CaseStatus.AWAITING_REVIEW,
        CaseStatus.AWAITING_REVIEW,
        CaseStatus.VOIDED,
        CaseStatus.MERGED,
    ):
        case(YUCUN, opened_at=at(2025, 1, 7, 9), deadline=dt.date(2025, 1, 8), status=status, kind=garbage)

    digest = digest_build(prefix=ANJI, period=WEEK, language="zh-hans", now=SENT_AT)

    assert (digest.new_cases.current, digest.open_cases.current, digest.overdue.current) == (1, 1, 1)
    assert len(digest.overdue_rows) == 1
    assert [v.open.current for v in digest.top_villages] == [1]
    assert digest.awaiting_review == 2


def test_false_rectification_is_counted_apart_from_relapses_in_the_same_query(
    django_assert_num_queries: object,
) -> None:
    garbage = category()
    relapsed = case(YUCUN, opened_at=at(2024, 12, 2, 9), deadline=dt.date(2025, 1, 20), kind=garbage)
    relapsed_before = case(YUCUN, opened_at=at(2024, 12, 2, 9), deadline=dt.date(2025, 1, 20), kind=garbage)
    false = case(ANJI_OTHER, opened_at=at(2025, 1, 8, 9), deadline=dt.date(2025, 1, 20), kind=garbage)
    closed_false = case(
        YUCUN,
        opened_at=at(2024, 12, 2, 9),
        deadline=dt.date(2024, 12, 20),
        status=CaseStatus.CLOSED,
        closed_at=at(2025, 1, 8, 9),
        kind=garbage,
    )
    in_deqing = case(DEQING_VILLAGE, opened_at=at(2025, 1, 8, 9), deadline=dt.date(2025, 1, 20), kind=garbage)
    type(relapsed).objects.filter(pk__in=[relapsed.pk, relapsed_before.pk]).update(is_relapse=True)
    type(false).objects.filter(pk__in=[false.pk, closed_false.pk, in_deqing.pk]).update(
        is_false_rectification=True
    )

    with django_assert_num_queries(10):  # type: ignore[operator]
        digest = digest_build(prefix=ANJI, period=WEEK, now=SENT_AT)

    assert (digest.relapsed.current, digest.relapsed.previous) == (2, 2)
    # Open at the week's end: the one opened in it; on Monday: the one closed since.
    assert (digest.false_rectified.current, digest.false_rectified.previous) == (1, 1)
    assert digest.summary()["relapsed"] == [2, 2]
    assert digest.summary()["false_rectified"] == [1, 1]
