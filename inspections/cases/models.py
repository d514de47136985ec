"""Cases to closure: 问题清单 → 限期整改 → 核查销号 → 回头看 → 督办 → 通报.

Every finding of a submitted inspection opens a :class:`Case`. Its status moves
only along :data:`TRANSITIONS` (from → to → which action, taken by whom),
applied by one service (``inspections.cases.services.status.case_set_status``),
and every change to a case
appends exactly one :class:`CaseEvent`. Events are append-only and chained by
hash (each event's hash covers its content and the previous event's hash; the
case keeps the head), so ``manage.py verify_case_history`` detects an altered,
deleted or reordered event.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector, User
from inspections.checklist.models import ProblemCategory, Severity
from inspections.common.ledger import LEGACY_KEY_ID, ledger_hash
from inspections.fieldwork.models import Finding, Inspection
from villages.models import Division, Village


class CaseStatus(models.TextChoices):
    AWAITING_REVIEW = "awaiting_review", _("awaiting review")
    OPEN = "open", _("open")
    RECTIFYING = "rectifying", _("rectifying")
    AWAITING_VERIFICATION = "awaiting_verification", _("awaiting verification")
    VERIFIED = "verified", _("verified, awaiting 销号")
    CLOSED = "closed", _("closed (销号)")
    REOPENED = "reopened", _("reopened")
    VOIDED = "voided", _("voided")
    MERGED = "merged", _("merged into another")


class CaseAction(models.TextChoices):
    """What someone does to a case; each action moves it along one row of :data:`TRANSITIONS`."""

    CONFIRM = "confirm", _("confirm and hand over (交办)")
    MERGE = "merge", _("merge into a duplicate")
    VOID = "void", _("void")
    START_RECTIFYING = "start_rectifying", _("start rectifying")
    RECTIFY = "rectify", _("submit a rectification")
    VERIFY = "verify", _("verify and close")
    CLOSE = "close", _("close (销号) after a passed verification visit")
    SEND_BACK = "send_back", _("send back")
    REOPEN = "reopen", _("reopen")
    VERIFICATION_PASSED = "verification_passed", _("verification passed")
    VERIFICATION_FAILED = "verification_failed", _("verification failed")
    LOOK_BACK_FAILED = "look_back_failed", _("look-back found a relapse")


class CaseRole(models.TextChoices):
    """Who someone is to one case (read by :mod:`inspections.cases.policies`); a superuser is each."""

    RESPONSIBLE_PARTY = "responsible_party", _("the responsible party of the village")
    SUPERVISOR = "supervisor", _("a supervisor of the village")
    ASSIGNING_SUPERVISOR = "assigning_supervisor", _("a supervisor of the level that assigns the problem")
    DRAWN_INSPECTOR = "drawn_inspector", _("the inspector drawn for the pending visit")


_PARTY = frozenset({CaseRole.RESPONSIBLE_PARTY})
_PARTY_OR_SUPERVISOR = frozenset({CaseRole.RESPONSIBLE_PARTY, CaseRole.SUPERVISOR})
_SUPERVISOR = frozenset({CaseRole.SUPERVISOR})
_DRAWN = frozenset({CaseRole.DRAWN_INSPECTOR})
_ASSIGNING = frozenset({CaseRole.ASSIGNING_SUPERVISOR})

# The whole workflow: from each status, the statuses a case may move to, and for
# each move the actions that make it and who may take them. Anything else is
# refused: a move or action not listed with ``case_transition_not_allowed``
# (409), someone not listed with ``permission_denied`` (403).
# ``inspections.cases.services.status.case_set_status`` is the only door.
TRANSITIONS: dict[str, dict[str, dict[str, frozenset[str]]]] = {
    CaseStatus.AWAITING_REVIEW: {
        # the organising level reviews a finding: confirms it (交办), merges a duplicate, or voids it
        CaseStatus.OPEN: {CaseAction.CONFIRM: _ASSIGNING},
        CaseStatus.MERGED: {CaseAction.MERGE: _ASSIGNING},
        CaseStatus.VOIDED: {CaseAction.VOID: _ASSIGNING},
    },
    CaseStatus.OPEN: {
        # the responsible party acknowledges (or a supervisor marks it), or rectifies at once
        CaseStatus.RECTIFYING: {CaseAction.START_RECTIFYING: _PARTY_OR_SUPERVISOR},
        CaseStatus.AWAITING_VERIFICATION: {CaseAction.RECTIFY: _PARTY},
    },
    CaseStatus.RECTIFYING: {
        CaseStatus.AWAITING_VERIFICATION: {CaseAction.RECTIFY: _PARTY},
    },
    CaseStatus.AWAITING_VERIFICATION: {
        # verification passes (销号: a desk review by the assigning level, 谁交办、谁销号) ...
        CaseStatus.CLOSED: {CaseAction.VERIFY: _ASSIGNING},
        # ... or the visit passes it, and the assigning level signs the 销号 off
        CaseStatus.VERIFIED: {CaseAction.VERIFICATION_PASSED: _DRAWN},
        # ... or sends the case back with a new deadline; never the party's acknowledgement
        CaseStatus.RECTIFYING: {CaseAction.SEND_BACK: _SUPERVISOR, CaseAction.VERIFICATION_FAILED: _DRAWN},
    },
    CaseStatus.VERIFIED: {
        # (a visit by too few inspectors leaves the desk review)
        CaseStatus.CLOSED: {CaseAction.CLOSE: _ASSIGNING, CaseAction.VERIFY: _ASSIGNING},
        CaseStatus.RECTIFYING: {CaseAction.SEND_BACK: _SUPERVISOR},
    },
    CaseStatus.CLOSED: {
        # a supervisor reopens, or a look-back visit finds a relapse
        CaseStatus.REOPENED: {CaseAction.REOPEN: _SUPERVISOR, CaseAction.LOOK_BACK_FAILED: _DRAWN},
    },
    CaseStatus.REOPENED: {
        CaseStatus.RECTIFYING: {CaseAction.START_RECTIFYING: _PARTY_OR_SUPERVISOR},
        CaseStatus.AWAITING_VERIFICATION: {CaseAction.RECTIFY: _PARTY},
    },
    # voided and merged problems are final
    CaseStatus.VOIDED: {},
    CaseStatus.MERGED: {},
}

# From each status, the statuses a case may move to by any action (derived from the table).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(moves) for status, moves in TRANSITIONS.items()
}


def action_roles(action: str) -> frozenset[str]:
    """Everyone who may take ``action`` from some status: a caller outside it is refused first."""
    roles: set[str] = set()
    for moves in TRANSITIONS.values():
        for actions in moves.values():
            roles |= actions.get(action, frozenset())
    return frozenset(roles)


# Statuses in which the responsible party owes a rectification: the deadline runs.
RECTIFICATION_DUE = (CaseStatus.OPEN, CaseStatus.RECTIFYING, CaseStatus.REOPENED)

# What an escalation level means (督办): whose supervisors the problem was raised to.
ESCALATION_LEVEL_NAMES = {
    0: _("not escalated"),
    1: _("escalated to the prefecture (市级督办)"),
    2: _("escalated to the province (省级督办)"),
}


def escalation_level_name(level: int) -> str:
    """The name of an escalation level, as supervisors read it."""
    return str(ESCALATION_LEVEL_NAMES.get(level, level))


# Statuses of a finding not (or never) handed over: not a confirmed problem, not counted,
# not shown to the responsible party.
NOT_HANDED_OVER = (CaseStatus.AWAITING_REVIEW, CaseStatus.VOIDED, CaseStatus.MERGED)


def overdue_condition(today: dt.date) -> Q:
    """Cases past their deadline while the responsible party still owes a rectification."""
    return Q(status__in=RECTIFICATION_DUE, deadline__lt=today)


class CaseQuerySet(models.QuerySet["Case"]):
    def overdue(self, today: dt.date) -> CaseQuerySet:
        """The cases overdue on ``today`` (China's date): :func:`overdue_condition`."""
        return self.filter(overdue_condition(today))

    def not_overdue(self, today: dt.date) -> CaseQuerySet:
        """The other cases: rectified, closed, or still within their deadline."""
        return self.exclude(overdue_condition(today))


class Case(models.Model):
    """A problem to rectify, opened from one finding of a submitted inspection."""

    finding = models.OneToOneField(
        Finding, verbose_name=_("finding"), on_delete=models.PROTECT, related_name="case"
    )
    # Denormalised from the finding so that lists filter and scope without joins.
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.PROTECT, related_name="cases"
    )
    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        ProblemCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(
        _("status"), max_length=24, choices=CaseStatus.choices, default=CaseStatus.AWAITING_REVIEW
    )
    opened_at = models.DateTimeField(_("opened at"))
    deadline = models.DateField(_("rectification deadline"))
    deadline_from = models.DateField(_("deadline counted from"))
    deadline_working_days = models.PositiveSmallIntegerField(_("working days given"))
    deadline_warning = models.CharField(
        _("deadline warning"),
        max_length=300,
        blank=True,
        help_text=_("Set when the deadline was counted without a known holiday calendar."),
    )
    reopen_count = models.PositiveSmallIntegerField(_("times sent back or reopened"), default=0)
    is_relapse = models.BooleanField(_("relapse"), default=False)
    is_false_rectification = models.BooleanField(
        _("false rectification (虚假整改)"),
        default=False,
        help_text=_("A visit found the reported rectification was never really done; not a relapse."),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The 公示 of a 销号: its last day (China), when QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS is set.
    publicity_until = models.DateField(
        _("closure publicised until (公示)"),
        null=True,
        blank=True,
        help_text=_("The closure is final after this day unless an objection reopens the problem."),
    )
    organising_division = models.ForeignKey(
        Division,
        verbose_name=_("organising level"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The level that reviews, hands over (交办) and closes (销号) the problem; "
            "its supervisors or those above."
        ),
    )
    handed_over_at = models.DateTimeField(_("handed over at (交办)"), null=True, blank=True)
    handed_over_by = models.ForeignKey(
        User,
        verbose_name=_("handed over by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when handed over automatically on submission."),
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    review_note = models.TextField(_("review note"), blank=True)
    # The 问题清单: who rectifies (责任单位, 责任人), their plan (整改措施) and their receipt (签收).
    # The unit is the township (a division over the village) or the village itself: one of the two.
    responsible_division = models.ForeignKey(
        Division,
        verbose_name=_("responsible unit: division"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The township (or another division over the village) that rectifies."),
    )
    responsible_village = models.ForeignKey(
        Village,
        verbose_name=_("responsible unit: village"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Set instead of the division when the village itself rectifies."),
    )
    responsible_department = models.ForeignKey(
        "Department",
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    responsible_person_name = models.CharField(_("responsible person"), max_length=100, blank=True)
    responsible_person_post = models.CharField(_("responsible person's post"), max_length=100, blank=True)
    responsible_person = models.ForeignKey(
        User,
        verbose_name=_("responsible person's account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    measures = models.TextField(_("rectification measures (整改措施)"), blank=True)
    measures_submitted_at = models.DateTimeField(_("measures submitted at"), null=True, blank=True)
    received_at = models.DateTimeField(_("receipt acknowledged at (签收)"), null=True, blank=True)
    received_by = models.ForeignKey(
        User,
        verbose_name=_("receipt acknowledged by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_due_on = models.DateField(
        _("next escalation on"),
        null=True,
        blank=True,
        help_text=_("The day the escalation job raises the level if the case is still unrectified."),
    )
    # Head of the event chain: the last event's hash and the number of events.
    event_count = models.PositiveIntegerField(_("events"), default=0)
    last_event_hash = models.CharField(_("last event hash"), max_length=64, blank=True)
    # Facts the database keeps for the figures over many problems (the workbench's): whatever
    # is saved here, migration 0033's triggers write them on every insert and update of the
    # case, of its rectifications and of its village's code. Read them in queries only (an
    # instance just created still holds the defaults).
    village_code = models.CharField(_("village code"), max_length=12, editable=False, default="")
    first_rectified_on = models.DateField(
        _("first rectification on"),
        null=True,
        editable=False,
        help_text=_("The day in China its first rectification was submitted."),
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]
        indexes = [
            # The lists' order: a page of 500,000 problems is read from the index, not sorted.
            models.Index(fields=["-opened_at", "-id"], name="case_opened_order_idx"),
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["status", "escalation_due_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status=CaseStatus.CLOSED, closed_at__isnull=False) | ~Q(status=CaseStatus.CLOSED)
                ),
                name="case_closed_has_closed_at",
            ),
            models.CheckConstraint(
                condition=Q(responsible_division__isnull=True) | Q(responsible_village__isnull=True),
                name="case_one_responsible_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category} · {self.village}"

    def is_overdue(self, today: dt.date) -> bool:
        """:func:`overdue_condition` for one loaded case, without a query (lists show it per row).

        The same statuses and the same comparison; a test holds the two together.
        """
        return self.status in RECTIFICATION_DUE and self.deadline < today

    @property
    def responsible_unit(self) -> Division | Village:
        """The unit the problem is handed to: the division or village recorded, else the village."""
        return self.responsible_division or self.responsible_village or self.village

    def days_overdue(self, today: dt.date) -> int | None:
        """Calendar days past the deadline on ``today`` while a rectification is owed, else None."""
        return (today - self.deadline).days if self.is_overdue(today) else None


class CaseEvent(models.Model):
    """One change to a case. Append-only; hash-chained to the previous event."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("opened")
        STATUS = "status", _("status changed")
        ESCALATED = "escalated", _("escalated (督办)")
        LOOK_BACK_PASSED = "look_back_passed", _("look-back found no relapse")
        PUBLISHED = "published", _("published as a typical case")
        DEADLINE = "deadline", _("deadline recounted")
        MERGED_IN = "merged_in", _("a duplicate merged in")
        EXTENSION_REQUESTED = "extension_requested", _("extension requested (延期)")
        EXTENSION_DECIDED = "extension_decided", _("extension approved or rejected")
        # the 督办 ladder
        REMINDED = "reminded", _("reminded of the deadline (提醒)")
        SUPERVISED = "supervised", _("supervision notice issued (督办单)")
        BULLETINED = "bulletined", _("named in a bulletin (通报)")
        SUMMONED = "summoned", _("summons held (约谈)")
        SUMMONS_REPORTED = "summons_reported", _("summons follow-up report received")
        REFERRED = "referred", _("referred for accountability (问责)")
        REFERRAL_DECIDED = "referral_decided", _("accountability referral outcome")
        RESPONSIBILITY = "responsibility", _("responsible unit set (责任单位)")
        RECEIVED = "received", _("receipt acknowledged (签收)")
        MEASURES = "measures", _("rectification measures submitted (整改措施)")
        DEADLINE_CHANGED = "deadline_changed", _("time limit changed (整改时限)")
        STAGE_ADDED = "stage_added", _("stage added")
        STAGE_COMPLETED = "stage_completed", _("stage completed")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        User,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system acted (escalation job, look-back draw)."),
    )
    created_at = models.DateTimeField(_("time"))
    from_status = models.CharField(_("from"), max_length=24, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=24, choices=CaseStatus.choices)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    note = models.TextField(_("note"), blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, unique=True)
    key_id = models.PositiveSmallIntegerField(
        _("key"),
        default=LEGACY_KEY_ID,
        help_text=_("Which ledger key signed the hash; 0 for the unkeyed hash of a legacy event."),
    )

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.case_id}.{self.seq} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Case events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Case events are append-only.")

    def content(self) -> dict[str, Any]:
        """What the hash covers: everything but the id and the hash itself."""
        return {
            "case": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "actor": self.actor_id,
            "created_at": self.created_at.isoformat(),
            "from": self.from_status,
            "to": self.to_status,
            "escalation_level": self.escalation_level,
            "note": self.note,
            "evidence": self.evidence,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str | None:
        """HMAC-SHA256 of the content under the event's key (``None`` if that key is not configured).

        A keyed event's content includes its key id, so relabelling it as a
        legacy (unkeyed) event changes what is hashed.
        """
        return case_event_hash(self.content(), key_id=self.key_id)


def case_event_hash(content: dict[str, Any], *, key_id: int) -> str | None:
    """The hash of an event's content under key ``key_id`` (also used by the re-signing migration)."""
    if key_id != LEGACY_KEY_ID:
        content = {**content, "key_id": key_id}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return ledger_hash(canonical.encode(), key_id=key_id)


class ReviewPolicy(models.Model):
    """A supervisor's choice for their jurisdiction: hand problems over (交办) on submission, unreviewed."""

    division = models.OneToOneField(
        Division, verbose_name=_("division"), on_delete=models.CASCADE, related_name="+"
    )
    auto_hand_over = models.BooleanField(
        _("hand over automatically on submission"),
        default=False,
        help_text=_("Findings become confirmed problems at once instead of awaiting review."),
    )

    class Meta:
        verbose_name = _("review policy")
        verbose_name_plural = _("review policies")
        ordering = ["division__code"]

    def __str__(self) -> str:
        return str(self.division)


class ExtensionRequest(models.Model):
    """The responsible party asks for a later deadline (延期); the assigning level approves or rejects."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    client_uuid = models.UUIDField(_("client UUID"), unique=True)
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="extension_requests"
    )
    requested_by = models.ForeignKey(
        User, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    current_deadline = models.DateField(_("deadline when asked"))
    proposed_deadline = models.DateField(_("proposed deadline"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    created_at = models.DateTimeField(_("requested at"))

    class Meta:
        verbose_name = _("extension request (延期)")
        verbose_name_plural = _("extension requests (延期)")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="extension_one_pending_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.proposed_deadline}"


class DeadlineRule(models.Model):
    """An editable deadline for a category at a severity, overriding the category's default."""

    category = models.ForeignKey(
        ProblemCategory, verbose_name=_("category"), on_delete=models.CASCADE, related_name="deadline_rules"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    working_days = models.PositiveSmallIntegerField(_("working days"))

    class Meta:
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        ordering = ["category", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["category", "severity"], name="deadline_rule_unique"),
            models.CheckConstraint(condition=Q(working_days__gte=1), name="deadline_rule_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.get_severity_display()}: {self.working_days}"


class Rectification(models.Model):
    """What the responsible party reports having done, with after-photos."""

    client_uuid = models.UUIDField(_("client UUID"), unique=True, default=uuid.uuid4)
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="rectifications"
    )
    submitted_by = models.ForeignKey(
        User, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("description"))
    photo_uuids = models.JSONField(
        _("after-photo UUIDs"),
        default=list,
        blank=True,
        help_text=_("Client UUIDs of the after-photos; the evidence pipeline links them as they arrive."),
    )
    flags = models.JSONField(
        _("flags"),
        default=list,
        blank=True,
        help_text=_(
            "Evidence flags on the after-photos: far from the finding, near duplicate of a before-photo."
        ),
    )
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        ordering = ["case", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} · {self.created_at:%Y-%m-%d}"


class FollowUpDraw(models.Model):
    """The verifiable draw behind follow-ups: seed, candidates and what was drawn.

    Anyone with the seed re-runs ``weighted_sample(seed, label, candidates)``
    (``inspections.common.randomness``) and gets the same result.
    """

    class Kind(models.TextChoices):
        VERIFIER = "verifier", _("verification inspector")
        LOOK_BACK = "look_back", _("look-back sample")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=100, unique=True)
    seed = models.CharField(_("seed (hex)"), max_length=64)
    seed_sha256 = models.CharField(_("seed SHA-256"), max_length=64)
    candidates = models.JSONField(_("candidates"), help_text=_("Item keys drawn from, sorted."))
    candidates_sha256 = models.CharField(_("candidates SHA-256"), max_length=64)
    k = models.PositiveIntegerField(_("drawn"))
    drawn = models.JSONField(_("result"), help_text=_("Item keys drawn, in draw order."))
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("drawn at"))

    class Meta:
        verbose_name = _("follow-up draw")
        verbose_name_plural = _("follow-up draws")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class FollowUp(models.Model):
    """A verification (核查销号) or look-back (回头看) visit to a case's village.

    The visit itself is an :class:`Inspection` (mode verification or look-back),
    so the embargo rule applies to it like to any unannounced visit.
    """

    class Kind(models.TextChoices):
        VERIFICATION = "verification", _("verification")
        LOOK_BACK = "look_back", _("look-back")

    class Result(models.TextChoices):
        PENDING = "pending", _("pending")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    inspection = models.OneToOneField(
        Inspection, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="follow_up"
    )
    inspector = models.ForeignKey(
        Inspector, verbose_name=_("inspector"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    draw = models.ForeignKey(
        FollowUpDraw, verbose_name=_("draw"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    rectification = models.ForeignKey(
        Rectification,
        verbose_name=_("rectification verified"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, default=Result.PENDING)
    result_uuid = models.UUIDField(_("result client UUID"), unique=True, null=True, blank=True)
    result_note = models.TextField(_("result note"), blank=True)
    result_photo_uuids = models.JSONField(_("photo UUIDs"), default=list, blank=True)
    result_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("scheduled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(result="pending", result_at__isnull=True)
                    | (~Q(result="pending") & Q(result_at__isnull=False))
                ),
                name="follow_up_result_at_iff_result",
            ),
            # At most one open verification and one open look-back per case.
            models.UniqueConstraint(
                fields=["case", "kind"], condition=Q(result="pending"), name="follow_up_one_pending_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.case}"


class CaseNotification(models.Model):
    """A notice to one supervisor, shown in the admin and sent by email once.

    ``(recipient, case, kind, level)`` is unique, so an escalation notifies
    each supervisor at most once however often the job runs.
    """

    class Kind(models.TextChoices):
        ESCALATED = "escalated", _("case escalated")
        HANDED_OVER = "handed_over", _("problem handed over (交办)")

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="case_notifications"
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("escalation level"))
    created_at = models.DateTimeField(_("created at"))
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("case notification")
        verbose_name_plural = _("case notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "case", "kind", "level"], name="case_notification_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.case}"


class LedgerExport(models.Model):
    """A 问题台账 too long to build in the request: built by a worker, fetched by its requester."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being built")
        DONE = "done", _("ready")

    uuid = models.UUIDField(_("export key"), unique=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        User, verbose_name=_("requested by"), on_delete=models.CASCADE, related_name="+"
    )
    params = models.CharField(_("list filters"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("requested at"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("rows in all"), null=True, blank=True)
    written = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("stored file"), max_length=200, blank=True)
    download_name = models.CharField(_("file name"), max_length=100, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Touched by each progress step: a build silent for long is sent again (exports.py).
    touched_at = models.DateTimeField(_("last progress at"))

    class Meta:
        verbose_name = _("problem ledger export")
        verbose_name_plural = _("problem ledger exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} · {self.uuid}"


class LadderStep(models.Model):
    """A rung of the 督办 ladder one problem reached under one deadline: 提醒 or 督办单.

    ``(case, kind, deadline)`` is unique: each step is issued once per deadline
    however often the job runs. A later deadline (an approved extension, a
    recount) withdraws the 督办单 issued under the old one; the new deadline
    gets its own steps when they fall due.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("reminder (提醒)")
        SUPERVISION = "supervision", _("supervision notice (督办单)")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="ladder_steps"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    deadline = models.DateField(_("deadline it was issued under"))
    issued_at = models.DateTimeField(_("issued at"))
    reply_due = models.DateField(
        _("reply due"),
        null=True,
        blank=True,
        help_text=_("督办单: the responsible unit replies by this day."),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("why withdrawn"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("督办 ladder step")
        verbose_name_plural = _("督办 ladder steps")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "deadline"], name="ladder_step_once_per_deadline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.case}"


class Bulletin(models.Model):
    """The monthly 通报 of one jurisdiction: overdue, relapsed and falsely rectified problems by county.

    ``content`` is the snapshot taken when it was compiled (rows by county,
    with no person named), so the page and the PDF show what was bulletined
    whatever happened since. ``(division, month)`` is unique.
    """

    division = models.ForeignKey(
        Division, verbose_name=_("jurisdiction"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    compiled_at = models.DateTimeField(_("compiled at"))
    content = models.JSONField(_("content"), default=dict)
    is_public = models.BooleanField(
        _("shown on the public pages"),
        default=False,
        help_text=_("Only counts and the problems' village, category and dates are public; never a person."),
    )

    class Meta:
        verbose_name = _("bulletin (通报)")
        verbose_name_plural = _("bulletins (通报)")
        ordering = ["-month", "division__code"]
        constraints = [
            models.UniqueConstraint(fields=["division", "month"], name="bulletin_once_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.division} · {self.month:%Y-%m}"


class Summons(models.Model):
    """A 约谈: the jurisdiction's supervisors summon those responsible for a unit's problems.

    Internal only (it names people): never on a public page. The follow-up
    report is due ``QINGSHAN_SUMMONS_REPORT_DAYS`` days after the summons.
    """

    division = models.ForeignKey(
        Division,
        verbose_name=_("summoning jurisdiction"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The level whose supervisors hold the summons."),
    )
    summoned_division = models.ForeignKey(
        Division, verbose_name=_("unit summoned"), on_delete=models.PROTECT, related_name="+"
    )
    summoned_persons = models.TextField(_("who is summoned (names and posts)"))
    held_at = models.DateTimeField(_("held at"))
    attendees = models.TextField(_("attendees"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    cases = models.ManyToManyField(Case, verbose_name=_("problems"), related_name="summonses", blank=True)
    report_due = models.DateField(_("follow-up report due"))
    report_received_on = models.DateField(_("follow-up report received on"), null=True, blank=True)
    report_note = models.TextField(_("follow-up report"), blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("summons (约谈)")
        verbose_name_plural = _("summonses (约谈)")
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return f"{self.summoned_division} · {self.held_at:%Y-%m-%d}"


class Referral(models.Model):
    """A 问责 referral: the jurisdiction refers a unit's failures to those who hold officials to account."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCOUNTABLE = "accountable", _("held accountable")
        NO_ACTION = "no_action", _("no action taken")

    division = models.ForeignKey(
        Division, verbose_name=_("referring jurisdiction"), on_delete=models.PROTECT, related_name="+"
    )
    subject_division = models.ForeignKey(
        Division, verbose_name=_("unit concerned"), on_delete=models.PROTECT, related_name="+"
    )
    summons = models.ForeignKey(
        Summons,
        verbose_name=_("after the summons"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    cases = models.ManyToManyField(Case, verbose_name=_("problems"), related_name="referrals", blank=True)
    referred_to = models.CharField(_("referred to"), max_length=200)
    referred_on = models.DateField(_("referred on"))
    reason = models.TextField(_("why"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_on = models.DateField(_("outcome on"), null=True, blank=True)
    outcome_note = models.TextField(_("outcome details"), blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("accountability referral (问责)")
        verbose_name_plural = _("accountability referrals (问责)")
        ordering = ["-referred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="pending", outcome_on__isnull=True)
                | (~Q(outcome="pending") & Q(outcome_on__isnull=False)),
                name="referral_outcome_on_iff_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_division} → {self.referred_to}"


class Department(models.Model):
    """A department that may share a problem's responsibility (农业农村, 生态环境…): an editable list."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class CaseStage(models.Model):
    """One stage of a long-term problem (a pond waiting for a sewer network), with its own due date.

    Stages are set by the assigning level and never fall after the problem's
    deadline (the last stage is due by then); the responsible party reports
    each done. A stage past its due date and not done is overdue while the
    problem still owes its rectification: it is shown, the problem's own
    overdue state and escalation still follow the problem's deadline.
    """

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="stages")
    seq = models.PositiveSmallIntegerField(_("stage"))
    description = models.TextField(_("description"))
    due_date = models.DateField(_("due date"))
    created_by = models.ForeignKey(User, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("set at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        User,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completion_note = models.TextField(_("completion note"), blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["case", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_stage_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.seq}"

    def is_overdue(self, today: dt.date, *, case_status: str) -> bool:
        """Past its due date, not done, while the problem still owes its rectification."""
        return self.completed_at is None and case_status in RECTIFICATION_DUE and self.due_date < today
