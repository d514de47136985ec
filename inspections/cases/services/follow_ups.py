"""Write paths of the case workflow; each public function is a transaction boundary.

The status of a case changes only in :func:`case_set_status`, against
``ALLOWED_TRANSITIONS`` beside the model; every change to a case (status,
escalation, publication, deadline) appends exactly one hash-chained
:class:`CaseEvent` through :func:`_append_event`, under a lock on the case row.

Periodic jobs (escalation, look-back draws) claim each case with a
conditional UPDATE, so two workers running at once act once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector, Role, User
from inspections.api.problems import Problem
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import (
    ALLOWED_TRANSITIONS,
    RECTIFICATION_DUE,
    Case,
    CaseEvent,
    CaseNotification,
    CaseStatus,
    DeadlineRule,
    FollowUp,
    FollowUpDraw,
    Rectification,
)
from inspections.cases.policies import can_rectify
from inspections.checklist.models import ProblemCategory
from inspections.common import randomness
from inspections.common.china_time import SHANGHAI, local_date
from inspections.common.dispatch import enqueue_on_commit
from inspections.evidence.selectors import PhotoFacts, photo_facts
from inspections.fieldwork.models import Finding, Inspection
from inspections.workdays.calendar import WorkingCalendar, WorkingDays, add_working_days

logger = logging.getLogger(__name__)


# --- Errors with stable codes ----------------------------------------------


class CaseTransitionNotAllowed(Problem):
    def __init__(self, *, case: Case, to_status: str) -> None:
        super().__init__(
            status=409,
            code="case_transition_not_allowed",
            detail=str(
                _("A case that is %(from)s cannot become %(to)s.")
                % {"from": CaseStatus(case.status).label, "to": CaseStatus(to_status).label}
            ),
            extra={"from_status": case.status, "to_status": to_status},
        )


def _conflict(code: str, detail: Any) -> Problem:
    return Problem(status=409, code=code, detail=str(detail))


# --- Deadlines ---------------------------------------------------------------


def deadline_working_days(*, category: ProblemCategory, severity: str) -> int:
    """The editable rule for this category and severity, else the category's default."""
    rule = DeadlineRule.objects.filter(category=category, severity=severity).first()
    return rule.working_days if rule is not None else category.rectification_days


def deadline_count(
    *, category: ProblemCategory, severity: str, start: dt.date, calendar: WorkingCalendar | None = None
) -> tuple[int, WorkingDays]:
    days = deadline_working_days(category=category, severity=severity)
    return days, add_working_days(start, days, calendar=calendar)


def _deadline_fields(case: Case, *, now: dt.datetime) -> dict[str, Any]:
    """A fresh deadline from today, and the escalation clock restarted after it."""
    days, counted = deadline_count(category=case.category, severity=case.severity, start=local_date(now))
    return {
        "deadline": counted.date,
        "deadline_working_days": days,
        "deadline_warning": counted.warning,
        "deadline_from": local_date(now),
        "escalation_due_on": counted.date + dt.timedelta(days=1),
    }


# --- The event chain -----------------------------------------------------------


