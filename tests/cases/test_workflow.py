"""The case lifecycle: the transitions table, rectification, verification, look-back."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from django.test import override_settings
from django.utils import timezone

from inspections.cases.errors import (
    CaseTransitionNotAllowed,
    DeskReviewNoteRequired,
    InspectionNotSubmitted,
    VerificationTeamTooSmall,
)
from inspections.cases.models import (
    ALLOWED_TRANSITIONS,
    TRANSITIONS,
    Case,
    CaseAction,
    CaseEvent,
    CaseStatus,
    FollowUp,
    Rectification,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.follow_ups import cases_schedule_look_backs, follow_up_draw_rerun
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.status import case_close, case_set_status, case_verify
from inspections.common.errors import PermissionDenied
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from tests.builders import (
    YUCUN,
    division,
    events_of,
    force_status,
    inspector,
    open_case,
    responsible_party,
    submitted_inspection,
    supervisor,
    user,
    verifiers,
)
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

ALL_MOVES = list(itertools.product(CaseStatus.values, CaseStatus.values, CaseAction.values))


@pytest.mark.parametrize(("from_status", "to_status", "action"), ALL_MOVES)
def test_it_applies_exactly_the_moves_of_the_transitions_table(
    from_status: str, to_status: str, action: str
) -> None:
    case = force_status(open_case(), from_status)
    before = case.events.count()
    anyone = user(is_superuser=True)  # holds every role: only the move itself is judged

    if action in TRANSITIONS[from_status].get(to_status, {}):
        moved = case_set_status(case=case, to_status=to_status, action=action, actor=anyone)
        assert moved.status == to_status
        assert case.events.count() == before + 1
        event = case.events.order_by("-seq").first()
        assert event is not None
        assert (event.from_status, event.to_status) == (from_status, to_status)
    else:
        with pytest.raises(CaseTransitionNotAllowed) as refusal:
            case_set_status(case=case, to_status=to_status, action=action, actor=anyone)
        assert (refusal.value.code, refusal.value.status) == ("case_transition_not_allowed", 409)
        assert refusal.value.extra == {"from_status": from_status, "to_status": to_status}
        case.refresh_from_db()
        assert case.status == from_status
        assert case.events.count() == before


def test_the_transitions_table_is_the_documented_lifecycle() -> None:
    """The README's lifecycle table, row by row: from, to, action, who."""
    rows = {
        (from_status, to_status, action, tuple(sorted(who)))
        for from_status, moves in TRANSITIONS.items()
        for to_status, actions in moves.items()
        for action, who in actions.items()
    }
    party, supervisor_, drawn = ("responsible_party",), ("supervisor",), ("drawn_inspector",)
    both = ("responsible_party", "supervisor")
    assigning = ("assigning_supervisor",)

    assert rows == {
        ("awaiting_review", "open", "confirm", assigning),
        ("awaiting_review", "merged", "merge", assigning),
        ("awaiting_review", "voided", "void", assigning),
        ("open", "rectifying", "start_rectifying", both),
        ("open", "awaiting_verification", "rectify", party),
        ("rectifying", "awaiting_verification", "rectify", party),
        ("awaiting_verification", "closed", "verify", assigning),
        ("awaiting_verification", "verified", "verification_passed", drawn),
        ("verified", "closed", "close", assigning),
        ("verified", "closed", "verify", assigning),
        ("verified", "rectifying", "send_back", supervisor_),
        ("awaiting_verification", "rectifying", "send_back", supervisor_),
        ("awaiting_verification", "rectifying", "verification_failed", drawn),
        ("closed", "reopened", "reopen", supervisor_),
        ("closed", "reopened", "look_back_failed", drawn),
        ("reopened", "rectifying", "start_rectifying", both),
        ("reopened", "awaiting_verification", "rectify", party),
    }
    derived = ALLOWED_TRANSITIONS  # the view the hub still re-exports
    assert derived == {
        "awaiting_review": {"open", "merged", "voided"},
        "voided": set(),
        "merged": set(),
        "open": {"rectifying", "awaiting_verification"},
        "rectifying": {"awaiting_verification"},
        "awaiting_verification": {"closed", "verified", "rectifying"},
        "verified": {"closed", "rectifying"},
        "closed": {"reopened"},
        "reopened": {"rectifying", "awaiting_verification"},
    }


