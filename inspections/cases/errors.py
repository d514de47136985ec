"""The refusals of the cases area, each declaring its stable code and status once.

The API answers them as RFC 9457 problem documents, the admin as messages in
the reader's language. The generic refusals come from
:mod:`inspections.common.errors`: ``permission_denied`` (403, someone the
transitions table does not list) and ``uuid_conflict`` (409, a client UUID
replayed with different content).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from inspections.cases.models import CaseStatus
from inspections.common.errors import DomainError


class CaseTransitionNotAllowed(DomainError):
    """The case's status does not allow this move; ``from_status``/``to_status`` say which."""

    code = "case_transition_not_allowed"
    status = 409
    default_detail = _("The case cannot make this change from its current status.")

    def __init__(self, *, from_status: str, to_status: str) -> None:
        super().__init__(
            _("A case that is %(from)s cannot become %(to)s.")
            % {"from": CaseStatus(from_status).label, "to": CaseStatus(to_status).label},
            extra={"from_status": from_status, "to_status": to_status},
        )


class InspectionNotSubmitted(DomainError):
    code = "inspection_not_submitted"
    status = 409
    default_detail = _("Cases open only from a submitted inspection.")


class NoPendingVisit(DomainError):
    code = "no_pending_visit"
    status = 409
    default_detail = _("This case has no pending visit of that kind.")


class VerifierIsRectifier(DomainError):
    code = "verifier_is_rectifier"
    status = 409
    default_detail = _("The rectifier cannot verify their own rectification.")


class CaseNotEscalable(DomainError):
    code = "case_not_escalable"
    status = 409
    default_detail = _("Only a case awaiting rectification can be escalated.")


class CaseEscalationAtTop(DomainError):
    code = "case_escalation_at_top"
    status = 409
    default_detail = _("This case is already at the top escalation level.")


class PhotoNotOfCase(DomainError):
    """A rectification names a photo uploaded for something else (``photos`` lists them)."""

    code = "photo_not_of_case"
    status = 422
    default_detail = _("A rectification may name only photos uploaded for its case.")

    @classmethod
    def of(cls, photos: list[str]) -> PhotoNotOfCase:
        return cls(
            _("A rectification may name only photos uploaded for its case: %(photos)s.")
            % {"photos": ", ".join(photos)},
            extra={"photos": photos},
        )


class ReviewReasonRequired(DomainError):
    code = "review_reason_required"
    status = 422
    default_detail = _("Voiding a problem needs a written reason.")


class MergeTargetInvalid(DomainError):
    """A duplicate merges only into another live problem of the same village."""

    code = "merge_target_invalid"
    status = 422
    default_detail = _(
        "A problem merges only into another problem of the same village that is not voided or merged."
    )


class DeskReviewNoteRequired(DomainError):
    """A 销号 without a visit is a desk review: it needs its written record and a rectification."""

    code = "desk_review_note_required"
    status = 422
    default_detail = _("A desk review needs a written record of the rectification evidence it checked.")


class VerificationTeamTooSmall(DomainError):
    """销号 after a visit needs a passed verification by at least ``QINGSHAN_CLOSURE_MIN_INSPECTORS``."""

    code = "verification_team_too_small"
    status = 409
    default_detail = _("The verification visit was not passed by enough inspectors for 销号.")


class ExtensionNotLater(DomainError):
    code = "extension_not_later"
    status = 422
    default_detail = _("An extension must propose a date later than the current deadline.")


class ExtensionPending(DomainError):
    code = "extension_pending"
    status = 409
    default_detail = _("This problem already has an extension request awaiting a decision.")


class ExtensionNotPending(DomainError):
    code = "extension_not_pending"
    status = 409
    default_detail = _("This extension request has already been decided.")


class ExtensionNotAllowed(DomainError):
    code = "extension_not_allowed"
    status = 409
    default_detail = _("An extension can be asked only while the rectification is owed.")


class LadderOutsideJurisdiction(DomainError):
    """A 约谈 or 问责 names a unit or a problem outside the jurisdiction that enters it."""

    code = "ladder_outside_jurisdiction"
    status = 422
    default_detail = _("The unit and the problems must lie within the jurisdiction that enters this.")


class SummonsReportAlreadyReceived(DomainError):
    code = "summons_report_already_received"
    status = 409
    default_detail = _("The follow-up report of this summons was already recorded.")


class ReferralAlreadyDecided(DomainError):
    code = "referral_already_decided"
    status = 409
    default_detail = _("The outcome of this referral was already recorded.")


class CaseNotHandedOver(DomainError):
    """签收, a 交办单 or a 问题清单 change of a problem still under review (or voided, merged)."""

    code = "case_not_handed_over"
    status = 409
    default_detail = _("This problem has not been handed over (交办).")


class CaseNotReceived(DomainError):
    code = "case_not_received"
    status = 409
    default_detail = _("The responsible party acknowledges receipt (签收) before submitting its measures.")


class MeasuresNotAllowed(DomainError):
    code = "measures_not_allowed"
    status = 409
    default_detail = _("Rectification measures can be submitted only while the rectification is owed.")


class DeadlineReasonRequired(DomainError):
    code = "deadline_reason_required"
    status = 422
    default_detail = _("Changing the time limit (整改时限) needs a written reason.")


class DeadlineChangeNotAllowed(DomainError):
    code = "deadline_change_not_allowed"
    status = 409
    default_detail = _("The time limit or the stages change only while the rectification is owed.")


class DeadlineInvalid(DomainError):
    code = "deadline_invalid"
    status = 422
    default_detail = _("The new time limit must be another day, not before today, and not before a stage.")


class StageAfterDeadline(DomainError):
    code = "stage_after_deadline"
    status = 422
    default_detail = _("A stage falls due by the problem's time limit: move the time limit first.")


class StageNotAllowed(DomainError):
    code = "stage_not_allowed"
    status = 409
    default_detail = _("A stage can be reported done only while the rectification is owed.")


class ResponsibleUnitInvalid(DomainError):
    """The 责任单位 is one division over the problem's village, or that village: one of the two."""

    code = "responsible_unit_invalid"
    status = 422
    default_detail = _(
        "The responsible unit is a division over the problem's village, or the village itself: "
        "one of the two."
    )


class ResponsibleAccountInvalid(DomainError):
    code = "responsible_account_invalid"
    status = 422
    default_detail = _("The responsible person's account must be a responsible party covering the village.")
