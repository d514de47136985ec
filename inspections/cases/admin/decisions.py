"""The decisions a problem's page offers as buttons (those its status allows the reader) and
taking one: each calls the service the list action calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.admin.evidence import ProblemEvidence
from inspections.cases.errors import ExtensionNotPending, MergeTargetInvalid
from inspections.cases.models import (
    Case,
    CaseAction,
    ExtensionRequest,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.escalation import case_escalate, case_escalate_check
from inspections.cases.services.extensions import extension_decide, extension_decide_check
from inspections.cases.services.review import case_confirm, case_merge, case_void
from inspections.cases.services.status import (
    case_actions_allowed,
    case_close,
    case_reopen,
    case_send_back,
    case_start_rectifying,
    case_verify,
)
from inspections.common.errors import DomainError
from inspections.evidence import services as evidence_services
from inspections.evidence.models import Photo


@dataclass(frozen=True)
class Decision:
    """One button of the problem page: what it is called, and what it asks for."""

    name: str
    label: Any
    note_required: bool = False
    takes_note: bool = True
    help: Any = ""


# In the order the page shows them; each is offered only when the problem's status and the
# reader allow it (``decisions_offered``), and calls the service its list action calls.
DECISIONS = {
    decision.name: decision
    for decision in [
        Decision(CaseAction.CONFIRM, _("Confirm and hand over (交办)")),
        Decision(CaseAction.START_RECTIFYING, _("Mark as rectifying")),
        Decision(
            CaseAction.VERIFY,
            _("Close (销号) by desk review (record what was checked)"),
            note_required=True,
            help=_("Record what was checked against the after-photos; the note goes into the history."),
        ),
        Decision(CaseAction.CLOSE, _("Sign off the 销号 of a passed verification")),
        Decision(CaseAction.SEND_BACK, _("Send back to rectifying (new deadline)")),
        Decision(CaseAction.REOPEN, _("Reopen")),
        Decision("escalate", _("Escalate (督办)")),
        Decision("extension_approve", _("Approve the extension (the deadline moves)")),
        Decision("extension_reject", _("Reject the extension")),
        Decision(
            CaseAction.MERGE,
            _("Merge as duplicates into the problem given"),
            help=_("A duplicate of another live problem of the same village."),
        ),
        Decision(CaseAction.VOID, _("Void (give the reason)"), note_required=True),
        Decision("flags_reviewed", _("Mark the photos' evidence flags reviewed"), takes_note=False),
    ]
}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(name, name) for name in DECISIONS])
    note = forms.CharField(required=False, max_length=2000)
    merge_into = forms.IntegerField(required=False, min_value=1)


def _pending_extension(case: Case) -> ExtensionRequest | None:
    return (
        ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING)
        .order_by("-created_at", "-id")
        .first()
    )


def decisions_offered(case: Case, reader: User, evidence: ProblemEvidence) -> list[Decision]:
    """The page's buttons for ``reader``: exactly what the services would let them do now.

    The status moves come from the transitions table through the services' own
    guard (``case_actions_allowed``); escalation and an extension from their
    services' checks; the flags review when a photo shown has flags awaiting it.
    """
    offered: set[str] = set(case_actions_allowed(case=case, actor=reader))
    try:
        case_escalate_check(case=case, actor=reader)
    except DomainError:
        pass
    else:
        offered.add("escalate")
    pending = _pending_extension(case)
    if pending is not None:
        try:
            extension_decide_check(request=pending, case=case, actor=reader)
        except DomainError:
            pass
        else:
            offered |= {"extension_approve", "extension_reject"}
    if evidence.awaiting_review():
        offered.add("flags_reviewed")
    decisions = []
    for name, decision in DECISIONS.items():
        if name not in offered:
            continue
        if pending is not None and name.startswith("extension_"):
            decision = Decision(
                decision.name,
                decision.label,
                help=gettext("Asked for %(date)s: %(reason)s")
                % {"date": pending.proposed_deadline, "reason": pending.reason},
            )
        decisions.append(decision)
    return decisions


def decision_take(case: Case, reader: User, name: str, *, note: str, merge_into: int | None) -> None:
    """Take decision ``name`` on ``case`` through the service its list action calls; refusals raise."""
    if name == CaseAction.CONFIRM:
        case_confirm(case=case, actor=reader, note=note)
    elif name == CaseAction.START_RECTIFYING:
        case_start_rectifying(case=case, actor=reader, note=note)
    elif name == CaseAction.VERIFY:
        case_verify(case=case, actor=reader, note=note)
    elif name == CaseAction.CLOSE:
        case_close(case=case, actor=reader, note=note)
    elif name == CaseAction.SEND_BACK:
        case_send_back(case=case, actor=reader, note=note)
    elif name == CaseAction.REOPEN:
        case_reopen(case=case, actor=reader, note=note)
    elif name == "escalate":
        case_escalate(case=case, actor=reader, note=note)
    elif name in ("extension_approve", "extension_reject"):
        pending = _pending_extension(case)
        if pending is None:
            raise ExtensionNotPending()
        extension_decide(request=pending, actor=reader, approve=name == "extension_approve", note=note)
    elif name == CaseAction.MERGE:
        target = case_list(user=reader).filter(pk=merge_into).first() if merge_into else None
        if target is None:
            raise MergeTargetInvalid()
        case_merge(case=case, into=target, actor=reader, note=note)
    elif name == CaseAction.VOID:
        case_void(case=case, actor=reader, note=note)
    elif name == "flags_reviewed":
        evidence = ProblemEvidence(case, reader)
        evidence_services.photo_flags_mark_reviewed(
            photos=Photo.objects.filter(pk__in=evidence.awaiting_review()), actor=reader
        )