def test_it_opens_one_case_per_finding_once() -> None:
    visit = submitted_inspection(findings=3)

    first = cases_open_for_inspection(inspection=visit)
    again = cases_open_for_inspection(inspection=visit)

    assert len(first) == 3
    assert again == []
    assert Case.objects.filter(inspection=visit).count() == 3
    assert all(events_of(case) == ["opened"] for case in first)


def test_it_refuses_to_open_cases_before_submission() -> None:
    visit = submitted_inspection(status=Inspection.Status.IN_PROGRESS)

    with pytest.raises(InspectionNotSubmitted) as refusal:
        cases_open_for_inspection(inspection=visit)

    assert (refusal.value.code, refusal.value.status) == ("inspection_not_submitted", 409)


def test_it_counts_the_deadline_in_working_days_across_spring_festival() -> None:
    # Friday 24 January 2025 + 10 working days: 26 Jan worked, 28 Jan–4 Feb off, 8 Feb worked.
    case = open_case(submitted_at=dt.datetime(2025, 1, 24, 10, tzinfo=dt.UTC), category_days=10)

    assert case.deadline == dt.date(2025, 2, 13)
    assert case.deadline_warning == ""
    assert case.escalation_due_on == dt.date(2025, 2, 14)


# --- Rectification over the API -----------------------------------------------------


def rectify(client, case: Case, **body):  # type: ignore[no-untyped-def]
    payload = {"client_uuid": str(uuid.uuid4()), "description": "已清理垃圾", "photo_uuids": []}
    payload.update(body)
    return client.post(f"/api/v1/cases/{case.pk}/rectifications/", payload, format="json")


def test_the_responsible_party_rectifies_and_the_case_awaits_verification() -> None:
    verifiers(2)
    case = open_case()
    party = responsible_party("330523108")

    response = rectify(client_for(party), case, photo_uuids=[str(uuid.uuid4())])

    assert response.status_code == 201, response.content
    assert response.json()["case_status"] == "awaiting_verification"
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_VERIFICATION
    assert events_of(case) == ["opened", "status"]


def test_a_replayed_rectification_returns_the_first_and_a_changed_one_conflicts() -> None:
    case = open_case()
    client = client_for(responsible_party("330523108"))
    key = str(uuid.uuid4())

    first = rectify(client, case, client_uuid=key)
    replay = rectify(client, case, client_uuid=key)
    changed = rectify(client, case, client_uuid=key, description="别的内容")

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert_problem(changed, 409, "uuid_conflict")
    assert Rectification.objects.count() == 1
    assert case.events.count() == 2


@pytest.mark.parametrize("status", [CaseStatus.AWAITING_VERIFICATION, CaseStatus.CLOSED])
def test_a_rectification_is_refused_when_the_case_cannot_take_one(status: str) -> None:
    case = force_status(open_case(), status)

    response = rectify(client_for(responsible_party("330523108")), case)

    body = assert_problem(response, 409, "case_transition_not_allowed")
    assert body["to_status"] == "awaiting_verification"
    assert case.events.count() == 1
    assert Rectification.objects.count() == 0


def test_only_the_responsible_party_may_rectify() -> None:
    team_member = inspector()
    case = open_case(team=[team_member])

    response = rectify(client_for(team_member.user), case)

    assert_problem(response, 403, "permission_denied")


def test_the_responsible_party_acknowledges_an_open_case_once() -> None:
    case = open_case()
    client = client_for(responsible_party("330523108"))

    first = client.post(f"/api/v1/cases/{case.pk}/acknowledge/", {}, format="json")
    second = client.post(f"/api/v1/cases/{case.pk}/acknowledge/", {}, format="json")

    assert first.status_code == 200
    assert first.json()["status"] == "rectifying"
    assert_problem(second, 409, "case_transition_not_allowed")
    assert case.events.count() == 2


