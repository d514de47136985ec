"""An inspection's status moves only along its table, through its three methods."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.errors import InspectionCancelled, InspectionSubmitted
from inspections.fieldwork.models import INSPECTION_MOVES, Inspection
from tests.builders import village

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 5, 12, 15, 0, tzinfo=SHANGHAI)
Status = Inspection.Status


def inspection(status: str = Status.SCHEDULED) -> Inspection:
    return Inspection.objects.create(
        mode=Inspection.Mode.UNANNOUNCED,
        village=village("330523108204"),
        window_start=NOW - timedelta(hours=6),
        window_end=NOW + timedelta(hours=2),
        status=status,
        submitted_at=NOW - timedelta(hours=1) if status == Status.SUBMITTED else None,
    )


def stored(visit: Inspection) -> tuple[str, datetime | None]:
    visit = Inspection.objects.get(pk=visit.pk)
    return visit.status, visit.submitted_at


def test_the_table_has_a_row_per_status_and_no_way_out_of_a_closed_inspection() -> None:
    assert set(INSPECTION_MOVES) == set(Status.values)
    assert INSPECTION_MOVES[Status.SUBMITTED] == frozenset()
    assert INSPECTION_MOVES[Status.CANCELLED] == frozenset()


def test_it_starts_a_scheduled_inspection_once() -> None:
    visit = inspection()

    first = visit.mark_started()
    again = visit.mark_started()

    assert (first, again) == (True, False)
    assert stored(visit) == (Status.IN_PROGRESS, None)


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.CANCELLED])
def test_a_late_record_never_moves_a_closed_inspection_back_to_in_progress(status: str) -> None:
    visit = inspection(status)
    before = stored(visit)

    assert visit.mark_started() is False
    assert stored(visit) == before


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.IN_PROGRESS])
def test_it_submits_an_open_inspection_with_its_summary_and_time(status: str) -> None:
    visit = inspection(status)

    visit.submit(summary="河边垃圾已记录", now=NOW)

    assert stored(visit) == (Status.SUBMITTED, NOW)
    assert Inspection.objects.get(pk=visit.pk).summary == "河边垃圾已记录"


@pytest.mark.parametrize(
    ("status", "refusal"),
    [(Status.SUBMITTED, InspectionSubmitted), (Status.CANCELLED, InspectionCancelled)],
)
def test_it_refuses_to_submit_a_closed_inspection(status: str, refusal: type[Exception]) -> None:
    visit = inspection(status)
    before = stored(visit)

    with pytest.raises(refusal):
        visit.submit(summary="again", now=NOW)
    assert stored(visit) == before


def test_closing_a_visit_submits_or_cancels_it_once_and_keeps_the_first_submission() -> None:
    submitted, cancelled, already = inspection(), inspection(Status.IN_PROGRESS), inspection(Status.SUBMITTED)
    first_submission = stored(already)

    assert submitted.close(to_status=Status.SUBMITTED, now=NOW) is True
    assert cancelled.close(to_status=Status.CANCELLED, now=NOW) is True
    assert already.close(to_status=Status.CANCELLED, now=NOW) is False

    assert stored(submitted) == (Status.SUBMITTED, NOW)
    assert stored(cancelled) == (Status.CANCELLED, None)
    assert stored(already) == first_submission


def test_closing_to_an_open_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        inspection().close(to_status=Status.IN_PROGRESS, now=NOW)
