"""EpochMicroseconds: a stored datetime read back as exact microseconds since the epoch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F, OuterRef, Subquery

from inspections.common.db_functions import EpochMicroseconds, epoch_microseconds
from inspections.fieldwork.models import Inspection
from tests import builders

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 12, 2, 6, 50, 1, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 2, 6, 50, 1, tzinfo=dt.UTC),  # no fraction: SQLite stores none
        dt.datetime(2026, 12, 2, 6, 50, 1, 7, tzinfo=dt.UTC),  # leading zeros of the fraction
        dt.datetime(2027, 1, 1, 0, 0, 0, 999999, tzinfo=SHANGHAI),  # stored in UTC, the year before
        dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=dt.UTC),  # before the epoch
    ],
)
def test_a_datetime_reads_back_as_its_microseconds_since_the_epoch(moment: dt.datetime) -> None:
    inspection = builders.inspection(status=Inspection.Status.SUBMITTED, submitted_at=moment)

    read = Inspection.objects.filter(pk=inspection.pk).values_list(
        EpochMicroseconds(F("submitted_at")), flat=True
    )

    assert read.get() == epoch_microseconds(moment)
    assert epoch_microseconds(moment) == round(moment.timestamp() * 1_000_000)


@pytest.mark.django_db
def test_null_stays_null() -> None:
    inspection = builders.inspection()  # scheduled: not submitted

    read = Inspection.objects.filter(pk=inspection.pk).values_list(
        EpochMicroseconds(F("submitted_at")), flat=True
    )

    assert read.get() is None


@pytest.mark.django_db
def test_an_expression_with_parameters_reads_back_too() -> None:
    moment = dt.datetime(2026, 12, 2, 6, 50, 1, 654321, tzinfo=dt.UTC)
    inspection = builders.inspection(status=Inspection.Status.SUBMITTED, submitted_at=moment)
    last = Inspection.objects.filter(pk=OuterRef("pk"), status=Inspection.Status.SUBMITTED)

    read = Inspection.objects.filter(pk=inspection.pk).values_list(
        EpochMicroseconds(Subquery(last.values("submitted_at")[:1])), flat=True
    )

    assert read.get() == epoch_microseconds(moment)