# --- Verification ------------------------------------------------------------------------


def test_the_verifier_is_drawn_outside_the_county_and_not_the_rectifier() -> None:
    outside = verifiers(3)
    inspector(home_division=division("330523"))  # Anji itself: recused
    inspector(home_division=division("330523108"))  # a township of Anji: recused
    case = open_case(team=[outside[0]])
    party = responsible_party("330523108")

    rectify(client_for(party), case)

    follow_up = FollowUp.objects.get(case=case, kind=FollowUp.Kind.VERIFICATION)
    assert follow_up.inspector in outside
    assert not follow_up.inspector.home_division.code.startswith("330523")
    assert follow_up.inspection.mode == Inspection.Mode.VERIFICATION
    team = set(follow_up.inspection.team.all())
    assert len(team) == 2 and follow_up.inspector in team and team <= set(outside)  # a team of two
    assert follow_up_draw_rerun(draw=follow_up.draw) == follow_up.draw.drawn
    assert len(follow_up.draw.candidates) == 3  # the three from outside Anji


def test_the_rectifier_is_never_drawn_to_verify_their_own_work() -> None:
    from django.contrib.auth.models import Group

    (both,) = verifiers(1)  # an outside inspector who is also a responsible party of the township
    both.user.groups.add(Group.objects.get_or_create(name="responsible_party")[0])
    both.user.jurisdiction = division("330523108")
    both.user.save(update_fields=["jurisdiction"])
    others = verifiers(2)
    case = open_case(team=[inspector(home_division=division("330523"))])

    assert rectify(client_for(both.user), case).status_code == 201

    follow_up = FollowUp.objects.get(case=case)
    assert set(follow_up.inspection.team.all()) == set(others)
    assert follow_up.draw.candidates == sorted(o.credential_number for o in others)


def verification(client, case: Case, result: str = "passed", **body):  # type: ignore[no-untyped-def]
    payload = {"client_uuid": str(uuid.uuid4()), "result": result, "note": "", "photo_uuids": []}
    payload.update(body)
    return client.post(f"/api/v1/cases/{case.pk}/verification/", payload, format="json")


def rectified_case() -> tuple[Case, FollowUp]:
    verifiers(2)
    case = open_case(team=[inspector(home_division=division("330523"))])  # the team is recused
    rectify(client_for(responsible_party("330523108")), case)
    return case, FollowUp.objects.get(case=case)


def test_a_passed_verification_by_two_is_signed_off_by_the_assigning_level() -> None:
    case, follow_up = rectified_case()
    assert follow_up.inspection.team.count() == 2  # follow-up visits are drawn as teams of two

    response = verification(client_for(follow_up.inspector.user), case, "passed", note="已整改到位")

    assert response.status_code == 201, response.content
    case.refresh_from_db()
    assert (case.status, case.closed_at) == (CaseStatus.VERIFIED, None)  # not closed by the visit
    follow_up.refresh_from_db()
    assert follow_up.result == FollowUp.Result.PASSED
    assert follow_up.inspection.status == Inspection.Status.SUBMITTED
    with pytest.raises(PermissionDenied):
        case_close(case=case, actor=supervisor("330523108"))  # the inspected township: 谁交办、谁销号
    county = supervisor("330523")

    closed = case_close(case=case, actor=county, note="同意销号")

    assert closed.status == CaseStatus.CLOSED and closed.closed_at is not None
    assert events_of(case) == ["opened", "status", "status", "status"]
    signed = closed.events.order_by("-seq").first()
    assert signed is not None and signed.actor == county
    assert signed.evidence["signed_off_by"] == county.pk
    assert (signed.evidence["verification"], signed.evidence["inspectors"]) == (follow_up.pk, 2)


