"""The digest figure "evidence flags awaiting review": flagged photos not reviewed at each period's end."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from inspections.accounts.models import User
from inspections.cases.models import Case
from inspections.digests.selectors import Pair, Period, digest_build, evidence_flags_awaiting_review
from inspections.evidence import services as evidence
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests.builders import (
    ANJI,
    ANJI_OTHER,
    DEQING_VILLAGE,
    MONDAY,
    YUCUN,
    at,
    case,
    digest_inspection,
    supervisor,
    user,
)

pytestmark = pytest.mark.django_db

WEEK = Period(kind="weekly", start=MONDAY)  # 2025-01-06 to 01-12; the previous week from 2024-12-30
IN_WEEK = at(2025, 1, 8, 10)
IN_PREVIOUS_WEEK = at(2025, 1, 1, 10)
FLAGS = [{"code": "no_gps", "params": {}}]


def photo(
    owner: Inspection | Case,
    *,
    processed_at: dt.datetime,
    flags: list[dict[str, Any]] | None = None,
    reviewed_at: dt.datetime | None = None,
) -> Photo:
    uploader = User.objects.filter(username="digest-uploader").first() or user(username="digest-uploader")
    on_case = isinstance(owner, Case)
    return Photo.objects.create(
        client_uuid=uuid.uuid4(),
        inspection=owner if isinstance(owner, Inspection) else None,
        case=owner if isinstance(owner, Case) else None,
        purpose="after" if on_case else "evidence",
        uploaded_by=uploader,
        channel="multipart",
        original="photos/originals/x.jpg",
        content_type="image/jpeg",
        size=1,
        sha256="0" * 64,
        status=Photo.Status.READY,
        processed_at=processed_at,
        flags=FLAGS if flags is None else flags,
        flags_reviewed_at=reviewed_at,
        flags_reviewed_by=uploader if reviewed_at else None,
    )


def submitted(village_code: str, when: dt.datetime) -> Inspection:
    return digest_inspection(village_code, window_start=when - dt.timedelta(days=1), submitted_at=when)


def test_flagged_photos_count_until_reviewed_at_each_period_end() -> None:
    earlier = submitted(YUCUN, IN_PREVIOUS_WEEK - dt.timedelta(hours=1))
    this_week = submitted(ANJI_OTHER, IN_WEEK - dt.timedelta(hours=1))
    photo(earlier, processed_at=IN_PREVIOUS_WEEK)  # awaiting at both ends
    photo(earlier, processed_at=IN_PREVIOUS_WEEK, reviewed_at=IN_WEEK)  # awaiting at the previous end only
    photo(earlier, processed_at=IN_PREVIOUS_WEEK, reviewed_at=IN_PREVIOUS_WEEK)  # reviewed in time: never
    photo(this_week, processed_at=IN_WEEK)  # raised this week
    photo(this_week, processed_at=IN_WEEK, flags=[])  # nothing to review
    photo(this_week, processed_at=at(2025, 1, 14))  # after the period: not yet
    rectified = case(YUCUN, opened_at=IN_PREVIOUS_WEEK, deadline=dt.date(2025, 2, 1))
    photo(rectified, processed_at=IN_WEEK)  # an after-photo of a case counts too

    assert evidence_flags_awaiting_review(prefix=ANJI, period=WEEK) == Pair(3, 2)


def test_embargoed_and_foreign_photos_never_count(django_assert_num_queries: Any) -> None:
    in_progress = digest_inspection(YUCUN, window_start=IN_WEEK, status=Inspection.Status.IN_PROGRESS)
    photo(in_progress, processed_at=IN_WEEK)
    late = submitted(YUCUN, at(2025, 1, 14))  # submitted after the period ended
    photo(late, processed_at=IN_WEEK)
    deqing = submitted(DEQING_VILLAGE, IN_WEEK - dt.timedelta(hours=1))
    photo(deqing, processed_at=IN_WEEK)

    # 1 aggregate of the photos with a flag of their own, 1 for those whose flags all name
    # other photos (none: no third query for the photos they name)
    with django_assert_num_queries(2):
        anji = evidence_flags_awaiting_review(prefix=ANJI, period=WEEK)
    assert anji == Pair(0, 0)
    assert evidence_flags_awaiting_review(prefix="", period=WEEK) == Pair(1, 0)


def test_the_digest_shows_the_figure_and_marking_reviewed_clears_it() -> None:
    visit = submitted(YUCUN, IN_WEEK - dt.timedelta(hours=1))
    flagged = photo(visit, processed_at=IN_WEEK)
    photo(visit, processed_at=IN_WEEK, flags=[])
    boss = supervisor(ANJI)

    digest = digest_build(prefix=ANJI, period=WEEK, now=at(2025, 1, 13, 8))
    assert digest.evidence_flags == Pair(1, 0)
    assert not digest.is_empty

    marked = evidence.photo_flags_mark_reviewed(photos=Photo.objects.all(), actor=boss, now=IN_WEEK)
    again = evidence.photo_flags_mark_reviewed(photos=Photo.objects.all(), actor=boss)

    assert (marked, again) == (1, 0)
    flagged.refresh_from_db()
    assert flagged.flags_reviewed_by == boss and flagged.flags_reviewed_at == IN_WEEK
    assert evidence_flags_awaiting_review(prefix=ANJI, period=WEEK) == Pair(0, 0)


def test_the_inspection_review_admin_marks_flags_reviewed(client: Any) -> None:
    visit = submitted(YUCUN, IN_WEEK - dt.timedelta(hours=1))
    flagged = photo(visit, processed_at=IN_WEEK)
    admin_user = user(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin_user)

    response = client.post(
        "/admin/inspections/inspection/",
        {"action": "mark_flags_reviewed", "_selected_action": [visit.pk]},
    )

    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.flags_reviewed_by == admin_user and flagged.flags_reviewed_at is not None
