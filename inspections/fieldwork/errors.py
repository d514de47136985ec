"""Refusals of field work, each with its stable code (phones branch on them: never rename one)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from inspections.common.errors import DomainError


class InspectionSubmitted(DomainError):
    """The inspection is submitted: read-only, and a second submission must repeat the first."""

    code = "inspection_submitted"
    status = 409
    default_detail = _("This inspection has been submitted and is read-only.")


class InspectionCancelled(DomainError):
    code = "inspection_cancelled"
    status = 409
    default_detail = _("This inspection has been cancelled.")


class PhotosPending(DomainError):
    """Submission waits for the photos the findings name; they are listed in ``pending_photos``."""

    code = "photos_pending"
    status = 409
    default_detail = _("Photos named by findings have not arrived yet.")

    def __init__(self, pending: Sequence[str]) -> None:
        super().__init__(
            _("%(count)d photo(s) named by findings have not arrived yet.") % {"count": len(pending)},
            extra={"pending_photos": list(pending)},
        )


class CheckInNotAccurate(DomainError):
    """Only a precise fix may become a village's confirmed location."""

    code = "check_in_not_accurate"
    status = 409
    default_detail = _("This check-in is not accurate enough to confirm the village's location.")

    def __init__(self, limit: float) -> None:
        super().__init__(
            _("Only a check-in accurate to %(limit)s m or better can confirm a village's location.")
            % {"limit": limit}
        )


class PhotoArrived(DomainError):
    """Only a photo that has not arrived may be dropped from a finding: an arrived one is evidence."""

    code = "photo_arrived"
    status = 409
    default_detail = _("This photo has arrived; only a missing photo can be dropped from a finding.")
