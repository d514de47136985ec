"""The old import path of the case services, kept for callers outside the cases area.

The services now live by step in :mod:`inspections.cases.services` (``status``,
``opening``, ``rectification``, ``follow_ups``, ``visits``, ``escalation``) and
in :mod:`inspections.cases.deadlines` and :mod:`inspections.cases.flags`.
Import from there; this module re-exports their public names and is deleted
once nothing imports it (the shared test builders, publication's admin, and
a few tests of other areas still do).
"""

from __future__ import annotations

from inspections.cases.deadlines import (
    cases_recount_deadlines,
    deadline_count,
    deadline_fields,
    deadline_working_days,
)
from inspections.cases.flags import after_photo_flags
from inspections.cases.services.escalation import (
    case_escalate,
    case_notifications_email,
    cases_escalate_overdue,
    escalation_recipients,
)
from inspections.cases.services.follow_ups import (
    cases_schedule_look_backs,
    eligible_follow_up_inspectors,
    follow_up_draw_rerun,
    follow_up_schedule,
    pending_follow_up,
)
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.cases.services.rectification import rectification_flags_refresh, rectification_submit
from inspections.cases.services.status import (
    case_reopen,
    case_send_back,
    case_set_status,
    case_start_rectifying,
    case_verify,
)
from inspections.cases.services.visits import follow_up_record_result
from inspections.common.china_time import local_date
from inspections.evidence.selectors import photo_facts

__all__ = [
    "after_photo_flags",
    "case_escalate",
    "case_notifications_email",
    "case_reopen",
    "case_send_back",
    "case_set_status",
    "case_start_rectifying",
    "case_verify",
    "cases_escalate_overdue",
    "cases_open_for_inspection",
    "cases_recount_deadlines",
    "cases_schedule_look_backs",
    "deadline_count",
    "deadline_fields",
    "deadline_working_days",
    "eligible_follow_up_inspectors",
    "escalation_recipients",
    "follow_up_draw_rerun",
    "follow_up_record_result",
    "follow_up_schedule",
    "local_date",
    "pending_follow_up",
    "photo_facts",
    "rectification_flags_refresh",
    "rectification_submit",
]