def test_a_one_person_verification_is_not_enough_for_the_sign_off() -> None:
    case, follow_up = rectified_case()
    follow_up.inspection.team.set(
        [follow_up.inspector]
    )  # a visit made by one (e.g. drawn before teams of two)
    verification(client_for(follow_up.inspector.user), case, "passed")
    case.refresh_from_db()

    with pytest.raises(VerificationTeamTooSmall):
        case_close(case=case, actor=supervisor("330523"))

    case.refresh_from_db()
    assert case.status == CaseStatus.VERIFIED
    with override_settings(QINGSHAN_CLOSURE_MIN_INSPECTORS=1):
        assert case_close(case=case, actor=supervisor("330523")).status == CaseStatus.CLOSED


def test_a_desk_review_closes_only_with_its_written_record() -> None:
    case, _visit = rectified_case()
    county = supervisor("330523")
    with pytest.raises(DeskReviewNoteRequired):
        case_verify(case=case, actor=county, note="")

    closed = case_verify(case=case, actor=county, note="核对整改照片与说明，符合要求")

    event = closed.events.order_by("-seq").first()
    assert event is not None and event.evidence["desk_review"] is True
    assert event.evidence["rectification"] == case.rectifications.get().pk
    assert event.evidence["signed_off_by"] == county.pk


def test_a_failed_verification_sends_the_case_back_with_a_new_deadline() -> None:
    case, follow_up = rectified_case()
    first_deadline = case.deadline
    later = timezone.now() + dt.timedelta(days=20)
    FollowUp.objects.filter(pk=follow_up.pk)  # the visit window is already open

    response = verification(client_for(follow_up.inspector.user), case, "failed", note="仍有垃圾")

    assert response.status_code == 201
    case.refresh_from_db()
    assert case.status == CaseStatus.RECTIFYING
    assert case.reopen_count == 1
    assert case.deadline >= first_deadline
    assert later > timezone.now()


def test_a_verification_result_counts_its_visit_in_the_year_s_coverage_and_a_cancelled_one_does_not() -> None:
    from inspections.fieldwork.models import CoverageTally

    case, follow_up = rectified_case()
    before = {
        t.mode: t.inspections
        for t in CoverageTally.objects.filter(area="330523", mode__in=["", "verification"])
    }

    assert verification(client_for(follow_up.inspector.user), case, "passed").status_code == 201

    after = {
        t.mode: t.inspections
        for t in CoverageTally.objects.filter(area="330523", mode__in=["", "verification"])
    }
    assert after == {"": before.get("", 0) + 1, "verification": 1}
    village = CoverageTally.objects.get(area=case.village.code[:9], mode="verification")
    assert village.villages == 1


def test_a_verification_result_replays_and_conflicts_by_uuid() -> None:
    case, follow_up = rectified_case()
    client = client_for(follow_up.inspector.user)
    key = str(uuid.uuid4())

    first = verification(client, case, client_uuid=key)
    replay = verification(client, case, client_uuid=key)
    changed = verification(client, case, "failed", client_uuid=key)

    assert (first.status_code, replay.status_code) == (201, 200)
    assert_problem(changed, 409, "uuid_conflict")


def test_a_verification_without_a_pending_visit_is_refused() -> None:
    case, follow_up = rectified_case()
    client = client_for(follow_up.inspector.user)
    verification(client, case)

    again = verification(client, case)

    assert_problem(again, 409, "no_pending_visit")


def test_an_inspector_not_drawn_cannot_see_or_verify_the_case() -> None:
    case, _follow_up = rectified_case()
    other = next(i for i in verifiers(1))

    assert_problem(verification(client_for(other.user), case), 404, "not_found")


def test_the_drawn_verifier_sees_nothing_before_the_visit_window() -> None:
    case, follow_up = rectified_case()
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() + dt.timedelta(days=1), window_end=timezone.now() + dt.timedelta(days=2)
    )
    user = follow_up.inspector.user

    assert not case_list(user=user).filter(pk=case.pk).exists()
    assert not inspection_list(user=user).filter(pk=follow_up.inspection_id).exists()
    assert_problem(verification(client_for(user), case), 404, "not_found")


