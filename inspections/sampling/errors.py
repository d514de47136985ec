"""The refusals of sampling plans: preview, commit, beacon, draw, reassignment, publication.

Each is a :class:`~inspections.common.errors.DomainError` declaring its stable
code and HTTP status once; the API answers it as an RFC 9457 document and the
admin shows its detail as a message. Codes never change (phones and scripts
branch on them):

=============================  ======  ===============================================
code                           status  when
=============================  ======  ===============================================
``window_in_past``             422     the visit window has already started (commit) or ended (draw)
``team_too_small``             422     a team size under 2
``no_candidates``              422     nothing left to draw from after the exclusions
``sample_exceeds_candidates``  422     a sample larger than the candidates
``minimum_exceeds_sample``     422     the minimum per stratum needs more than the sample
``unstaffable``                422     some drawn villages cannot be given a team (named)
``already_committed``          409     a second commit
``not_committed``              409     a beacon or draw before the commit
``beacon_already_entered``     409     a second beacon
``beacon_empty``               400     a beacon without a value
``already_drawn``              409     a second draw, or a beacon after the draw
``not_drawn``                  409     publication before the draw
``embargo_active``             409     publication while inspections are still open
``inspection_closed``          409     reassignment of a submitted or cancelled inspection
``reason_required``            400     reassignment without a written reason
``invalid_team``               422     a reassignment to a recused, inactive or wrong-sized team
``understaffed``               422     commit of a plan whose strata the roster cannot staff (named)
``draw_voided``                409     a beacon, draw or publication of a voided draw
``draw_can_be_drawn``          409     voiding a draw that can still be drawn (or already was)
``unknown_villages``           422     a targeted visit names no village, or ones not in the jurisdiction
=============================  ======  ===============================================

A reassignment by someone who does not organise the plan is the generic
:class:`~inspections.common.errors.NotFound` (404 ``not_found``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from inspections.common.errors import DomainError
from inspections.sampling.draw import StratumStaffing, UnstaffableVillage

# How many unstaffable villages the message names; ``extra`` lists them all.
UNSTAFFABLE_NAMED = 20


class SamplingError(DomainError):
    """Any refusal of a sampling plan (the admin and the preview catch this)."""


class WindowInPast(SamplingError):
    code = "window_in_past"
    status = 422
    default_detail = _("The visit window has already started: an unannounced visit must be in the future.")

    @classmethod
    def ended(cls) -> WindowInPast:
        """The draw, not the commit, comes too late: the window is over."""
        return cls(_("The visit window has already ended."))


class TeamTooSmall(SamplingError):
    code = "team_too_small"
    status = 422
    default_detail = _("A team needs at least two inspectors.")


class NoCandidates(SamplingError):
    code = "no_candidates"
    status = 422
    default_detail = _("No village is left to draw from after the exclusions.")


class SampleExceedsCandidates(SamplingError):
    code = "sample_exceeds_candidates"
    status = 422
    default_detail = _("The sample is larger than the candidates.")

    @classmethod
    def of(cls, *, size: int, total: int) -> SampleExceedsCandidates:
        return cls(
            _("The sample (%(size)d) is larger than the candidates (%(total)d).")
            % {"size": size, "total": total}
        )


class MinimumExceedsSample(SamplingError):
    code = "minimum_exceeds_sample"
    status = 422
    default_detail = _("The minimum per stratum needs more villages than the sample.")

    @classmethod
    def of(cls, *, needed: int, size: int) -> MinimumExceedsSample:
        return cls(
            _("The minimum per stratum needs %(needed)d villages but the sample is %(size)d.")
            % {"needed": needed, "size": size}
        )


# The draw's reasons (plain English on the public record, ``extra``) in the reader's language.
UNSTAFFABLE_REASONS = {
    "not enough inspectors without a conflict": _("not enough inspectors without a conflict"),
    "the inspectors without a conflict are at full capacity": _(
        "the inspectors without a conflict are at full capacity"
    ),
}


class Unstaffable(SamplingError):
    """Drawn villages that cannot be given a full team; ``extra["villages"]`` lists every one."""

    code = "unstaffable"
    status = 422
    default_detail = _("Some villages cannot be given a team, so nothing was drawn.")

    @classmethod
    def of(cls, villages: Sequence[UnstaffableVillage], *, names: Mapping[str, str]) -> Unstaffable:
        """The refusal naming the first villages (by ``names``, code → name) and listing all in ``extra``."""
        listed = "; ".join(
            f"{names.get(v.code, v.code)} ({v.code}): {UNSTAFFABLE_REASONS.get(v.reason, v.reason)}"
            for v in villages[:UNSTAFFABLE_NAMED]
        )
        if len(villages) > UNSTAFFABLE_NAMED:
            listed += " " + _("and %(n)d more") % {"n": len(villages) - UNSTAFFABLE_NAMED}
        return cls(
            _("These villages cannot be given a team, so nothing was drawn: %(villages)s")
            % {"villages": listed},
            extra={
                "villages": [
                    {
                        "code": v.code,
                        "name": names.get(v.code, ""),
                        "eligible": v.eligible,
                        "reason": v.reason,
                    }
                    for v in villages
                ]
            },
        )


class AlreadyCommitted(SamplingError):
    code = "already_committed"
    status = 409
    default_detail = _("This plan is already committed.")


class NotCommitted(SamplingError):
    code = "not_committed"
    status = 409
    default_detail = _("Commit the plan first: its candidates are not frozen yet.")


class BeaconAlreadyEntered(SamplingError):
    code = "beacon_already_entered"
    status = 409
    default_detail = _("The beacon has already been entered.")


class BeaconEmpty(SamplingError):
    code = "beacon_empty"
    status = 400
    default_detail = _("The beacon value is empty.")


class AlreadyDrawn(SamplingError):
    code = "already_drawn"
    status = 409
    default_detail = _("The draw has already run.")


class NotDrawn(SamplingError):
    code = "not_drawn"
    status = 409
    default_detail = _("The draw has not run yet.")


class EmbargoActive(SamplingError):
    code = "embargo_active"
    status = 409
    default_detail = _("Inspections of this draw are still open: publishing now would reveal them.")

    @classmethod
    def of(cls, *, still_open: int) -> EmbargoActive:
        return cls(
            _("%(n)d inspections of this draw are still open: publishing now would reveal them.")
            % {"n": still_open}
        )


class InspectionClosed(SamplingError):
    code = "inspection_closed"
    status = 409
    default_detail = _("The inspection is no longer open.")


class ReasonRequired(SamplingError):
    code = "reason_required"
    status = 400
    default_detail = _("A reassignment needs a written reason.")


class InvalidTeam(SamplingError):
    """A reassignment's team breaks a rule; the detail names every broken one."""

    code = "invalid_team"
    status = 422
    default_detail = _("This team cannot be given the visit.")

    @classmethod
    def of(cls, problems: Sequence[str | Promise]) -> InvalidTeam:
        return cls("; ".join(str(p) for p in problems))


