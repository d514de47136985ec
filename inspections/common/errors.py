"""Domain errors: refusals with a stable code, raised by services, shown by each surface.

Each refusal is a :class:`DomainError` subclass that declares its ``code`` and
HTTP ``status`` once, like Django REST framework's ``APIException``
subclasses declare ``default_code`` and ``status_code``. Domain code raises
them and never imports the API: ``inspections.api.problems`` turns them into
RFC 9457 documents, and the admin shows their ``detail`` as a message in the
reader's language. Codes are stable (phones branch on them): never rename one.
Each concern lists its own in its ``errors.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal of the domain. Subclasses set ``code``, ``status`` and ``default_detail``.

    ``detail`` (a translatable message) replaces the default for this
    occurrence; ``extra`` adds machine-readable members to the problem
    document (for instance the statuses of a refused transition).
    """

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 409
    default_detail: ClassVar[str | Promise] = _("The request was refused.")
    title: ClassVar[str | Promise | None] = None
    # Seconds after which the same request may succeed (a dependency that is down):
    # answered as ``Retry-After`` and ``retry_after``.
    retry_after: ClassVar[int | None] = None

    def __init__(self, detail: str | Promise | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = str(detail if detail is not None else self.default_detail)
        self.extra = dict(extra or {})
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


class NotFound(DomainError):
    """The object does not exist for this caller: answered exactly as if it did not exist at all."""

    code = "not_found"
    status = 404
    default_detail = _("No such resource.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_detail = _("You do not have permission to perform this action.")


class InvalidInput(DomainError):
    """A value the serializers could not judge alone (it needs the database): a 400."""

    code = "validation_error"
    status = 400
    default_detail = _("The request has invalid fields.")


class UuidConflict(DomainError):
    """A client UUID already names different content (see :mod:`inspections.common.idempotency`)."""

    code = "uuid_conflict"
    status = 409
    default_detail = _("This UUID was already used for different content.")


class DatabaseUnavailable(DomainError):
    """The database cannot be reached, or did not confirm a commit: nothing is known to be lost.

    The answer to an ambiguous commit too: the phone sends the same request again
    (its client UUID makes the replay safe) and learns what was kept.
    """

    code = "database_unavailable"
    status = 503
    retry_after = 30
    default_detail = _("The database is unavailable; send the same request again later.")
