"""Check-in flags: what a supervisor should look at twice about an arrival on site.

The same shape as the photo evidence flags (``inspections.evidence.flags``):
each flag is a stable ``code`` and the ``params`` behind it, computed from the
stored check-in, and explained in words only when read, in the reader's
language. Check-in flags are never stored: the settings they depend on
(the geofence radius, the clock tolerance) are those of the moment of reading.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from inspections.common.flags import flag
from inspections.fieldwork.models import CheckIn


def check_in_flags(check_in: CheckIn) -> list[dict[str, Any]]:
    """The flags of a check-in, each ``{"code": …, "params": {…}}``.

    ``far_from_village`` when the measured distance is beyond
    ``QINGSHAN_GEOFENCE_RADIUS_M`` (never when the village has no confirmed or
    surveyed location: no distance, no flag); ``clock_skew`` when the phone's
    clock was off the server's by more than ``QINGSHAN_EVIDENCE_CLOCK_SKEW``.
    """
    flags: list[dict[str, Any]] = []
    radius = settings.QINGSHAN_GEOFENCE_RADIUS_M
    if check_in.distance_m is not None and check_in.distance_m > radius:
        flags.append(flag("far_from_village", distance_m=check_in.distance_m, radius_m=radius))
    skew = check_in.clock_skew_seconds
    if abs(skew) > settings.QINGSHAN_EVIDENCE_CLOCK_SKEW.total_seconds():
        flags.append(flag("clock_skew", seconds=skew))
    return flags


def check_in_flag_explanation(flag: dict[str, Any]) -> str:
    """A sentence for people, in the active language, from a check-in flag's code and params."""
    code, params = flag.get("code", ""), flag.get("params", {})
    if code == "far_from_village":
        return gettext("Checked in %(distance)d m from the village, beyond the %(radius)d m allowed.") % {
            "distance": params["distance_m"],
            "radius": params["radius_m"],
        }
    if code == "clock_skew":
        return gettext("The phone's clock was %(minutes)d min off the server's.") % {
            "minutes": abs(params["seconds"]) // 60
        }
    return str(code)


def check_in_flags_explained(check_in: CheckIn) -> list[dict[str, str]]:
    """The check-in's flags as the API shows them: each code with its explanation."""
    return [
        {"code": flag["code"], "explanation": check_in_flag_explanation(flag)}
        for flag in check_in_flags(check_in)
    ]
