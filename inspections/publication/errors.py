"""The refusals of publication (一公开): results publications and typical cases.

Each is a :class:`~inspections.common.errors.DomainError` declaring its stable
code and HTTP status once. Codes never change:

=================================  ======  ==========================================================
code                               status  when
=================================  ======  ==========================================================
``publication_empty``              400     a results publication without inspections
``publication_exists``             409     a second results publication for one draw
``publication_has_unsubmitted``    409     publishing results while one of their inspections is not submitted
``already_published``              409     publishing results, or a typical case, a second time
``typical_case_summary_missing``   409     publishing a typical case without its public title and summary
``inspection_not_submitted``       409     publishing a typical case whose inspection is not submitted
=================================  ======  ==========================================================

A typical case naming a photo that is not one of its case's photos, or one its
publisher may not see, is ``typical_case_photo_not_allowed`` (422).

Publishing the results of a draw also refuses with sampling's codes
(:mod:`inspections.sampling.errors`): ``not_drawn`` before the draw,
``embargo_active`` while one of its visits is still open.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from inspections.common.errors import DomainError


class PublicationError(DomainError):
    """Any refusal of publication."""


class PublicationEmpty(PublicationError):
    code = "publication_empty"
    status = 400
    default_detail = _("Choose the inspections to publish.")


class PublicationExists(PublicationError):
    code = "publication_exists"
    status = 409
    default_detail = _("This draw already has a results publication.")


class PublicationHasUnsubmitted(PublicationError):
    code = "publication_has_unsubmitted"
    status = 409
    default_detail = _("Every inspection must be submitted before its results are published.")


class AlreadyPublished(PublicationError):
    code = "already_published"
    status = 409
    default_detail = _("These results are already published.")

    @classmethod
    def typical_case(cls) -> AlreadyPublished:
        """The same refusal for a typical case."""
        return cls(_("This case is already published."))


class TypicalCaseSummaryMissing(PublicationError):
    code = "typical_case_summary_missing"
    status = 409
    default_detail = _("Write the public title and summary before publishing.")


class InspectionNotSubmitted(PublicationError):
    code = "inspection_not_submitted"
    status = 409
    default_detail = _("The inspection is not submitted.")


class TypicalCasePhotoNotAllowed(PublicationError):
    """A typical case names photos that are not its case's photos, or not the publisher's to see.

    One refusal for both, and for a UUID no photo has: whether a photo exists
    somewhere else is not the publisher's to learn.
    """

    code = "typical_case_photo_not_allowed"
    status = 422
    default_detail = _("A typical case may show only photos of its case that you may see.")

    @classmethod
    def of(cls, photos: list[str]) -> TypicalCasePhotoNotAllowed:
        return cls(
            _("A typical case may show only photos of its case that you may see: %(photos)s.")
            % {"photos": ", ".join(photos)},
            extra={"photos": photos},
        )
