"""Check-in flags: the shared flag shape, computed from the stored check-in, explained when read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import translation

from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.flags import check_in_flag_explanation, check_in_flags, check_in_flags_explained
from inspections.fieldwork.models import CheckIn, LocationStatus

RECEIVED = datetime(2025, 5, 12, 9, 30, tzinfo=SHANGHAI)


def check_in(*, distance_m: float | None = 120.0, skew: timedelta = timedelta(0)) -> CheckIn:
    """A check-in as stored (never saved: the flags read only its fields)."""
    return CheckIn(
        longitude=119.68,
        latitude=30.52,
        accuracy_m=6.0,
        device_time=RECEIVED + skew,
        received_at=RECEIVED,
        location_status=LocationStatus.UNKNOWN if distance_m is None else LocationStatus.KNOWN,
        distance_m=distance_m,
    )


@pytest.fixture(autouse=True)
def limits(settings: Any) -> None:
    settings.QINGSHAN_GEOFENCE_RADIUS_M = 1000
    settings.QINGSHAN_EVIDENCE_CLOCK_SKEW = timedelta(minutes=10)


def test_it_raises_no_flag_for_a_check_in_on_site_with_a_right_clock() -> None:
    assert check_in_flags(check_in(distance_m=999.0, skew=timedelta(minutes=9))) == []


def test_it_flags_a_check_in_beyond_the_geofence_with_its_distance_and_radius() -> None:
    assert check_in_flags(check_in(distance_m=2480.7)) == [
        {"code": "far_from_village", "params": {"distance_m": 2480.7, "radius_m": 1000}}
    ]


def test_it_raises_no_distance_flag_when_the_village_location_is_unknown() -> None:
    assert check_in_flags(check_in(distance_m=None)) == []


def test_it_flags_a_phone_clock_off_either_way_by_more_than_the_tolerance() -> None:
    ahead = check_in_flags(check_in(skew=timedelta(minutes=11)))
    behind = check_in_flags(check_in(skew=-timedelta(hours=3)))

    assert ahead == [{"code": "clock_skew", "params": {"seconds": 660.0}}]
    assert behind == [{"code": "clock_skew", "params": {"seconds": -10800.0}}]


def test_it_explains_check_in_flags_in_the_readers_language() -> None:
    far_and_skewed = check_in(distance_m=2480.7, skew=timedelta(hours=3))

    with translation.override("en"):
        english = check_in_flags_explained(far_and_skewed)
    with translation.override("zh-hans"):
        chinese = check_in_flags_explained(far_and_skewed)

    assert english == [
        {
            "code": "far_from_village",
            "explanation": "Checked in 2480 m from the village, beyond the 1000 m allowed.",
        },
        {"code": "clock_skew", "explanation": "The phone's clock was 180 min off the server's."},
    ]
    assert [flag["code"] for flag in chinese] == ["far_from_village", "clock_skew"]
    assert chinese[0]["explanation"] == "签到位置距村 2480 米，超出允许的 1000 米。"
    assert chinese[1]["explanation"] == "手机时钟与服务器相差 180 分钟。"


def test_an_unknown_check_in_flag_is_shown_by_its_code() -> None:
    assert check_in_flag_explanation({"code": "something_new", "params": {}}) == "something_new"
