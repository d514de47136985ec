"""The builders make what their docstrings say: tests elsewhere rely on these defaults."""

from __future__ import annotations

import datetime as dt

import pytest

from inspections.cases.models import CaseStatus
from inspections.common.china_time import local_date
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests.builders import (
    YUCUN,
    at,
    case,
    category,
    division,
    finding,
    flag_codes,
    inspection,
    inspector,
    open_case,
    photo,
    village,
)

pytestmark = pytest.mark.django_db


def test_at_is_an_aware_moment_in_china_time() -> None:
    moment = at(2025, 1, 6, 0, 30)

    assert moment.utcoffset() == dt.timedelta(hours=8)
    assert local_date(moment) == dt.date(2025, 1, 6)
    assert moment == dt.datetime(2025, 1, 5, 16, 30, tzinfo=dt.UTC)


def test_it_builds_a_village_with_its_ancestors_and_a_name_without_its_code() -> None:
    built = village(YUCUN)

    assert built.name == "村204" and YUCUN not in built.name
    assert built.township.code == "330523108"
    assert built.township.parent == division("330523")
    assert division("330523").parent == division("3305") and division("3305").parent == division("33")


def test_a_submitted_inspection_has_a_submission_time_inside_its_window() -> None:
    visit = inspection(village=YUCUN, status=Inspection.Status.SUBMITTED, window_start=at(2025, 1, 6, 9))

    assert visit.window_end == at(2025, 1, 6, 17)
    assert visit.submitted_at == at(2025, 1, 6, 15)
    assert visit.mode == Inspection.Mode.UNANNOUNCED


def test_a_finding_is_recorded_by_the_first_team_member() -> None:
    first, second = inspector(), inspector()
    visit = inspection(team=[first, second])

    recorded = finding(inspection=visit)

    assert recorded.created_by == first.user
    assert recorded.category == category("garbage-pile")
    assert recorded.category.name_zh_hans == "生活垃圾乱堆乱放"


def test_a_case_row_and_an_opened_case_belong_to_a_submitted_inspection() -> None:
    closed = case(
        YUCUN, opened_at=at(2025, 1, 6, 10), deadline=dt.date(2025, 1, 20), status=CaseStatus.CLOSED
    )
    opened = open_case()

    for built in (closed, opened):
        assert built.inspection.status == Inspection.Status.SUBMITTED
        assert built.finding.inspection == built.inspection
    assert closed.closed_at == at(2025, 1, 9, 10)
    assert opened.status == CaseStatus.OPEN


def test_a_photo_is_uploaded_by_the_team_and_processed() -> None:
    visit = inspection(team=[inspector()])

    built = photo(inspection=visit)
    waiting = photo(inspection=visit, process=False)

    assert built.status == Photo.Status.READY and built.thumbnail
    assert flag_codes(built) == set()
    assert waiting.status == Photo.Status.RECEIVED
