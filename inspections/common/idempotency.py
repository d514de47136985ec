"""Create-once for resources made in the field, keyed by the phone's UUID.

The phone may send the same create many times (retries, a replayed offline
queue). The unique constraint on ``client_uuid`` is what guarantees a single
row; the read before the insert is only a fast path. A lost race surfaces as an
``IntegrityError`` inside a savepoint, after which the winner's row is read and
compared like any replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from inspections.common.errors import UuidConflict

M = TypeVar("M", bound=models.Model)


def uuid_conflict(client_uuid: UUID) -> UuidConflict:
    """The refusal of a client UUID that already names different content (409 ``uuid_conflict``)."""
    return UuidConflict(
        _("A different resource was already created with the client UUID %(uuid)s.") % {"uuid": client_uuid}
    )


def create_once(
    model: type[M],
    *,
    client_uuid: UUID,
    same: Callable[[M], bool],
    create: Callable[[], M],
    before_insert: Callable[[], Any] | None = None,
    field: str = "client_uuid",
    read_first: bool = True,
) -> tuple[M, bool]:
    """The row with ``client_uuid``: the existing one if ``same`` says it matches, else created.

    ``before_insert`` runs inside the transaction right before a new row is
    inserted (to lock a parent and refuse, say, changes to a submitted
    inspection); a replay of an existing row never reaches it. Returns the row
    and whether it was created; raises a 409 ``uuid_conflict`` when the UUID is
    taken by different content. ``field`` names the unique UUID field when it
    is not ``client_uuid`` (a visit's result is keyed by ``result_uuid``).
    ``read_first=False`` leaves out the fast path's read when the caller has just
    looked for the row itself and found none (the race is caught all the same).
    """
    manager = model._default_manager
    existing = manager.filter(**{field: client_uuid}).first() if read_first else None
    if existing is None:
        try:
            with transaction.atomic():
                if before_insert is not None:
                    before_insert()
                return create(), True
        except IntegrityError:
            existing = manager.filter(**{field: client_uuid}).first()
            if existing is None:
                raise
    if not same(existing):
        raise uuid_conflict(client_uuid)
    return existing, False
