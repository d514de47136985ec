"""Who sees which inspection: ``inspection_list`` against the rule written out in Python.

A wide jurisdiction (a province's, a prefecture's, the country's) is asked
row by row against its villages, a narrow one (a county's, a township's) as
a union of sets of ids (``WIDE_JURISDICTION``), and a wide jurisdiction's
reader who organises nothing and is on no team by its submitted inspections
alone: the three shapes must give exactly the rule's rows, for every level
and every way of seeing.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from inspections.accounts.models import User
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import WIDE_JURISDICTION, inspection_list
from tests import builders

pytestmark = pytest.mark.django_db

CODES = ["330523101201", "330523101202", "330523102201", "330524100201", "330602001001", "370781001001"]
STATUSES = [s for s, _ in Inspection.Status.choices]


def expected(user: User, inspections: list[Inspection], now: dt.datetime) -> set[int]:
    """The rule: organised by the reader, on the team since the window opened, or submitted in their area."""
    prefix = user.scope_prefix()
    seen = set()
    for inspection in inspections:
        organised = inspection.organisers.filter(pk=user.pk).exists()
        on_team = inspection.team.filter(user=user).exists() and inspection.window_start <= now
        submitted_here = (
            prefix is not None
            and inspection.status == Inspection.Status.SUBMITTED
            and inspection.village.code.startswith(prefix)
        )
        if organised or on_team or submitted_here:
            seen.add(inspection.pk)
    return seen


def test_every_level_sees_exactly_what_the_rule_says_in_both_shapes() -> None:
    rng = random.Random(11)
    now = timezone.now()
    readers = [builders.supervisor(code) for code in ("33", "3305", "330523", "330523101", "37")]
    member = builders.inspector()
    member.user.jurisdiction = builders.division("3306")  # an inspector who is also a prefecture's reader
    member.user.save(update_fields=["jurisdiction"])
    readers.append(member.user)
    # Readers of wide jurisdictions who organise nothing: the third shape.
    quiet = [builders.supervisor(code) for code in ("33", "3305")]
    inspections = []
    for _ in range(60):
        start = now + dt.timedelta(hours=rng.choice([-30, -2, 5]))
        status = rng.choice(STATUSES)
        inspection = builders.inspection(
            village=rng.choice(CODES),
            status=status,
            window_start=start,
            window_end=start + dt.timedelta(hours=8),
            submitted_at=now - dt.timedelta(hours=1) if status == Inspection.Status.SUBMITTED else None,
            team=[member] if rng.random() < 0.3 else None,
        )
        for reader in readers:
            if rng.random() < 0.1:
                inspection.organisers.add(reader)
        inspections.append(inspection)
    lengths = {len(reader.scope_prefix() or "") for reader in readers if reader.scope_prefix() is not None}
    assert any(n <= WIDE_JURISDICTION for n in lengths) and any(n > WIDE_JURISDICTION for n in lengths)
    for reader in [*readers, *quiet]:
        found = set(inspection_list(user=reader, now=now).values_list("pk", flat=True))
        assert found == expected(reader, inspections, now), reader.scope_prefix()
        assert inspection_list(user=reader, now=now).count() == len(found)
    for reader in quiet:
        assert expected(reader, inspections, now), reader.scope_prefix()  # the shape is exercised
        assert "organisers" not in str(inspection_list(user=reader, now=now).query)
    assert all("organisers" in str(inspection_list(user=reader, now=now).query) for reader in readers)
