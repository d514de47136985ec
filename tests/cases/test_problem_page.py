"""The problem page in the admin: the finding's photos beside the after-photos, and the decisions.

A supervisor of the county sees both sets of photos as pictures that enlarge,
each with its flags named and explained and its SHA-256; the page offers
exactly the decisions the problem's status allows, each posting a note to the
problem's own URL; the after-photos open through the admin's authorising photo
view. Nobody outside the jurisdiction gets a photo or a decision, and a flag
that names a visit still under way is on no page.

Pages are read in English (``Accept-Language: en``), so that a string added
here is checked before its translation is in the catalogue.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import Case, CaseEvent, CaseStatus, ExtensionRequest
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.rectification import rectification_submit
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from tests import builders
from tests.builders import (
    YUCUN_WGS84,
    camera_jpeg,
    force_status,
    open_case,
    photo,
    process_all,
    responsible_party,
    supervisor,
    verifiers,
)
from tests.builders import inspector as team_member
from tests.conftest import client_for
from tests.evidence.test_rectification import upload_to_case

pytestmark = pytest.mark.django_db

ANJI, DEQING = "330523", "330521"
TOWNSHIP = "330523108"  # 余村's


def admin_client(user: User, **kwargs: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **kwargs)
    client.force_login(user)
    return client


def page_of(case: Case, reader: User) -> str:
    response = admin_client(reader).get(reverse("admin:inspections_case_change", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def decide(case: Case, reader: User, decision: str, note: str = "", **fields: Any) -> tuple[Any, list[str]]:
    response = admin_client(reader).post(
        reverse("admin:inspections_case_decide", args=[case.pk]),
        {"decision": decision, "note": note, **fields},
    )
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def offered(page: str) -> set[str]:
    return {part.split('"', 1)[0] for part in page.split('<input type="hidden" name="decision" value="')[1:]}


def problem_with_photos(*, before: bytes | None = None) -> tuple[Case, Photo, Photo]:
    """A handed-over problem of 余村 whose finding has one photo, rectified with one after-photo.

    The after-photo carries no GPS (flagged ``no_gps``); the finding's photo,
    taken at 余村, none unless ``before`` says otherwise.
    """
    verifiers(3)
    member = team_member()
    visit = builders.inspection(team=[member])
    before_photo = photo(inspection=visit, content=before or camera_jpeg(seed=1, gps=YUCUN_WGS84))
    Finding.objects.create(
        inspection=visit,
        category=builders.category(code="garbage-pile"),
        severity="moderate",
        description="垃圾堆放",
        longitude=YUCUN_WGS84[0],
        latitude=YUCUN_WGS84[1],
        datum="wgs84",
        photo_uuids=[str(before_photo.client_uuid)],
        created_by=member.user,
    )
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    visit.refresh_from_db()
    case = cases_open_for_inspection(inspection=visit, hand_over=True)[0]
    party = responsible_party(TOWNSHIP)
    after_uuid = str(uuid.uuid4())
    response = upload_to_case(client_for(party), case, camera_jpeg(seed=7, gps=None), client_uuid=after_uuid)
    assert response.status_code == 201, response.content
    rectification_submit(
        case=case, actor=party, client_uuid=uuid.uuid4(), description="已清理垃圾", photo_uuids=[after_uuid]
    )
    process_all()
    case.refresh_from_db()
    before_photo.refresh_from_db()
    return case, before_photo, Photo.objects.get(client_uuid=after_uuid)


def file_url(photo: Photo, kind: str) -> str:
    return reverse("admin:inspections_photo_file", args=[photo.client_uuid, kind])


# --- The evidence, side by side ------------------------------------------------------------------


def test_it_shows_the_findings_photos_beside_the_after_photos_with_flags_and_hashes() -> None:
    case, before, after = problem_with_photos()

    page = page_of(case, supervisor(ANJI))

    evidence = page.split('id="problem-evidence"', 1)[1]
    left, right = evidence.split('class="evidence-after"', 1)
    assert file_url(before, "thumbnail") in left and file_url(after, "thumbnail") not in left
    assert file_url(after, "thumbnail") in right.split('id="problem-decisions-title"')[0]
    # each thumbnail enlarges in place to its preview (CSS :target, no script)
    assert f'href="#photo-after{case.rectifications.get().pk}-{after.client_uuid}"' in right
    assert file_url(after, "preview") in right
    # flags named and explained, in words; the code itself is not shown
    assert "<strong>no GPS position</strong>: The file carries no GPS position." in right
    assert "no_gps" not in page
    assert "No evidence flags." in left
    assert f"SHA-256 {before.sha256[:12]}" in left and f"SHA-256 {after.sha256[:12]}" in right
    # the supervisor of the county may have the originals
    assert file_url(after, "original") in right
    # the rectification inline shows its after-photos as pictures, not as UUIDs
    inline = page.split('id="rectifications-group"', 1)[1]
    assert file_url(after, "thumbnail") in inline
    assert f"[&quot;{after.client_uuid}&quot;]" not in page


def test_a_flag_naming_a_visit_still_under_way_is_not_on_the_page_nor_in_the_queue() -> None:
    content = camera_jpeg(seed=3, gps=YUCUN_WGS84)
    # Another organiser's visit under way in the same county received the same file first.
    hidden = builders.inspection(team=[team_member()], status=Inspection.Status.IN_PROGRESS)
    photo(inspection=hidden, content=content)
    case, before, after = problem_with_photos(before=content)
    assert before.flag_codes == ["exact_duplicate"]
    reader = supervisor(ANJI)

    page = page_of(case, reader)
    queue = admin_client(reader).get(reverse("admin:inspections_photo_changelist"))

    left = page.split('id="problem-evidence"', 1)[1].split('class="evidence-after"', 1)[0]
    assert file_url(before, "thumbnail") in left
    assert "identical file received before" not in page and "SHA-256) was already received" not in page
    assert "No evidence flags." in left
    assert [p.pk for p in queue.context["cl"].result_list] == [after.pk]


# --- Decisions: offered as the status allows, each with a note -------------------------------------


@pytest.mark.parametrize(
    ("status", "decisions"),
    [
        (CaseStatus.AWAITING_REVIEW, {"confirm", "merge", "void"}),
        (CaseStatus.OPEN, {"start_rectifying", "escalate"}),
        (CaseStatus.RECTIFYING, {"escalate"}),
        (CaseStatus.AWAITING_VERIFICATION, {"verify", "send_back"}),
        (CaseStatus.VERIFIED, {"close", "verify", "send_back"}),
        (CaseStatus.CLOSED, {"reopen"}),
        (CaseStatus.REOPENED, {"start_rectifying", "escalate"}),
        (CaseStatus.VOIDED, set()),
        (CaseStatus.MERGED, set()),
    ],
)
def test_it_offers_only_the_decisions_the_status_allows(status: str, decisions: set[str]) -> None:
    case = force_status(open_case(), status)

    page = page_of(case, supervisor(ANJI))

    assert offered(page) == decisions


def test_a_pending_extension_and_flags_awaiting_review_add_their_decisions() -> None:
    case, _before, _after = problem_with_photos()
    force_status(case, CaseStatus.RECTIFYING)
    ExtensionRequest.objects.create(
        client_uuid=uuid.uuid4(),
        case=case,
        requested_by=responsible_party(TOWNSHIP),
        reason="雨季施工困难",
        current_deadline=case.deadline,
        proposed_deadline=case.deadline.replace(year=case.deadline.year + 1),
        created_at=timezone.now(),
    )

    page = page_of(case, supervisor(ANJI))

    assert offered(page) == {"escalate", "extension_approve", "extension_reject", "flags_reviewed"}
    assert "雨季施工困难" in page


def test_a_desk_review_closes_the_problem_with_its_note_in_the_history() -> None:
    case, _before, _after = problem_with_photos()
    reader = supervisor(ANJI)

    response, shown = decide(case, reader, "verify", note="核对整改照片，垃圾已清运")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inspections_case_change", args=[case.pk])
    assert shown == ["Done: Close (销号) by desk review (record what was checked)."]
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    last = case.events.order_by("-seq").first()
    assert last is not None and last.note == "核对整改照片，垃圾已清运" and last.actor_id == reader.pk


@pytest.mark.parametrize(
    ("decision", "status", "kind"),
    [
        ("send_back", CaseStatus.AWAITING_VERIFICATION, CaseEvent.Kind.STATUS),
        ("escalate", CaseStatus.OPEN, CaseEvent.Kind.ESCALATED),
        ("reopen", CaseStatus.CLOSED, CaseEvent.Kind.STATUS),
        ("start_rectifying", CaseStatus.OPEN, CaseEvent.Kind.STATUS),
    ],
)
def test_every_decision_records_its_note(decision: str, status: str, kind: str) -> None:
    case = force_status(open_case(), status)
    before = case.events.count()

    response, _shown = decide(case, supervisor(ANJI), decision, note=f"说明：{decision}")

    assert response.status_code == 302
    added = list(case.events.filter(seq__gt=before).order_by("seq"))
    assert [e.kind for e in added][-1] == kind
    assert added[-1].note == f"说明：{decision}"


def test_a_refusal_is_a_message_on_the_page_and_changes_nothing() -> None:
    case, _before, _after = problem_with_photos()
    reader = supervisor(ANJI)
    events = case.events.count()

    no_note, refused = decide(case, reader, "verify", note="")
    not_open, not_offered = decide(case, reader, "reopen", note="重新整改")
    unreadable, unread = decide(case, reader, "no-such-decision")

    assert no_note.status_code == not_open.status_code == unreadable.status_code == 302
    assert refused and "Case #" not in refused[0] and "desk_review_note_required" not in refused[0]
    assert not_offered == ["This decision is not open to you on this problem now."]
    assert unread == ["The decision could not be read; nothing was done."]
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_VERIFICATION and case.events.count() == events


def test_marking_the_flags_reviewed_from_the_page_marks_the_photos_shown() -> None:
    case, _before, after = problem_with_photos()

    response, _shown = decide(case, supervisor(ANJI), "flags_reviewed")

    assert response.status_code == 302
    after.refresh_from_db()
    assert after.flags_reviewed_at is not None
    assert "flags_reviewed" not in offered(page_of(case, supervisor(ANJI)))


def test_decisions_need_post_csrf_and_the_change_permission() -> None:
    case = open_case()
    url = reverse("admin:inspections_case_decide", args=[case.pk])
    reader = supervisor(ANJI)

    assert admin_client(reader).get(url).status_code == 405
    assert (
        admin_client(reader, enforce_csrf_checks=True).post(url, {"decision": "escalate"}).status_code == 403
    )
    viewer = supervisor(ANJI)
    viewer.groups.clear()
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    assert admin_client(viewer).post(url, {"decision": "escalate"}).status_code == 403
    case.refresh_from_db()
    assert case.escalation_level == 0


# --- Out of the jurisdiction: no photo, no decision --------------------------------------------


def test_a_supervisor_elsewhere_gets_no_photo_and_no_decision() -> None:
    case, before, after = problem_with_photos()
    elsewhere = admin_client(supervisor(DEQING))
    here = admin_client(supervisor(ANJI))

    for shown in (before, after):
        for kind in ("thumbnail", "preview", "original"):
            assert here.get(file_url(shown, kind)).status_code == 200, (shown, kind)
            assert elsewhere.get(file_url(shown, kind)).status_code == 404, (shown, kind)
    response = elsewhere.post(
        reverse("admin:inspections_case_decide", args=[case.pk]), {"decision": "verify", "note": "越权"}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_VERIFICATION


def test_the_after_photo_file_is_served_privately() -> None:
    _case, _before, after = problem_with_photos()

    response = admin_client(supervisor(ANJI)).get(file_url(after, "preview"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private, no-store")


# --- The inspection's page: findings with pictures ------------------------------------------------


def test_the_inspection_page_shows_each_findings_photos_as_pictures() -> None:
    case, before, _after = problem_with_photos()

    response = admin_client(supervisor(ANJI)).get(
        reverse("admin:inspections_inspection_change", args=[case.inspection_id])
    )

    page = response.content.decode()
    findings = page.split('id="findings-group"', 1)[1].split('id="photos-group"', 1)[0]
    assert file_url(before, "thumbnail") in findings
    assert f"[&quot;{before.client_uuid}&quot;]" not in findings


# --- The queue of photos whose flags await review -------------------------------------------------


def test_the_queue_lists_the_jurisdictions_flagged_photos_and_marks_them_reviewed() -> None:
    _case, before, after = problem_with_photos()
    # a problem in 德清 with a flagged after-photo: not the county's
    verifiers(3)
    other = open_case(village_code=builders.DEQING_VILLAGE)
    party = responsible_party(DEQING)
    response = upload_to_case(client_for(party), other, camera_jpeg(seed=9, exif=False))
    assert response.status_code == 201
    process_all()
    assert Photo.objects.filter(case=other).get().flags
    reader = supervisor(ANJI)
    client = admin_client(reader)

    queue = client.get(reverse("admin:inspections_photo_changelist"))

    assert queue.status_code == 200
    assert [p.pk for p in queue.context["cl"].result_list] == [after.pk]
    page = queue.content.decode()
    assert "<strong>no GPS position</strong>: The file carries no GPS position." in page
    assert reverse("admin:inspections_case_change", args=[after.case_id]) in page
    assert file_url(after, "thumbnail") in page
    # the photo has no page of its own here (its metadata is read on its problem's page)
    assert client.get(reverse("admin:inspections_photo_change", args=[after.pk])).status_code == 403

    marked = client.post(
        reverse("admin:inspections_photo_changelist"),
        {"action": "mark_flags_reviewed", "_selected_action": [after.pk, before.pk]},
    )

    assert marked.status_code == 302
    after.refresh_from_db()
    assert after.flags_reviewed_at is not None and after.flags_reviewed_by_id == reader.pk
    again = client.get(reverse("admin:inspections_photo_changelist"))
    assert list(again.context["cl"].result_list) == []
    assert (
        admin_client(supervisor(DEQING))
        .get(reverse("admin:inspections_photo_changelist"))
        .context["cl"]
        .result_count
        == 1
    )


def test_the_workbench_figure_links_to_the_queue_with_the_same_count() -> None:
    problem_with_photos()
    client = admin_client(supervisor(ANJI))

    page = client.get("/admin/").content.decode()

    link = reverse("admin:inspections_photo_changelist") + f"?division={ANJI}"
    assert f'<a href="{link}">1</a>' in page
    assert client.get(link).context["cl"].result_count == 1
    assert reverse("admin:inspections_photo_changelist") + f"?division={ANJI}&amp;belongs=case" in page