def test_the_verification_visit_is_embargoed_from_the_responsible_party() -> None:
    case, follow_up = rectified_case()
    party = responsible_party("330523108")

    assert not inspection_list(user=party).filter(pk=follow_up.inspection_id).exists()
    detail = client_for(party).get(f"/api/v1/cases/{case.pk}/").json()
    assert "follow_up" not in str(detail)
    assert follow_up.inspector.user.username not in str(detail)


# --- Look-back (回头看) ----------------------------------------------------------------------


def closed_cases(count: int, closed_at: dt.datetime) -> list[Case]:
    cases = []
    for _ in range(count):
        case = open_case(team=[inspector(home_division=division("330523"))])
        cases.append(force_status(case, CaseStatus.CLOSED, closed_at=closed_at))
    return cases


def test_it_draws_a_share_of_closed_cases_for_a_look_back_once() -> None:
    verifiers(2)
    day = timezone.localdate() - dt.timedelta(days=1)
    closed_at = dt.datetime.combine(day, dt.time(15), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    cases = closed_cases(4, closed_at)

    draw = cases_schedule_look_backs(period_start=day, period_end=day, share=0.5)
    again = cases_schedule_look_backs(period_start=day, period_end=day, share=0.5)

    assert draw is not None and again is None
    assert len(draw.drawn) == 2
    assert follow_up_draw_rerun(draw=draw) == draw.drawn
    visits = FollowUp.objects.filter(kind=FollowUp.Kind.LOOK_BACK)
    assert visits.count() == 2
    for visit in visits:
        assert visit.inspection.mode == Inspection.Mode.LOOK_BACK
        assert visit.inspection.window_end <= closed_at + dt.timedelta(days=30)
        assert visit.inspection.window_start >= closed_at
        # embargoed like any unannounced visit
        assert (
            not inspection_list(user=responsible_party("330523108")).filter(pk=visit.inspection_id).exists()
        )
        assert not inspection_list(user=supervisor("330523")).filter(pk=visit.inspection_id).exists()
    assert {str(c.pk) for c in cases} >= set(draw.drawn)


def open_window(follow_up: FollowUp) -> None:
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() - dt.timedelta(hours=1)
    )


def test_a_relapse_found_on_a_look_back_reopens_the_case_as_a_relapse() -> None:
    verifiers(2)
    day = timezone.localdate() - dt.timedelta(days=1)
    (case,) = closed_cases(1, timezone.now() - dt.timedelta(days=1))
    cases_schedule_look_backs(
        period_start=day - dt.timedelta(days=1), period_end=day + dt.timedelta(days=1), share=1.0
    )
    follow_up = FollowUp.objects.get(case=case, kind=FollowUp.Kind.LOOK_BACK)
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() - dt.timedelta(hours=1)
    )

    response = client_for(follow_up.inspector.user).post(
        f"/api/v1/cases/{case.pk}/look-back/",
        {"client_uuid": str(uuid.uuid4()), "result": "failed", "note": "返黑返臭"},
        format="json",
    )

    assert response.status_code == 201, response.content
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert case.is_relapse
    assert case.reopen_count == 1
    assert case.events.order_by("-seq").first().evidence["relapse"] is True  # type: ignore[union-attr]


