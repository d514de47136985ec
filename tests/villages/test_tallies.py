"""The active villages of each area, kept by the database (migration ``villages.0003_village_tally``).

Each test writes villages the way some part of the product does (a builder's
save, a queryset update, a delete, the division import) and compares the
stored tallies with the villages counted afresh, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.builders import ANJI, DEQING, YUCUN, village
from tests.villages.test_import_divisions import SMALL, write
from villages.models import VILLAGE_AREA_LENGTHS, Village, VillageTally
from villages.services import divisions_import

pytestmark = pytest.mark.django_db

OTHER = f"{ANJI}101201"
DEQING_VILLAGE = f"{DEQING}100201"


def tallies() -> dict[str, int]:
    """The stored tallies, areas holding no village left out."""
    return dict(VillageTally.objects.exclude(villages=0).values_list("area", "villages"))


def counted() -> dict[str, int]:
    """The active villages of each area, counted over the villages."""
    counts: Counter[str] = Counter()
    for code in Village.objects.filter(is_active=True).values_list("code", flat=True):
        counts.update(code[:length] for length in VILLAGE_AREA_LENGTHS)
    return dict(counts)


def test_a_new_active_village_counts_in_its_province_prefecture_county_and_township() -> None:
    village(YUCUN)
    village(OTHER)

    assert tallies() == {"33": 2, "3305": 2, ANJI: 2, YUCUN[:9]: 1, OTHER[:9]: 1}
    assert VillageTally.objects.get(area=ANJI).area_length == 6


def test_an_inactive_village_counts_nowhere() -> None:
    village(YUCUN, is_active=False)

    assert tallies() == {}


def test_deactivating_and_reactivating_a_village_moves_its_count_and_other_edits_change_nothing() -> None:
    yucun = village(YUCUN)
    village(OTHER)

    yucun.is_active = False
    yucun.save()  # as the admin saves it: every column
    assert tallies() == counted() == {"33": 1, "3305": 1, ANJI: 1, OTHER[:9]: 1}

    Village.objects.filter(pk=yucun.pk).update(is_active=True)
    Village.objects.filter(pk=yucun.pk).update(name="余村")
    assert tallies() == counted()
    assert tallies()[ANJI] == 2


def test_a_deleted_village_is_taken_away_and_a_changed_code_moves_to_its_new_areas() -> None:
    yucun = village(YUCUN)
    other = village(OTHER)
    deqing = village(DEQING_VILLAGE)

    Village.objects.filter(pk=other.pk).delete()
    assert tallies() == counted()

    Village.objects.filter(pk=deqing.pk).update(code=f"{ANJI}108205", township=yucun.township)
    assert tallies() == counted() == {"33": 2, "3305": 2, ANJI: 2, YUCUN[:9]: 2}


def test_one_statement_over_many_villages_counts_each_once() -> None:
    for n in range(12):
        village(f"{ANJI}108{200 + n:03d}")
        village(f"{DEQING}100{200 + n:03d}")

    Village.objects.filter(code__startswith=DEQING).update(is_active=False)
    assert tallies() == counted()
    assert tallies()["3305"] == 12

    Village.objects.filter(code__startswith="33").update(is_active=True)
    Village.objects.filter(code__startswith=ANJI).delete()
    assert tallies() == counted() == {"33": 12, "3305": 12, DEQING: 12, f"{DEQING}100": 12}


def test_the_division_import_is_counted_and_a_later_edition_dropping_villages_is_followed(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, SMALL)
    divisions_import(path=path)
    assert tallies() == counted()
    assert tallies()["33"] == 4

    divisions_import(path=write(tmp_path, SMALL.replace("330523108403,某农场生活区\n", "")))
    assert tallies() == counted()
    assert (tallies()["33"], tallies()["330523108"]) == (3, 2)


def test_the_tallies_are_kept_by_triggers_of_the_database() -> None:
    """The counts come from the database itself: a village written in raw SQL is counted too."""
    township = village(YUCUN).township
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO villages_village (code, name, township_id, kind, urban_rural_class, datum,"
            " location_source, is_active) VALUES (%s, %s, %s, %s, '', '', '', %s)",
            [f"{ANJI}108205", "新村", township.pk, "villagers", True],
        )
    assert tallies()[YUCUN[:9]] == 2


def test_a_recount_mends_tallies_whose_triggers_were_bypassed() -> None:
    village(YUCUN)
    village(OTHER)
    village(DEQING_VILLAGE, is_active=False)
    VillageTally.objects.filter(area=ANJI).update(villages=7)  # as a restore without triggers leaves them
    VillageTally.objects.filter(area="33").delete()
    out = StringIO()

    call_command("recount_village_tallies", stdout=out)

    assert tallies() == counted() == {"33": 2, "3305": 2, ANJI: 2, YUCUN[:9]: 1, OTHER[:9]: 1}
    assert "5 areas" in out.getvalue()
    village(f"{ANJI}108205")  # and the triggers go on from the recounted figures
    assert tallies()[ANJI] == 3
