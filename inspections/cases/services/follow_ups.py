"""Follow-up visits of a case: verification (核查销号) and look-back (回头看).

Each visit is an embargoed :class:`~inspections.fieldwork.models.Inspection`
(mode verification or look-back) whose only viewer is the inspector drawn for
it, from its window on. Draws are keyed-hash samples recorded with their seed
(:class:`FollowUpDraw`), so anyone can re-run them. One pending visit of each
kind per case (a database constraint says so too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.cases.models import Case, CaseStatus, FollowUp, FollowUpDraw, Rectification
from inspections.common import randomness
from inspections.common.china_time import day_end, day_start, local_date
from inspections.fieldwork.models import Inspection
from inspections.workdays.calendar import add_working_days

logger = logging.getLogger(__name__)


def _draw(
    *,
    kind: str,
    label: str,
    candidates: Sequence[tuple[str, float]],
    k: int,
    parameters: dict[str, Any],
    now: dt.datetime,
) -> FollowUpDraw:
    """A keyed-hash draw of ``k`` of ``candidates``, recorded with its seed so it can be re-run."""
    seed = secrets.token_bytes(32)
    keys = sorted(key for key, _weight in candidates)
    drawn = randomness.weighted_sample(seed, label, [(key, weight, key) for key, weight in candidates], k)
    return FollowUpDraw.objects.create(
        kind=kind,
        label=label,
        seed=seed.hex(),
        seed_sha256=hashlib.sha256(seed).hexdigest(),
        candidates=keys,
        candidates_sha256=hashlib.sha256("\n".join(keys).encode()).hexdigest(),
        k=k,
        drawn=drawn,
        parameters=parameters,
        created_at=now,
    )


def follow_up_draw_rerun(*, draw: FollowUpDraw) -> list[str]:
    """Re-run a recorded draw from its seed: equal to ``draw.drawn`` unless tampered with."""
    weights = draw.parameters.get("weights", {})
    items = [(key, float(weights.get(key, 1.0)), key) for key in draw.candidates]
    return randomness.weighted_sample(bytes.fromhex(draw.seed), draw.label, items, draw.k)


def eligible_follow_up_inspectors(*, case: Case) -> list[Inspector]:
    """Active inspectors who did not rectify this case and are not from the village's county."""
    county = case.village.code[:6]
    rectifiers = Rectification.objects.filter(case=case).values("submitted_by_id")
    return list(
        Inspector.objects.filter(is_active=True, user__is_active=True)
        .exclude(home_division__code__startswith=county)
        .exclude(user_id__in=rectifiers)
        .select_related("user")
        .order_by("credential_number")
    )


def _visit_window(
    case: Case, *, kind: str, now: dt.datetime, draw_seed: bytes | None = None
) -> tuple[dt.datetime, dt.datetime]:
    if kind == FollowUp.Kind.VERIFICATION:
        days = settings.QINGSHAN_VERIFICATION_WORKING_DAYS
        end_day = add_working_days(local_date(now), days).date
        return now, day_end(end_day) - dt.timedelta(seconds=1)
    # Look-back: a day-long window at a random point within N days of closure.
    closed_at = case.closed_at or now
    latest = closed_at + dt.timedelta(days=settings.QINGSHAN_LOOK_BACK_WITHIN_DAYS)
    earliest = max(now, closed_at)
    span = max((latest - earliest) - dt.timedelta(days=1), dt.timedelta(0))
    u = randomness.keyed_uniform(draw_seed or b"", "look_back_window", str(case.pk))
    start = earliest + span * u
    return start, start + dt.timedelta(days=1)


def follow_up_schedule(
    *,
    case: Case,
    kind: str,
    now: dt.datetime,
    rectification: Rectification | None = None,
    look_back_draw: FollowUpDraw | None = None,
) -> FollowUp | None:
    """Schedule a verification or look-back visit with a drawn inspector; returns it.

    Returns the pending visit of that kind if the case already has one.
    Without an eligible inspector nothing is scheduled (logged) and the
    result is None; a supervisor can still verify in the admin.
    """
    existing = pending_follow_up(case=case, kind=kind)
    if existing is not None:
        return existing  # one open visit of each kind per case
    pool = eligible_follow_up_inspectors(case=case)
    # A team of at least two (the first drawn leads and records the result).
    team_size = max(settings.QINGSHAN_FOLLOW_UP_TEAM_SIZE, 2)
    if len(pool) < team_size:
        logger.warning("case %s: fewer than %d eligible inspectors for a %s visit", case.pk, team_size, kind)
        return None
    attempt = FollowUp.objects.filter(case=case, kind=kind).count() + 1
    draw = _draw(
        kind=FollowUpDraw.Kind.VERIFIER,
        label=f"{kind}:case:{case.pk}:{attempt}",
        candidates=[(i.credential_number, 1.0) for i in pool],
        k=team_size,
        parameters={
            "case": case.pk,
            "kind": kind,
            "county_excluded": case.village.code[:6],
            "team_size": team_size,
        },
        now=now,
    )
    by_credential = {i.credential_number: i for i in pool}
    team = [by_credential[c] for c in draw.drawn]
    inspector = team[0]
    seed = bytes.fromhex(look_back_draw.seed) if look_back_draw else bytes.fromhex(draw.seed)
    start, end = _visit_window(case, kind=kind, now=now, draw_seed=seed)
    mode = Inspection.Mode.VERIFICATION if kind == FollowUp.Kind.VERIFICATION else Inspection.Mode.LOOK_BACK
    visit = Inspection.objects.create(mode=mode, village=case.village, window_start=start, window_end=end)
    visit.team.add(*team)
    return FollowUp.objects.create(
        case=case, kind=kind, inspection=visit, inspector=inspector, draw=draw, rectification=rectification
    )


