"""Reads of field work. The embargo rule lives here.

Who sees an inspection:

* its organisers, always;
* its team, from the opening of the visit window (never before: 四不两直);
* accounts whose jurisdiction covers the village, once it is submitted;
* superusers, always.

No one else, and no one earlier: every API list, detail, count, filter, admin
page and email that shows inspections starts from :func:`inspection_list`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from inspections.accounts.models import User
from inspections.fieldwork.models import Inspection
from villages.models import Village

# The longest jurisdiction code (a prefecture's) whose inspections are listed by testing rows
# against its villages rather than by building the set of their ids (inspection_list).
WIDE_JURISDICTION = 4


def inspection_list(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The inspections ``user`` may see at ``now``."""
    if not user.is_authenticated or not user.is_active:
        return Inspection.objects.none()
    if user.is_superuser:
        return Inspection.objects.all()
    now = now or timezone.now()
    # Each way of seeing is its own set of ids, and the inspections are those in their union:
    # asked as one condition with OR, the jurisdiction's part could not use the village code's
    # index, and every list of a county read all two million inspections of the country.
    visible = Inspection.organisers.through.objects.filter(user_id=user.pk).values("inspection_id").order_by()
    if hasattr(user, "inspector_profile"):
        on_team = Inspection.objects.filter(team__user_id=user.pk, window_start__lte=now)
        visible = visible.union(on_team.values("pk").order_by())
    prefix = user.scope_prefix()
    if prefix is not None and len(prefix) <= WIDE_JURISDICTION:
        villages = Village.objects.within(prefix).values("pk")
        submitted_here = Q(status=Inspection.Status.SUBMITTED, village__in=villages)
        if not hasattr(user, "inspector_profile") and not visible.exists():
            # Most supervisors of a province or a prefecture organise no visit and are on no team:
            # theirs are the jurisdiction's submitted inspections alone, whose order has its own
            # index (a province's page: 0.46 s → 0.02 s; the country's upcoming visits are skipped).
            return Inspection.objects.filter(submitted_here)
        # A province's or a prefecture's submitted inspections are a large share of the
        # country's (180,000 in 山东省): building their set of ids for every page took a second
        # or more; testing each row against the jurisdiction's villages while the list's order
        # index is walked stops at the page's end (a province's page and its count: 2.2 s → 0.5 s).
        return Inspection.objects.filter(Q(pk__in=visible) | submitted_here)
    if prefix is not None:
        # A county's or a township's are few: their set comes from the village's index (a
        # county's page and its count: 67 ms, against 445 ms tested row by row).
        in_scope = Inspection.objects.filter(
            status=Inspection.Status.SUBMITTED, village__code__startswith=prefix
        )
        visible = visible.union(in_scope.values("pk").order_by())
    return Inspection.objects.filter(pk__in=visible)


def assignment_list(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The caller's open inspections as a team member: the phone's worklist.

    The inspections the caller may act on (:func:`inspection_actionable`: on
    the team, from the window's opening, never before, to its end plus the
    grace for late uploads) that are still open: scheduled or in progress.
    """
    return inspection_actionable(user=user, now=now).filter(
        status__in=[Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS]
    )


def inspection_actionable(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The inspections ``user`` may act on in the field at ``now``.

    Only a member of the team, and only from the opening of the visit window
    until its end plus ``QINGSHAN_FIELDWORK_GRACE`` (late uploads from a phone
    that was offline); never a cancelled inspection. Submitted inspections stay
    in the set so that a phone replaying its queue gets its answers, but they
    are read-only: the services refuse changes to them.
    """
    # Not asked first whether the user has an inspector profile (a query): the team's
    # membership below names their active profile, so without one nothing matches. A join,
    # not an EXISTS subquery: a user has one profile at most (one-to-one), so it gives each
    # inspection once, and Django builds it in half the time (0.37 against 0.66 ms a query).
    if not user.is_authenticated or not user.is_active:
        return Inspection.objects.none()
    now = now or timezone.now()
    return Inspection.objects.filter(
        team__user_id=user.pk,
        team__is_active=True,
        window_start__lte=now,
        window_end__gte=now - settings.QINGSHAN_FIELDWORK_GRACE,
    ).exclude(status=Inspection.Status.CANCELLED)


def pending_photos(*, named: Iterable[Sequence[str]], arrived: Collection[str]) -> list[str]:
    """The photo UUIDs the findings name (``named``: one list per finding) that have not ``arrived``.

    In the order first named, each once. Pure, so that a caller holding
    prefetched rows applies the same rule without a query.
    """
    pending: list[str] = []
    for uuids in named:
        for value in uuids:
            if value not in arrived and value not in pending:
                pending.append(value)
    return pending


def inspection_pending_photos(*, inspection: Inspection) -> list[str]:
    """UUIDs named by the inspection's findings whose photos have not arrived, in order (two queries)."""
    named = list(inspection.findings.values_list("photo_uuids", flat=True))
    wanted = {value for uuids in named for value in uuids}
    if not wanted:
        return []
    arrived = {
        str(u) for u in inspection.photos.filter(client_uuid__in=wanted).values_list("client_uuid", flat=True)
    }
    return pending_photos(named=named, arrived=arrived)
