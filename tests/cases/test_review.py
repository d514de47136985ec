"""Review before 交办: confirm, merge duplicates, void with a reason; who may, who sees."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from inspections.cases.errors import MergeTargetInvalid, ReviewReasonRequired
from inspections.cases.models import Case, CaseEvent, CaseStatus, Rectification, ReviewPolicy
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.review import case_confirm, case_merge, case_void
from inspections.cases.services.status import case_verify
from inspections.common.china_time import local_date
from inspections.common.errors import PermissionDenied
from tests.builders import (
    division,
    events_of,
    force_status,
    open_case,
    responsible_party,
    submitted_inspection,
    supervisor,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ANJI, ANJI_TOWNSHIP = "330523", "330523108"


def test_findings_open_awaiting_review_of_the_county_without_a_running_deadline() -> None:
    case = open_case(hand_over=False)
    assert case.status == CaseStatus.AWAITING_REVIEW
    assert case.organising_division is not None and case.organising_division.code == ANJI
    assert case.handed_over_at is None
    assert not Case.objects.filter(pk=case.pk).overdue(case.deadline + dt.timedelta(days=30)).exists()
    opened = case.events.get()
    assert (opened.kind, opened.evidence["handed_over"]) == (CaseEvent.Kind.OPENED, "awaiting_review")


def test_confirming_hands_the_problem_over_with_a_deadline_from_that_day() -> None:
    case = open_case(hand_over=False, submitted_at=timezone.now() - dt.timedelta(days=20))
    reviewer = supervisor(ANJI)

    confirmed = case_confirm(case=case, actor=reviewer, note="属实")

    assert confirmed.status == CaseStatus.OPEN
    assert confirmed.handed_over_by == reviewer and confirmed.handed_over_at is not None
    assert confirmed.deadline_from == local_date(confirmed.handed_over_at)
    assert confirmed.deadline > case.deadline
    event = confirmed.events.order_by("-seq").first()
    assert event is not None
    assert (event.kind, event.from_status, event.to_status, event.actor, event.note) == (
        CaseEvent.Kind.STATUS,
        CaseStatus.AWAITING_REVIEW,
        CaseStatus.OPEN,
        reviewer,
        "属实",
    )


def test_a_township_supervisor_below_the_organising_county_may_neither_confirm_nor_close() -> None:
    case = open_case(hand_over=False)
    township = supervisor(ANJI_TOWNSHIP)
    with pytest.raises(PermissionDenied):
        case_confirm(case=case, actor=township)
    case_confirm(case=case, actor=supervisor("3305"))  # a level above the county may
    closing = force_status(case, CaseStatus.AWAITING_VERIFICATION)
    Rectification.objects.create(
        case=closing, submitted_by=responsible_party(ANJI_TOWNSHIP), description="已清理"
    )
    with pytest.raises(PermissionDenied):
        case_verify(case=closing, actor=township, note="照片核对无误")  # 谁交办、谁销号
    closed = case_verify(case=closing, actor=supervisor(ANJI), note="照片核对无误")
    assert closed.status == CaseStatus.CLOSED


def test_voiding_needs_a_written_reason_and_keeps_it() -> None:
    case = open_case(hand_over=False)
    reviewer = supervisor(ANJI)
    with pytest.raises(ReviewReasonRequired):
        case_void(case=case, actor=reviewer, note="  ")
    case.refresh_from_db()
    assert (case.status, events_of(case)) == (CaseStatus.AWAITING_REVIEW, ["opened"])

    voided = case_void(case=case, actor=reviewer, note="非本村问题")

    assert (voided.status, voided.review_note) == (CaseStatus.VOIDED, "非本村问题")
    assert voided.events.order_by("-seq").values_list("note", flat=True)[0] == "非本村问题"


def test_a_duplicate_merges_into_a_problem_of_the_same_village_and_both_histories_say_so() -> None:
    visit = submitted_inspection(findings=2)
    kept, duplicate = cases_open_for_inspection(inspection=visit, hand_over=False)
    elsewhere = open_case(hand_over=False, village_code="330523108201")
    reviewer = supervisor(ANJI)
    with pytest.raises(MergeTargetInvalid):
        case_merge(case=duplicate, into=duplicate, actor=reviewer)
    with pytest.raises(MergeTargetInvalid):
        case_merge(case=duplicate, into=elsewhere, actor=reviewer)

    merged = case_merge(case=duplicate, into=kept, actor=reviewer, note="同一处垃圾")

    kept.refresh_from_db()
    assert (merged.status, merged.merged_into) == (CaseStatus.MERGED, kept)
    assert kept.status == CaseStatus.AWAITING_REVIEW
    assert events_of(kept) == ["opened", "merged_in"]
    assert kept.events.get(kind=CaseEvent.Kind.MERGED_IN).evidence["duplicate"] == duplicate.pk
    with pytest.raises(MergeTargetInvalid):
        case_merge(case=kept, into=merged, actor=reviewer)


def test_the_responsible_party_sees_a_problem_only_once_it_is_handed_over() -> None:
    case = open_case(hand_over=False)
    party = client_for(responsible_party(ANJI_TOWNSHIP))
    assert party.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert party.get("/api/v1/cases/").json()["count"] == 0
    assert client_for(supervisor(ANJI)).get(f"/api/v1/cases/{case.pk}/").status_code == 200

    case_confirm(case=case, actor=supervisor(ANJI))

    assert party.get(f"/api/v1/cases/{case.pk}/").status_code == 200


def test_a_jurisdiction_may_choose_automatic_hand_over_and_the_nearest_policy_wins() -> None:
    ReviewPolicy.objects.create(division=division("33"), auto_hand_over=True)
    assert open_case(hand_over=None).status == CaseStatus.OPEN
    ReviewPolicy.objects.create(division=division(ANJI), auto_hand_over=False)
    assert open_case(hand_over=None).status == CaseStatus.AWAITING_REVIEW


@override_settings(QINGSHAN_AUTO_HAND_OVER=True)
def test_the_setting_hands_over_on_submission_in_one_event() -> None:
    case = open_case(hand_over=None)
    assert case.status == CaseStatus.OPEN and case.handed_over_at is not None
    assert case.events.get().evidence["handed_over"] == "automatic"