def pending_follow_up(*, case: Case, kind: str) -> FollowUp | None:
    """The case's visit of ``kind`` that has no result yet, if any (at most one)."""
    return FollowUp.objects.filter(case=case, kind=kind, result=FollowUp.Result.PENDING).first()


def follow_up_close(
    follow_up: FollowUp,
    *,
    result: str,
    actor: User,
    client_uuid: uuid.UUID | None,
    note: str,
    photo_uuids: list[str],
    now: dt.datetime,
    inspection_status: str,
) -> FollowUp:
    """Record the result of a pending visit and settle its inspection; returns the visit.

    A result with a ``client_uuid`` (the phone's) makes that UUID taken: the
    unique constraint on ``result_uuid`` refuses a second one.
    """
    follow_up.result = result
    follow_up.result_uuid = client_uuid
    follow_up.result_note = note
    follow_up.result_photo_uuids = photo_uuids
    follow_up.result_by = actor
    follow_up.result_at = now
    follow_up.save(
        update_fields=["result", "result_uuid", "result_note", "result_photo_uuids", "result_by", "result_at"]
    )
    # Through the inspection's own move: a visit closed already stays as it is (its first
    # submission kept), and a submitted one is counted in the year's coverage tallies.
    Inspection.objects.get(pk=follow_up.inspection_id).close(to_status=inspection_status, now=now)
    return follow_up


def follow_up_cancel_pending(*, case: Case, kind: str, actor: User, now: dt.datetime) -> FollowUp | None:
    """Cancel the pending visit of ``kind``, if any; returns it.

    For decisions taken by hand (verified, sent back, reopened in the admin):
    the visit has nothing left to check, and is cancelled rather than left as
    an empty assignment.
    """
    follow_up = pending_follow_up(case=case, kind=kind)
    if follow_up is not None:
        follow_up_close(
            follow_up,
            result=FollowUp.Result.CANCELLED,
            actor=actor,
            client_uuid=None,
            note="",
            photo_uuids=[],
            now=now,
            inspection_status=Inspection.Status.CANCELLED,
        )
    return follow_up


def cases_schedule_look_backs(
    *, period_start: dt.date, period_end: dt.date, now: dt.datetime | None = None, share: float | None = None
) -> FollowUpDraw | None:
    """Draw a share of the cases closed in ``[period_start, period_end]`` (China's days) for a look-back.

    Returns the draw, or None when this period was drawn already: one draw
    per period (its label is unique), so running it again does nothing. The
    seed is stored: anyone can re-run the sample.
    """
    now = now or timezone.now()
    share = settings.QINGSHAN_LOOK_BACK_SHARE if share is None else share
    label = f"look_back:{period_start.isoformat()}:{period_end.isoformat()}"
    if FollowUpDraw.objects.filter(label=label).exists():
        return None
    closed = list(
        Case.objects.filter(
            status=CaseStatus.CLOSED,
            closed_at__gte=day_start(period_start),
            closed_at__lt=day_end(period_end),
        )
        .select_related("village", "category")
        .order_by("id")
    )
    k = math.ceil(len(closed) * share) if closed and share > 0 else 0
    with transaction.atomic():
        try:
            with transaction.atomic():
                draw = _draw(
                    kind=FollowUpDraw.Kind.LOOK_BACK,
                    label=label,
                    candidates=[(str(c.pk), 1.0) for c in closed],
                    k=k,
                    parameters={"share": share, "period": [period_start.isoformat(), period_end.isoformat()]},
                    now=now,
                )
        except IntegrityError:
            return None  # another worker drew this period
        by_key = {str(c.pk): c for c in closed}
        for key in draw.drawn:
            case = by_key[key]
            if pending_follow_up(case=case, kind=FollowUp.Kind.LOOK_BACK) is None:
                follow_up_schedule(case=case, kind=FollowUp.Kind.LOOK_BACK, now=now, look_back_draw=draw)
    return draw
