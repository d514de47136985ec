"""The national division table (620,573 villages) imports whole, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from villages.models import Division, Village
from villages.services import divisions_import

pytestmark = pytest.mark.slow

NATIONAL = Path(settings.BASE_DIR) / "seeds" / "divisions-nbs-2023.csv.gz"


@pytest.mark.django_db(transaction=True)
def test_the_national_table_imports_every_level_and_a_second_run_changes_nothing() -> None:
    first = divisions_import(path=NATIONAL)

    assert dict(first.created) == {
        "province": 31,
        "prefecture": 342,
        "county": 2978,
        "township": 41352,
        "village": 620573,
    }
    assert Village.objects.count() == 620573
    assert Village.objects.filter(kind="villagers").count() >= 487144
    assert Village.objects.within("330523").count() == 218
    assert Division.objects.within("330523").filter(level=4).count() == 15

    second = divisions_import(path=NATIONAL)

    assert not second.changed
