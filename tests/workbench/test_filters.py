"""The list filters the workbench links to: a division of any level, and evidence flags awaiting review."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from inspections.complaints.models import Complaint
from inspections.evidence.models import Photo
from inspections.evidence.services import photo_flags_mark_reviewed
from inspections.fieldwork.models import Inspection
from inspections.workbench.selectors import workbench_build
from tests.builders import (
    ANJI,
    HUZHOU,
    camera_jpeg,
    division,
    inspector,
    photo,
    submitted_inspection,
    supervisor,
)
from tests.builders import user as account
from tests.builders import village as village_builder

pytestmark = pytest.mark.django_db


def _listed(reader: Any, url: str) -> tuple[int, Any]:
    client = Client()
    client.force_login(reader)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count, response


def _complaint(code: str, ticket: str) -> Complaint:
    return Complaint.objects.create(
        source=Complaint.Source.HOTLINE_12345,
        ticket_number=ticket,
        received_at=timezone.now(),
        content="垃圾",
        village=village_builder(code),
        reply_due=timezone.localdate() + dt.timedelta(days=3),
        recorded_by=account(),
    )


def test_the_division_filter_takes_a_township_and_offers_the_readers_areas() -> None:
    division(ANJI, "安吉县")
    division(f"{ANJI}108", "天荒坪镇")
    division(f"{ANJI}101", "递铺街道")
    _complaint(f"{ANJI}108204", "1")
    _complaint(f"{ANJI}101201", "2")
    reader = supervisor(ANJI)

    count, response = _listed(reader, f"/admin/inspections/complaint/?division={ANJI}108")
    assert count == 1
    offered = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
        if getattr(spec, "parameter_name", None) == "division"
    ]
    assert "天荒坪镇 (330523108)" in offered and "安吉县 (330523)" in offered
    assert _listed(reader, f"/admin/inspections/complaint/?division={ANJI}")[0] == 2
    # a code outside the jurisdiction finds nothing (the list stays scoped), a malformed one too
    assert _listed(reader, "/admin/inspections/complaint/?division=3301")[0] == 0
    assert _listed(reader, "/admin/inspections/complaint/?division=x")[0] == 0


def test_the_flags_filter_lists_inspections_whose_photo_flags_await_review() -> None:
    member = inspector()
    flagged = submitted_inspection(
        village_code=f"{ANJI}108204", team=[member], status=Inspection.Status.IN_PROGRESS
    )
    photo(inspection=flagged, content=camera_jpeg(seed=1, exif=False), by=member)  # no_exif
    clean = submitted_inspection(
        village_code=f"{ANJI}108205", team=[member], status=Inspection.Status.IN_PROGRESS
    )
    Inspection.objects.filter(pk__in=[flagged.pk, clean.pk]).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    reader = supervisor(ANJI)
    url = f"/admin/inspections/inspection/?status__exact=submitted&flags=awaiting&division={ANJI}108"

    count, response = _listed(reader, url)
    assert count == 1
    assert list(response.context["cl"].result_list) == [flagged]
    bench = workbench_build(user=reader)
    assert bench is not None and bench.total.flagged_inspections == 1

    photo_flags_mark_reviewed(photos=Photo.objects.all(), actor=reader)
    assert _listed(reader, url)[0] == 0
    bench = workbench_build(user=reader)
    assert bench is not None and bench.total.flagged_inspections == 0


def test_a_prefecture_reader_is_offered_its_counties() -> None:
    division(HUZHOU, "湖州市")
    division(ANJI, "安吉县")
    division(f"{ANJI}108", "天荒坪镇")
    _, response = _listed(supervisor(HUZHOU), "/admin/inspections/complaint/")
    changelist = response.context["cl"]
    offered = [
        choice["display"]
        for spec in changelist.filter_specs
        if getattr(spec, "parameter_name", None) == "division"
        for choice in spec.choices(changelist)
    ]
    assert "安吉县 (330523)" in offered
    assert "天荒坪镇 (330523108)" not in offered