def test_a_false_rectification_found_on_a_look_back_is_counted_apart_from_a_relapse() -> None:
    verifiers(2)
    day = timezone.localdate() - dt.timedelta(days=1)
    (case,) = closed_cases(1, timezone.now() - dt.timedelta(days=1))
    cases_schedule_look_backs(
        period_start=day - dt.timedelta(days=1), period_end=day + dt.timedelta(days=1), share=1.0
    )
    follow_up = FollowUp.objects.get(case=case, kind=FollowUp.Kind.LOOK_BACK)
    open_window(follow_up)

    response = client_for(follow_up.inspector.user).post(
        f"/api/v1/cases/{case.pk}/look-back/",
        {
            "client_uuid": str(uuid.uuid4()),
            "result": "failed",
            "note": "从未清理",
            "false_rectification": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    case.refresh_from_db()
    assert (case.status, case.is_false_rectification, case.is_relapse) == (CaseStatus.REOPENED, True, False)
    evidence = case.events.order_by("-seq").first().evidence  # type: ignore[union-attr]
    assert (evidence["relapse"], evidence["false_rectification"]) == (False, True)


def test_a_false_rectification_found_at_verification_sends_it_back_marked() -> None:
    case, follow_up = rectified_case()

    response = verification(client_for(follow_up.inspector.user), case, "failed", false_rectification=True)

    assert response.status_code == 201, response.content
    case.refresh_from_db()
    assert (case.status, case.is_false_rectification, case.is_relapse) == (CaseStatus.RECTIFYING, True, False)


def test_a_look_back_without_relapse_is_recorded_as_an_event() -> None:
    verifiers(2)
    (case,) = closed_cases(1, timezone.now() - dt.timedelta(hours=2))
    today = timezone.localdate()
    cases_schedule_look_backs(period_start=today - dt.timedelta(days=1), period_end=today, share=1.0)
    follow_up = FollowUp.objects.get(case=case)
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        window_start=timezone.now() - dt.timedelta(hours=1)
    )

    response = client_for(follow_up.inspector.user).post(
        f"/api/v1/cases/{case.pk}/look-back/",
        {"client_uuid": str(uuid.uuid4()), "result": "passed"},
        format="json",
    )

    assert response.status_code == 201
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.events.order_by("-seq").first().kind == CaseEvent.Kind.LOOK_BACK_PASSED  # type: ignore[union-attr]


def test_it_uses_the_village_code_of_yucun() -> None:
    assert open_case().village.code == YUCUN


def look_back_answers(case: Case) -> dict[str, tuple[int, dict[str, object]]]:
    """What each account that sees the case is told when it posts a look-back result."""
    answers = {}
    for name, account in (
        ("responsible party", responsible_party("330523108")),
        ("supervisor", supervisor("330523")),
    ):
        response = client_for(account).post(
            f"/api/v1/cases/{case.pk}/look-back/",
            {"client_uuid": str(uuid.uuid4()), "result": "passed"},
            format="json",
        )
        body = response.json()
        body.pop("instance", None)
        answers[name] = (response.status_code, body)
    return answers


def test_a_look_back_post_answers_the_village_the_same_whether_a_visit_is_coming_or_not() -> None:
    verifiers(2)
    quiet, drawn = closed_cases(2, timezone.now() - dt.timedelta(hours=2))
    without_visit = look_back_answers(quiet)
    today = timezone.localdate()
    cases_schedule_look_backs(period_start=today - dt.timedelta(days=1), period_end=today, share=1.0)
    FollowUp.objects.filter(case=quiet).delete()  # only `drawn` has a pending look-back visit
    Inspection.objects.filter(mode=Inspection.Mode.LOOK_BACK).exclude(follow_up__case=drawn).delete()
    assert FollowUp.objects.filter(case=drawn, result=FollowUp.Result.PENDING).exists()

    with_visit = look_back_answers(drawn)

    assert with_visit == without_visit
    assert {status for status, _body in with_visit.values()} == {409}
    assert {body["code"] for _status, body in with_visit.values()} == {"no_pending_visit"}
    assert FollowUp.objects.get(case=drawn).result == FollowUp.Result.PENDING


def test_every_member_of_a_verification_team_sees_the_case_and_may_record_the_result() -> None:
    case, follow_up = rectified_case()
    second = follow_up.inspection.team.exclude(pk=follow_up.inspector.pk).get()
    outsider = inspector(home_division=division("330502"))

    assert case_list(user=second.user).filter(pk=case.pk).exists()
    assert not case_list(user=outsider.user).filter(pk=case.pk).exists()
    refused = verification(client_for(outsider.user), case, "passed")
    response = verification(client_for(second.user), case, "passed", note="两人复核，已整改到位")

    assert refused.status_code == 404
    assert response.status_code == 201, response.content
    follow_up.refresh_from_db()
    assert (follow_up.result, follow_up.result_by) == (FollowUp.Result.PASSED, second.user)
