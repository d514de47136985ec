"""The activity generator: bulk rows that the workflow would have left, in realistic proportions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command

from inspections.cases.models import Case
from inspections.devdata.activity import NoVillagesError, activity_generate, generated_counts
from inspections.digests.models import DigestKind
from inspections.digests.selectors import Period, digest_build
from inspections.fieldwork.models import Inspection
from tests.builders import at, village

pytestmark = pytest.mark.django_db

NOW = at(2025, 6, 30, 12)


@pytest.fixture
def villages() -> None:
    for township in ("330523101", "330523102", "330521100"):
        for n in range(201, 221):
            village(f"{township}{n:03d}")


def test_it_generates_inspections_and_cases_in_realistic_proportions(villages: None) -> None:
    result = activity_generate(inspections=3000, cases=700, prefix="3305", days=180, now=NOW)

    assert result is not None
    assert result.inspections == 3000 and generated_counts() == (3000, result.cases)
    assert 500 <= result.cases <= 700
    statuses = Counter(Inspection.objects.values_list("status", flat=True))
    assert statuses["submitted"] > 0.8 * 3000 and statuses["cancelled"] > 0 and statuses["scheduled"] > 0
    assert Inspection.objects.filter(window_start__gt=NOW, status="submitted").count() == 0
    # Every case comes from a submitted inspection, opened when it was submitted.
    for case in Case.objects.select_related("inspection")[:200]:
        assert case.inspection.status == "submitted" and case.opened_at == case.inspection.submitted_at
    case_statuses = Counter(Case.objects.values_list("status", flat=True))
    assert case_statuses["closed"] > case_statuses["open"] > 0
    domains = Counter(Case.objects.values_list("category__domain", flat=True))
    assert domains.most_common(1)[0][0] == "garbage"
    assert Case.objects.filter(escalation_level__gt=0).exists()
    # Villages differ: a heavy tail, not a flat spread.
    per_village = Counter(Inspection.objects.values_list("village_id", flat=True))
    assert max(per_village.values()) > 2 * (3000 / 60)


def test_the_generated_dataset_feeds_a_digest(villages: None, django_assert_num_queries: Any) -> None:
    call_command("generate_activity", "--inspections", "2000", "--cases", "500", "--prefix", "3305")
    call_command("generate_activity", "--if-absent", "--inspections", "2000")

    assert generated_counts()[0] == 2000
    last_week = Period.last_complete(DigestKind.WEEKLY, dt.datetime.now(dt.UTC))
    # the digest builder's ten queries (tests/digests/test_builder.py lists them)
    with django_assert_num_queries(10):
        digest = digest_build(prefix="330523", period=last_week)
    assert digest.planned.current > 0 and digest.open_cases.current > 0


def test_it_refuses_to_generate_where_there_are_no_villages(villages: None) -> None:
    with pytest.raises(NoVillagesError):
        activity_generate(inspections=10, cases=2, prefix="11", now=NOW)

    assert generated_counts() == (0, 0)