@transaction.atomic
def case_set_status(
    *,
    case: Case,
    to_status: str,
    actor: User | None,
    note: str = "",
    evidence: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Move a case to ``to_status`` if the transitions table allows it.

    ``changes`` are other fields set in the same save (a new deadline, the
    reopen count…). Writes exactly one event. Refuses with
    ``case_transition_not_allowed`` otherwise, writing nothing.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    if to_status not in ALLOWED_TRANSITIONS.get(locked.status, frozenset()):
        raise CaseTransitionNotAllowed(case=locked, to_status=to_status)
    from_status = locked.status
    locked.status = to_status
    changes = dict(changes or {})
    if to_status == CaseStatus.CLOSED:
        changes.setdefault("closed_at", now)
    for name, value in changes.items():
        setattr(locked, name, value)
    case_event_append(
        locked,
        kind=CaseEvent.Kind.STATUS,
        actor=actor,
        from_status=from_status,
        note=note,
        evidence=evidence,
        now=now,
    )
    locked.save(update_fields=["status", *changes.keys(), *HEAD_FIELDS])
    return locked


# --- Opening cases -------------------------------------------------------------


@transaction.atomic
def cases_open_for_inspection(*, inspection: Inspection, now: dt.datetime | None = None) -> list[Case]:
    """Open one case per finding of a submitted inspection; idempotent.

    Called by the submit endpoint; running it again opens only the cases of
    findings that have none yet (there are none), so a replayed submit is safe.
    """
    now = now or timezone.now()
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise _conflict("inspection_not_submitted", _("Cases open only from a submitted inspection."))
    findings = list(
        Finding.objects.filter(inspection=inspection, case__isnull=True)
        .select_related("category")
        .order_by("created_at", "id")
    )
    calendar = WorkingCalendar.load()
    opened: list[Case] = []
    start = local_date(inspection.submitted_at or now)
    for finding in findings:
        days, counted = deadline_count(
            category=finding.category, severity=finding.severity, start=start, calendar=calendar
        )
        case = Case.objects.create(
            finding=finding,
            inspection=inspection,
            village_id=inspection.village_id,
            category=finding.category,
            severity=finding.severity,
            status=CaseStatus.OPEN,
            opened_at=now,
            deadline=counted.date,
            deadline_working_days=days,
            deadline_warning=counted.warning,
            deadline_from=start,
            escalation_due_on=counted.date + dt.timedelta(days=1),
        )
        case_event_append(
            case,
            kind=CaseEvent.Kind.OPENED,
            actor=None,
            from_status="",
            evidence={"finding": str(finding.client_uuid), "inspection": inspection.pk},
            now=now,
        )
        case.save(update_fields=HEAD_FIELDS)
        opened.append(case)
    return opened


# --- Who may do what ---------------------------------------------------------------


def case_acknowledge(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """The responsible party starts rectifying (open → rectifying)."""
    if not can_rectify(actor, case):
        raise Problem(
            status=403, code="permission_denied", detail=str(_("Only the responsible party may do this."))
        )
    return case_set_status(case=case, to_status=CaseStatus.RECTIFYING, actor=actor, note=note, now=now)


# --- Rectification and its evidence flags --------------------------------------------


AFTER_PHOTO_MAX_DISTANCE_M = 200.0
NEAR_DUPLICATE_MAX_BITS = 8


def after_photo_flags(
    *, finding: Finding, before: Sequence[PhotoFacts], after: Sequence[PhotoFacts]
) -> list[dict[str, Any]]:
    """Explained flags on after-photos: far from the finding, or a near duplicate
    of a before-photo (the same picture sent again as proof of rectification)."""
    flags: list[dict[str, Any]] = []
    for photo in after:
        if (
            finding.longitude is not None
            and finding.latitude is not None
            and photo.longitude is not None
            and photo.latitude is not None
            and photo.datum
        ):
            metres = distance_m(
                (finding.longitude, finding.latitude, finding.datum),
                (photo.longitude, photo.latitude, photo.datum),
            )
            if metres > AFTER_PHOTO_MAX_DISTANCE_M:
                flags.append(
                    {
                        "photo": photo.uuid,
                        "code": "far_from_finding",
                        "distance_m": round(metres),
                        "detail": str(
                            _("Taken %(m)d m from where the problem was found.") % {"m": round(metres)}
                        ),
                    }
                )
        if photo.phash:
            for earlier in before:
                if earlier.phash and _hamming(photo.phash, earlier.phash) <= NEAR_DUPLICATE_MAX_BITS:
                    flags.append(
                        {
                            "photo": photo.uuid,
                            "code": "near_duplicate_of_before",
                            "before_photo": earlier.uuid,
                            "detail": str(_("Nearly the same picture as a photo of the problem.")),
                        }
                    )
                    break
    return flags


def distance_m(a: tuple[float, float, str], b: tuple[float, float, str]) -> float:
    """Great-circle distance of two ``(longitude, latitude, datum)`` points, in metres.

    A WGS-84 point is first shifted to GCJ-02 when the other one is GCJ-02:
    the offset between the datums is hundreds of metres, as large as the
    threshold itself.
    """
    (lon1, lat1, datum1), (lon2, lat2, datum2) = a, b
    if datum1 != datum2:
        if datum1 == "wgs84":
            lon1, lat1 = wgs84_to_gcj02(lon1, lat1)
        else:
            lon2, lat2 = wgs84_to_gcj02(lon2, lat2)
    radius = 6371008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(h))


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The published GCJ-02 obfuscation (Krasovsky ellipsoid), applied inside China."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@transaction.atomic
def rectification_flags_refresh(*, rectification: Rectification) -> list[dict[str, Any]]:
    """Recompute the after-photo flags; the evidence pipeline calls it when a photo is processed."""
    rectification = (
        Rectification.objects.select_for_update().select_related("case__finding").get(pk=rectification.pk)
    )
    finding = rectification.case.finding
    flags = after_photo_flags(
        finding=finding,
        before=photo_facts([str(u) for u in finding.photo_uuids]),
        after=photo_facts([str(u) for u in rectification.photo_uuids]),
    )
    if flags != rectification.flags:
        rectification.flags = flags
        rectification.save(update_fields=["flags"])
    return flags


@transaction.atomic
def rectification_submit(
    *,
    case: Case,
    actor: User,
    client_uuid: uuid.UUID,
    description: str,
    photo_uuids: Sequence[str],
    now: dt.datetime | None = None,
) -> tuple[Rectification, bool]:
    """Record a rectification and move the case to awaiting verification.

    Returns ``(rectification, created)``. A replay of the same UUID with the
    same content returns the first one; different content is ``uuid_conflict``.
    Schedules the verification visit in the same transaction.
    """
    now = now or timezone.now()
    photo_uuids = [str(u) for u in photo_uuids]
    existing = Rectification.objects.filter(client_uuid=client_uuid).first()
    if existing is not None:
        same = (
            existing.case_id == case.pk
            and existing.description == description
            and [str(u) for u in existing.photo_uuids] == photo_uuids
            and existing.submitted_by_id == actor.pk
        )
        if not same:
            raise _conflict("uuid_conflict", _("This UUID was already used for a different rectification."))
        return existing, False
    if not can_rectify(actor, case):
        raise Problem(
            status=403, code="permission_denied", detail=str(_("Only the responsible party may rectify."))
        )
    locked = case_lock(case)
    if CaseStatus.AWAITING_VERIFICATION not in ALLOWED_TRANSITIONS[locked.status]:
        raise CaseTransitionNotAllowed(case=locked, to_status=CaseStatus.AWAITING_VERIFICATION)
    try:
        with transaction.atomic():
            rectification = Rectification.objects.create(
                client_uuid=client_uuid,
                case=locked,
                submitted_by=actor,
                description=description,
                photo_uuids=photo_uuids,
            )
    except IntegrityError:
        # A concurrent replay of the same UUID won the insert.
        raise _conflict("uuid_conflict", _("This UUID is being used by another request.")) from None
    flags = rectification_flags_refresh(rectification=rectification)
    case_set_status(
        case=locked,
        to_status=CaseStatus.AWAITING_VERIFICATION,
        actor=actor,
        note=description,
        evidence={
            "rectification": str(client_uuid),
            "photos": photo_uuids,
            "flags": [f["code"] for f in flags],
        },
        now=now,
    )
    follow_up_schedule(case=locked, kind=FollowUp.Kind.VERIFICATION, rectification=rectification, now=now)
    return rectification, True


# --- Follow-up visits: verification and look-back -----------------------------------


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
        end = dt.datetime.combine(end_day, dt.time(23, 59, 59), tzinfo=SHANGHAI)
        return now, end
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
    """Schedule a verification or look-back visit with a drawn inspector.

    The visit is an embargoed :class:`Inspection` (mode verification or
    look-back) whose only viewer is the drawn inspector, from its window.
    Without an eligible inspector nothing is scheduled (logged); a supervisor
    can still verify in the admin.
    """
    existing = pending_follow_up(case=case, kind=kind)
    if existing is not None:
        return existing  # one open visit of each kind per case
    pool = eligible_follow_up_inspectors(case=case)
    if not pool:
        logger.warning("case %s: no eligible inspector for a %s visit", case.pk, kind)
        return None
    attempt = FollowUp.objects.filter(case=case, kind=kind).count() + 1
    draw = _draw(
        kind=FollowUpDraw.Kind.VERIFIER,
        label=f"{kind}:case:{case.pk}:{attempt}",
        candidates=[(i.credential_number, 1.0) for i in pool],
        k=1,
        parameters={"case": case.pk, "kind": kind, "county_excluded": case.village.code[:6]},
        now=now,
    )
    inspector = next(i for i in pool if i.credential_number == draw.drawn[0])
    seed = bytes.fromhex(look_back_draw.seed) if look_back_draw else bytes.fromhex(draw.seed)
    start, end = _visit_window(case, kind=kind, now=now, draw_seed=seed)
    mode = Inspection.Mode.VERIFICATION if kind == FollowUp.Kind.VERIFICATION else Inspection.Mode.LOOK_BACK
    visit = Inspection.objects.create(mode=mode, village=case.village, window_start=start, window_end=end)
    visit.team.add(inspector)
    return FollowUp.objects.create(
        case=case, kind=kind, inspection=visit, inspector=inspector, draw=draw, rectification=rectification
    )


def pending_follow_up(*, case: Case, kind: str) -> FollowUp | None:
    return FollowUp.objects.filter(case=case, kind=kind, result=FollowUp.Result.PENDING).first()


def _close_follow_up(
    follow_up: FollowUp,
    *,
    result: str,
    actor: User,
    client_uuid: uuid.UUID | None,
    note: str,
    photo_uuids: list[str],
    now: dt.datetime,
    inspection_status: str,
) -> None:
    follow_up.result = result
    follow_up.result_uuid = client_uuid
    follow_up.result_note = note
    follow_up.result_photo_uuids = photo_uuids
    follow_up.result_by = actor
    follow_up.result_at = now
    follow_up.save(
        update_fields=["result", "result_uuid", "result_note", "result_photo_uuids", "result_by", "result_at"]
    )
    Inspection.objects.filter(pk=follow_up.inspection_id).update(
        status=inspection_status,
        submitted_at=now if inspection_status == Inspection.Status.SUBMITTED else None,
    )


@transaction.atomic
def follow_up_record_result(
    *,
    case: Case,
    kind: str,
    actor: User,
    client_uuid: uuid.UUID,
    passed: bool,
    note: str,
    photo_uuids: Sequence[str],
    now: dt.datetime | None = None,
) -> tuple[FollowUp, bool]:
    """The result of a verification or look-back visit, by its drawn inspector.

    Verification: passed closes the case (销号); failed sends it back to
    rectifying with a new deadline and one more reopen. Look-back: passed is
    recorded as an event; failed reopens the case marked as a relapse.
    Idempotent by ``client_uuid`` like every field create.
    """
    now = now or timezone.now()
    photo_uuids = [str(u) for u in photo_uuids]
    result = FollowUp.Result.PASSED if passed else FollowUp.Result.FAILED
    existing = FollowUp.objects.filter(result_uuid=client_uuid).first()
    if existing is not None:
        same = (
            existing.case_id == case.pk
            and existing.kind == kind
            and existing.result == result
            and existing.result_note == note
            and existing.result_photo_uuids == photo_uuids
        )
        if not same:
            raise _conflict("uuid_conflict", _("This UUID was already used for a different result."))
        return existing, False
    locked = case_lock(case)
    follow_up = pending_follow_up(case=locked, kind=kind)
    expected = CaseStatus.AWAITING_VERIFICATION if kind == FollowUp.Kind.VERIFICATION else CaseStatus.CLOSED
    if follow_up is None or locked.status != expected:
        raise _conflict("no_pending_visit", _("This case has no pending visit of that kind."))
    on_team = follow_up.inspector.user_id == actor.pk
    if not (on_team and follow_up.inspection.window_start <= now) and not actor.is_superuser:
        raise Problem(
            status=403,
            code="permission_denied",
            detail=str(_("Only the drawn inspector may record this visit.")),
        )
    if Rectification.objects.filter(case=locked, submitted_by=actor).exists():
        raise _conflict("verifier_is_rectifier", _("The rectifier cannot verify their own rectification."))
    _close_follow_up(
        follow_up,
        result=result,
        actor=actor,
        client_uuid=client_uuid,
        note=note,
        photo_uuids=photo_uuids,
        now=now,
        inspection_status=Inspection.Status.SUBMITTED,
    )
    evidence = {"follow_up": follow_up.pk, "kind": kind, "result": result, "photos": photo_uuids}
    if kind == FollowUp.Kind.VERIFICATION and passed:
        case_set_status(
            case=locked, to_status=CaseStatus.CLOSED, actor=actor, note=note, evidence=evidence, now=now
        )
    elif kind == FollowUp.Kind.VERIFICATION:
        case_set_status(
            case=locked,
            to_status=CaseStatus.RECTIFYING,
            actor=actor,
            note=note,
            evidence=evidence,
            changes={**_deadline_fields(locked, now=now), "reopen_count": locked.reopen_count + 1},
            now=now,
        )
    elif passed:
        case_event_append(
            locked,
            kind=CaseEvent.Kind.LOOK_BACK_PASSED,
            actor=actor,
            from_status=locked.status,
            note=note,
            evidence=evidence,
            now=now,
        )
        locked.save(update_fields=HEAD_FIELDS)
    else:
        case_reopen(case=locked, actor=actor, note=note, relapse=True, evidence=evidence, now=now)
    follow_up.refresh_from_db()
    return follow_up, True


# --- Supervisors' actions ------------------------------------------------------------


def _cancel_pending_follow_up(*, case: Case, kind: str, actor: User, now: dt.datetime) -> FollowUp | None:
    """Someone decided by hand: the pending visit of ``kind`` has nothing left to check,
    so it is cancelled rather than left as an empty assignment."""
    follow_up = pending_follow_up(case=case, kind=kind)
    if follow_up is not None:
        _close_follow_up(
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


@transaction.atomic
def case_verify(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """A supervisor closes a case after verifying it themselves (admin action)."""
    now = now or timezone.now()
    locked = case_lock(case)
    if locked.status != CaseStatus.AWAITING_VERIFICATION:
        raise CaseTransitionNotAllowed(case=locked, to_status=CaseStatus.CLOSED)
    if Rectification.objects.filter(case=locked, submitted_by=actor).exists():
        raise _conflict("verifier_is_rectifier", _("The rectifier cannot verify their own rectification."))
    follow_up = _cancel_pending_follow_up(case=locked, kind=FollowUp.Kind.VERIFICATION, actor=actor, now=now)
    evidence = {"verified_in": "admin", "follow_up_cancelled": follow_up.pk if follow_up else None}
    return case_set_status(
        case=locked, to_status=CaseStatus.CLOSED, actor=actor, note=note, evidence=evidence, now=now
    )


@transaction.atomic
def case_start_rectifying(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """Mark an open or reopened case as being rectified (admin action; the API's acknowledge)."""
    locked = case_lock(case)
    if locked.status not in (CaseStatus.OPEN, CaseStatus.REOPENED):
        raise CaseTransitionNotAllowed(case=locked, to_status=CaseStatus.RECTIFYING)
    return case_set_status(case=locked, to_status=CaseStatus.RECTIFYING, actor=actor, note=note, now=now)


@transaction.atomic
def case_send_back(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """A supervisor finds the rectification insufficient: back to rectifying, new deadline."""
    now = now or timezone.now()
    locked = case_lock(case)
    if locked.status != CaseStatus.AWAITING_VERIFICATION:
        raise CaseTransitionNotAllowed(case=locked, to_status=CaseStatus.RECTIFYING)
    _cancel_pending_follow_up(case=locked, kind=FollowUp.Kind.VERIFICATION, actor=actor, now=now)
    return case_set_status(
        case=locked,
        to_status=CaseStatus.RECTIFYING,
        actor=actor,
        note=note,
        evidence={"sent_back_in": "admin"},
        changes={**_deadline_fields(locked, now=now), "reopen_count": locked.reopen_count + 1},
        now=now,
    )


@transaction.atomic
def case_reopen(
    *,
    case: Case,
    actor: User | None,
    note: str = "",
    relapse: bool = False,
    evidence: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Reopen a closed case with a new deadline (a relapse when a look-back found one)."""
    now = now or timezone.now()
    locked = case_lock(case)
    if CaseStatus.REOPENED not in ALLOWED_TRANSITIONS[locked.status]:
        raise CaseTransitionNotAllowed(case=locked, to_status=CaseStatus.REOPENED)
    if actor is not None:  # reopened by hand: the pending look-back visit has nothing left to check
        _cancel_pending_follow_up(case=locked, kind=FollowUp.Kind.LOOK_BACK, actor=actor, now=now)
    changes: dict[str, Any] = {
        **_deadline_fields(locked, now=now),
        "reopen_count": locked.reopen_count + 1,
        "closed_at": None,
    }
    if relapse:
        changes["is_relapse"] = True
    return case_set_status(
        case=locked,
        to_status=CaseStatus.REOPENED,
        actor=actor,
        note=note,
        evidence={**(evidence or {}), "relapse": relapse},
        changes=changes,
        now=now,
    )


# --- Escalation (督办) ----------------------------------------------------------------


def escalation_recipients(*, case: Case, level: int) -> list[User]:
    """Supervisors of the next level up: the prefecture at level 1, the province at 2."""
    code_length = {1: 4, 2: 2}.get(level, 2)
    target = case.village.code[:code_length]
    return list(
        User.objects.filter(
            is_active=True, groups__name=Role.SUPERVISOR, jurisdiction__code=target
        ).distinct()
    )


def _escalate_claimed(
    case_id: int, *, level: int, actor: User | None, note: str, now: dt.datetime
) -> list[int]:
    """Write the event and the notifications of an escalation this caller claimed."""
    locked = Case.objects.select_for_update().select_related("village", "category").get(pk=case_id)
    case_event_append(
        locked,
        kind=CaseEvent.Kind.ESCALATED,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence={"level": level, "deadline": locked.deadline.isoformat()},
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    notifications = [
        CaseNotification(
            recipient=recipient,
            case=locked,
            kind=CaseNotification.Kind.ESCALATED,
            level=level,
            created_at=now,
        )
        for recipient in escalation_recipients(case=locked, level=level)
    ]
    CaseNotification.objects.bulk_create(notifications, ignore_conflicts=True)
    ids = list(
        CaseNotification.objects.filter(
            case=locked, kind=CaseNotification.Kind.ESCALATED, level=level, emailed_at__isnull=True
        ).values_list("id", flat=True)
    )
    if ids:
        enqueue_on_commit("inspections.cases.send_notifications", ids)
    return ids


def _next_escalation_due(level: int, today: dt.date) -> dt.date | None:
    if level >= settings.QINGSHAN_ESCALATION_MAX_LEVEL:
        return None
    return add_working_days(today, settings.QINGSHAN_ESCALATION_STEP_WORKING_DAYS).date


def cases_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Raise the escalation level of every case due for it; returns how many rose.

    A case is due at its deadline (the day after it) and again a configurable
    number of working days after each escalation, up to the top level. Each
    case is claimed by a conditional UPDATE on its current level and due day:
    a second run, or a second worker, finds nothing left to claim.
    """
    now = now or timezone.now()
    today = local_date(now)
    due = list(
        Case.objects.filter(
            status__in=RECTIFICATION_DUE,
            escalation_due_on__lte=today,
            escalation_level__lt=settings.QINGSHAN_ESCALATION_MAX_LEVEL,
        )
        .order_by("id")
        .values_list("id", "escalation_level", "escalation_due_on")
    )
    raised = 0
    for case_id, level, due_on in due:
        with transaction.atomic():
            claimed = Case.objects.filter(
                pk=case_id, status__in=RECTIFICATION_DUE, escalation_level=level, escalation_due_on=due_on
            ).update(
                escalation_level=level + 1,
                escalated_at=now,
                escalation_due_on=_next_escalation_due(level + 1, today),
            )
            if not claimed:
                continue
            _escalate_claimed(case_id, level=level + 1, actor=None, note="overdue", now=now)
            raised += 1
    return raised


@transaction.atomic
def case_escalate(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """A supervisor escalates a case by hand (admin action): one level up, notified."""
    now = now or timezone.now()
    locked = case_lock(case)
    if locked.status not in RECTIFICATION_DUE:
        raise _conflict("case_not_escalable", _("Only a case awaiting rectification can be escalated."))
    if locked.escalation_level >= settings.QINGSHAN_ESCALATION_MAX_LEVEL:
        raise _conflict("case_escalation_at_top", _("This case is already at the top escalation level."))
    level = locked.escalation_level + 1
    Case.objects.filter(pk=locked.pk).update(
        escalation_level=level,
        escalated_at=now,
        escalation_due_on=_next_escalation_due(level, local_date(now)),
    )
    _escalate_claimed(locked.pk, level=level, actor=actor, note=note, now=now)
    return Case.objects.get(pk=locked.pk)


def case_notifications_email(*, ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Email each notification once: claimed by a conditional UPDATE before sending."""
    from inspections.cases.emails import escalation_email_send

    now = now or timezone.now()
    sent = 0
    for notification_id in ids:
        claimed = CaseNotification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
            emailed_at=now
        )
        if not claimed:
            continue
        notification = CaseNotification.objects.select_related(
            "recipient", "case__village", "case__category"
        ).get(pk=notification_id)
        escalation_email_send(notification=notification)
        sent += 1
    return sent


# --- Look-back draws (回头看) ----------------------------------------------------------


def cases_schedule_look_backs(
    *, period_start: dt.date, period_end: dt.date, now: dt.datetime | None = None, share: float | None = None
) -> FollowUpDraw | None:
    """Draw a share of the cases closed in ``[period_start, period_end]`` for a look-back visit.

    One draw per period (its label is unique), so running it again does
    nothing. The seed is stored: anyone can re-run the sample.
    """
    now = now or timezone.now()
    share = settings.QINGSHAN_LOOK_BACK_SHARE if share is None else share
    label = f"look_back:{period_start.isoformat()}:{period_end.isoformat()}"
    if FollowUpDraw.objects.filter(label=label).exists():
        return None
    start = dt.datetime.combine(period_start, dt.time.min, tzinfo=SHANGHAI)
    end = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    closed = list(
        Case.objects.filter(status=CaseStatus.CLOSED, closed_at__gte=start, closed_at__lt=end)
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


# --- Deadlines recounted once an administrator enters a year --------------------------


@transaction.atomic
def cases_recount_deadlines(*, year: int, actor: User | None, now: dt.datetime | None = None) -> int:
    """Recount the deadlines that fell back to weekends-only for ``year``.

    Each case keeps its working days and the day its deadline was counted
    from; one ``deadline`` event per case.
    """
    now = now or timezone.now()
    calendar = WorkingCalendar.load()
    changed = 0
    for case in Case.objects.filter(status__in=RECTIFICATION_DUE, deadline_warning__contains=str(year)):
        locked = case_lock(case)
        counted = add_working_days(locked.deadline_from, locked.deadline_working_days, calendar=calendar)
        old = locked.deadline
        locked.deadline = counted.date
        locked.deadline_warning = counted.warning
        if locked.escalation_level == 0:
            locked.escalation_due_on = counted.date + dt.timedelta(days=1)
        case_event_append(
            locked,
            kind=CaseEvent.Kind.DEADLINE,
            actor=actor,
            from_status=locked.status,
            note="",
            evidence={"from": old.isoformat(), "to": counted.date.isoformat(), "calendar_year": year},
            now=now,
        )
        locked.save(update_fields=["deadline", "deadline_warning", "escalation_due_on", *HEAD_FIELDS])
        changed += 1
    return changed


# --- Periodic jobs, defined in code ------------------------------------------------