class Understaffed(SamplingError):
    """The roster after recusal cannot staff some strata; ``extra["strata"]`` lists every one."""

    code = "understaffed"
    status = 422
    default_detail = _("The roster cannot staff this plan after recusal, so it was not committed.")

    @classmethod
    def of(
        cls,
        strata: Sequence[StratumStaffing],
        *,
        names: Mapping[str, str],
        total: tuple[int, int] | None = None,
    ) -> Understaffed:
        parts = [
            _(
                "%(name)s: %(slots)d team places for %(villages)d villages, %(inspectors)d inspectors "
                "without a conflict with %(capacity)d places (short by %(short)d)"
            )
            % {
                "name": names.get(s.stratum, s.stratum or "—"),
                "slots": s.slots,
                "villages": s.villages,
                "inspectors": s.inspectors,
                "capacity": s.capacity,
                "short": s.shortfall,
            }
            for s in strata[:UNSTAFFABLE_NAMED]
        ]
        if len(strata) > UNSTAFFABLE_NAMED:
            parts.append(_("and %(n)d more") % {"n": len(strata) - UNSTAFFABLE_NAMED})
        if total is not None:
            parts.append(
                _("in all %(slots)d team places but the roster has %(capacity)d")
                % {"slots": total[0], "capacity": total[1]}
            )
        return cls(
            _("The roster cannot staff this plan after recusal, so it was not committed: %(strata)s")
            % {"strata": "; ".join(str(p) for p in parts)},
            extra={
                "strata": [
                    {
                        "stratum": s.stratum,
                        "name": names.get(s.stratum, ""),
                        "villages": s.villages,
                        "slots": s.slots,
                        "inspectors": s.inspectors,
                        "capacity": s.capacity,
                        "shortfall": s.shortfall,
                    }
                    for s in strata
                ],
                "total": None if total is None else {"slots": total[0], "capacity": total[1]},
            },
        )


class DrawVoided(SamplingError):
    code = "draw_voided"
    status = 409
    default_detail = _("This draw was voided: make a new plan.")


class DrawCanBeDrawn(SamplingError):
    code = "draw_can_be_drawn"
    status = 409
    default_detail = _(
        "Only a committed draw that cannot be drawn (unstaffable, or its window has ended) can be voided."
    )


class UnknownVillages(SamplingError):
    code = "unknown_villages"
    status = 422
    default_detail = _("Name at least one active village of your jurisdiction.")

    @classmethod
    def of(cls, codes: Sequence[str]) -> UnknownVillages:
        if not codes:
            return cls()
        return cls(
            _("No active village of your jurisdiction has these codes: %(codes)s")
            % {"codes": ", ".join(codes[:UNSTAFFABLE_NAMED])},
            extra={"codes": list(codes)},
        )
