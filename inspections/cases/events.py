"""The case history: the only writer of the hash-chained :class:`CaseEvent` rows.

Every change to a case (status, escalation, deadline, publication) appends
exactly one event through :func:`case_event_append`, on a row locked with
:func:`case_lock`, and saves the case's chain head (``HEAD_FIELDS``) with it.
Other concerns (publication) write their events here too, never by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from inspections.accounts.models import User
from inspections.cases.models import (
    Case,
    CaseEvent,
)
from inspections.common.ledger import ledger_current_key_id


def case_lock(case: Case) -> Case:
    """The case row, locked for this transaction: events append in order."""
    return Case.objects.select_for_update().select_related("category", "village").get(pk=case.pk)


def case_event_append(
    case: Case,
    *,
    kind: str,
    actor: User | None,
    from_status: str,
    note: str = "",
    evidence: dict[str, Any] | None = None,
    now: dt.datetime,
) -> CaseEvent:
    """Append one event to a locked case and move the case's chain head.

    The caller saves the case with ``event_count`` and ``last_event_hash``
    among its ``update_fields``.
    """
    event = CaseEvent(
        case=case,
        seq=case.event_count + 1,
        kind=kind,
        actor=actor,
        created_at=now,
        from_status=from_status,
        to_status=case.status,
        escalation_level=case.escalation_level,
        note=note,
        evidence=evidence or {},
        prev_hash=case.last_event_hash,
        key_id=ledger_current_key_id(),
    )
    signed = event.compute_hash()
    assert signed is not None  # the current key is always configured
    event.hash = signed
    event.save()
    case.event_count = event.seq
    case.last_event_hash = event.hash
    return event


HEAD_FIELDS = ["event_count", "last_event_hash"]
