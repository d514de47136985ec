"""The field day both generated-client tests play: the records it needs and what it must end with."""

from __future__ import annotations

from dataclasses import dataclass

from inspections.accounts.models import Role
from inspections.cases.models import Case
from inspections.fieldwork.models import Inspection
from tests import builders

USERNAME = "inspector-anji"
PASSWORD = "pw-for-tests-only"


@dataclass(frozen=True)
class FieldDay:
    inspection: int
    village: str


def field_day() -> FieldDay:
    """An inspector (``USERNAME``, ``PASSWORD``) with an open inspection of Yucun, and its checklist."""
    builders.category("garbage-pile")
    member = builders.inspector(user=builders.user(username=USERNAME, role=Role.INSPECTOR))
    visit = builders.inspection(team=[member])
    return FieldDay(inspection=visit.pk, village=visit.village.code)


def assert_the_day_is_recorded(day: FieldDay) -> None:
    """Submitted with its check-in, finding (a lost photo dropped), two photos; a problem awaits review."""
    visit = Inspection.objects.get(pk=day.inspection)
    assert visit.status == Inspection.Status.SUBMITTED
    assert visit.check_ins.count() == 1
    assert visit.findings.count() == 1
    assert [len(f.dropped_photo_uuids) for f in visit.findings.all()] == [1]  # the photo lost on the phone
    assert sorted(visit.photos.values_list("channel", flat=True)) == ["multipart", "tus"]
    assert list(Case.objects.filter(inspection=visit).values_list("status", flat=True)) == ["awaiting_review"]
