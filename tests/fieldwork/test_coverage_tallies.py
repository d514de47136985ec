"""The stored coverage tallies: counted as visits are submitted, and the same when counted again.

A national or provincial reader's coverage and workbench read
:class:`CoverageTally` instead of counting millions of inspections, so the
running count must agree with a recount from the inspections at every step.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.coverage import coverage_recount
from inspections.fieldwork.models import CoverageTally, Inspection, VisitedVillage
from inspections.fieldwork.services import inspection_submit
from inspections.fieldwork.tasks import coverage_recount_recent
from inspections.sampling.selectors import coverage_report
from tests import builders
from villages.models import Village

pytestmark = pytest.mark.django_db

# Two townships of one county, and a village in another province.
A1, A2, B1, OTHER = "330523101201", "330523101202", "330523102201", "370781001001"
RANDOM, UNANNOUNCED = Inspection.Mode.RANDOM, Inspection.Mode.UNANNOUNCED


def tallies() -> dict[tuple[int, str, str], tuple[int, int]]:
    return {(t.year, t.area, t.mode): (t.villages, t.inspections) for t in CoverageTally.objects.all()}


def submit(code: str, mode: str = UNANNOUNCED, *, at: dt.datetime | None = None) -> Inspection:
    """An inspection of the village submitted through the service, at ``at`` (now by default)."""
    member = builders.inspector()
    inspection = builders.inspection(village=code, mode=mode, team=[member])
    inspection_submit(inspection=inspection, user=member.user, summary="看过了", now=at or timezone.now())
    return inspection


def test_a_submission_counts_its_village_and_itself_in_its_four_areas_in_its_mode_and_any() -> None:
    submit(A1)
    year = timezone.now().astimezone(SHANGHAI).year
    expected = {
        (year, area, mode): (1, 1)
        for area in ("33", "3305", "330523", "330523101")
        for mode in ("", UNANNOUNCED)
    }
    assert tallies() == expected


def test_a_village_visited_again_counts_once_and_its_visits_each_time() -> None:
    submit(A1)
    submit(A1)  # the same mode again
    submit(A1, RANDOM)  # another mode: new for that mode, not for any mode
    submit(A2)
    year = timezone.now().astimezone(SHANGHAI).year
    found = tallies()
    assert found[(year, "330523101", "")] == (2, 4)
    assert found[(year, "330523101", UNANNOUNCED)] == (2, 3)
    assert found[(year, "330523101", RANDOM)] == (1, 1)
    assert found[(year, "33", "")] == (2, 4)


def test_an_inactive_village_counts_its_visits_but_not_itself() -> None:
    builders.village(A1, is_active=False)
    submit(A1)
    year = timezone.now().astimezone(SHANGHAI).year
    assert tallies()[(year, "330523", "")] == (0, 1)
    assert not VisitedVillage.objects.exists()


def test_the_year_is_that_of_the_submission_in_china() -> None:
    # 31 December 16:30 UTC is already 1 January in China.
    late = dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)
    member = builders.inspector()
    inspection = builders.inspection(
        village=A1,
        team=[member],
        window_start=late - dt.timedelta(hours=1),
        window_end=late + dt.timedelta(hours=1),
    )
    inspection_submit(inspection=inspection, user=member.user, summary="元旦", now=late)
    assert {year for year, _, _ in tallies()} == {2026}


def test_a_visit_closed_as_submitted_counts_and_one_cancelled_does_not() -> None:
    now = timezone.now()
    done = builders.inspection(village=A1)
    assert done.close(to_status=Inspection.Status.SUBMITTED, now=now)
    assert not done.close(to_status=Inspection.Status.SUBMITTED, now=now)  # closed already: counted once
    cancelled = builders.inspection(village=A2)
    cancelled.close(to_status=Inspection.Status.CANCELLED, now=now)
    year = now.astimezone(SHANGHAI).year
    assert tallies()[(year, "330523101", "")] == (1, 1)


def test_the_running_count_is_what_a_recount_makes_of_many_visits_across_years() -> None:
    rng = random.Random(7)
    codes = [A1, A2, B1, OTHER]
    builders.village(B1, is_active=False)
    for _ in range(40):
        at = timezone.now() - dt.timedelta(days=rng.choice([0, 1, 200, 400, 800]))
        builders.inspection(
            village=rng.choice(codes),
            mode=rng.choice([RANDOM, UNANNOUNCED, Inspection.Mode.SPECIAL]),
            status=Inspection.Status.SUBMITTED,
            window_start=at - dt.timedelta(hours=3),
            window_end=at + dt.timedelta(hours=3),
            submitted_at=at,
        )
    builders.inspection(village=A1)  # not submitted: nowhere
    running = tallies()
    running_visited = set(VisitedVillage.objects.values_list("village_id", "year", "mode"))
    CoverageTally.objects.update(villages=0, inspections=0)
    result = coverage_recount()
    assert tallies() == running
    assert set(VisitedVillage.objects.values_list("village_id", "year", "mode")) == running_visited
    assert result.tallies == len(running)
    assert len({year for year, _, _ in running}) >= 3


def test_a_recount_leaves_out_a_village_made_inactive_since_its_visit() -> None:
    submit(A1)
    submit(A2)
    year = timezone.now().astimezone(SHANGHAI).year
    assert coverage_report(prefix="33", year=year).visited == 2
    Village.objects.filter(code=A2).update(is_active=False)
    coverage_recount_recent()
    assert tallies()[(year, "330523101", "")] == (1, 2)
    assert coverage_report(prefix="33", year=year).visited == 1


def test_a_recount_of_one_year_leaves_the_others_alone(capsys: pytest.CaptureFixture[str]) -> None:
    submit(A1)
    year = timezone.now().astimezone(SHANGHAI).year
    CoverageTally.objects.create(year=year - 5, area="33", area_length=2, mode="", villages=9, inspections=9)
    CoverageTally.objects.filter(year=year).update(villages=7)
    call_command("recount_coverage", "--year", str(year))
    assert tallies()[(year, "33", "")] == (1, 1)
    assert tallies()[(year - 5, "33", "")] == (9, 9)
    assert f"years {year}: 8 tallies" in capsys.readouterr().out


def test_the_country_s_and_a_province_s_coverage_read_the_tallies() -> None:
    submit(A1)
    submit(A1, RANDOM)
    submit(OTHER)
    year = timezone.now().astimezone(SHANGHAI).year
    country = coverage_report(prefix="", year=year)
    assert {row.code: row.visited for row in country.townships} == {"33": 1, "37": 1}
    assert country.by_mode == {UNANNOUNCED: 2, RANDOM: 1}
    # The report says what the tallies say, not what a count over the inspections would.
    CoverageTally.objects.filter(year=year, area="3305", mode="").update(villages=5)
    province = coverage_report(prefix="33", year=year)
    assert [(row.code, row.visited) for row in province.townships] == [("3305", 5)]
