"""Inspections and what inspectors record on them.

An inspection is embargoed until it is submitted: only its organisers see it
before, the team from the opening of its visit window, and the accounts whose
jurisdiction covers the village only once it is submitted. The rule lives in
``inspections.fieldwork.selectors``; everything that reads inspections goes through it.

An inspection's status moves only along :data:`INSPECTION_MOVES`, through
:meth:`Inspection.mark_started`, :meth:`Inspection.submit` and
:meth:`Inspection.close`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector, User
from inspections.checklist.models import ProblemCategory, Severity
from inspections.common.china_time import display, local_date
from inspections.fieldwork.errors import InspectionCancelled, InspectionSubmitted
from villages.models import VILLAGE_AREA_LENGTHS, Datum, Village


class Inspection(models.Model):
    class Mode(models.TextChoices):
        RANDOM = "random", _("double-random sampling (双随机抽查)")
        UNANNOUNCED = "unannounced", _("unannounced visit (暗访)")
        SPECIAL = "special", _("special campaign (专项)")
        LOOK_BACK = "look_back", _("look-back visit (回头看)")
        REPORT = "report", _("complaint verification (举报核查)")
        ROUTINE = "routine", _("routine (日常)")
        VERIFICATION = "verification", _("rectification verification (核查销号)")
        SUPERVISION_CHECK = (
            "supervision_check",
            _("check of a matter handed down by inspectors (督察交办核查)"),
        )

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        IN_PROGRESS = "in_progress", _("in progress")
        SUBMITTED = "submitted", _("submitted")
        CANCELLED = "cancelled", _("cancelled")

    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices)
    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="inspections"
    )
    team = models.ManyToManyField(Inspector, verbose_name=_("team"), related_name="inspections", blank=True)
    organisers = models.ManyToManyField(
        User,
        verbose_name=_("organisers"),
        related_name="organised_inspections",
        blank=True,
        help_text=_("Who planned this inspection: they see it before the visit."),
    )
    window_start = models.DateTimeField(_("visit window start"))
    window_end = models.DateTimeField(_("visit window end"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    summary = models.TextField(_("summary"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-window_start", "id"]
        indexes = [
            models.Index(fields=["status", "window_start"]),
            # The admin list's order: a page of two million is read off the index, not sorted.
            models.Index(fields=["-window_start", "id"], name="inspection_window_order_idx"),
            # The same order, submitted inspections only: a supervisor's list walks past none of
            # the country's upcoming visits (100,000 at the top of the order nationally), and
            # the village is read from the index itself (PostgreSQL; other databases ignore it).
            models.Index(
                fields=["-window_start", "id"],
                include=["village"],
                condition=Q(status="submitted"),
                name="inspection_submitted_order_idx",
            ),
            # Each village's submitted visits and when: a plan's candidates (the last visit of each
            # of a province's 60,000 villages) read the index alone (0.93 s → 0.22 s).
            models.Index(
                fields=["village", "submitted_at"],
                condition=Q(status="submitted"),
                name="inspection_visit_village_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="inspection_window_ordered"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="submitted", submitted_at__isnull=False)
                    | (~Q(status="submitted") & Q(submitted_at__isnull=True))
                ),
                name="inspection_submitted_at_iff_submitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} · {self.village} · {self.window_start:%Y-%m-%d}"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    def check_open(self) -> None:
        """Refuse (409) if the inspection takes no more changes: submitted or cancelled."""
        if self.status == self.Status.SUBMITTED:
            raise InspectionSubmitted
        if self.status == self.Status.CANCELLED:
            raise InspectionCancelled

    def mark_started(self, *, row_locked: bool = False) -> bool:
        """Scheduled → in progress, on the first record from the field; whether it moved.

        A conditional update, so that concurrent first records (a check-in and
        a photo) both leave the inspection in progress and never move it back.
        ``row_locked``: this instance was read locked for update in the current
        transaction, so its status is the row's and no UPDATE is sent when it
        cannot move (every record after the first).
        """
        if row_locked and self.status not in _moving_to(self.Status.IN_PROGRESS):
            return False
        moved = Inspection.objects.filter(pk=self.pk, status__in=_moving_to(self.Status.IN_PROGRESS)).update(
            status=self.Status.IN_PROGRESS
        )
        if moved:
            self.status = self.Status.IN_PROGRESS
        return bool(moved)

    def submit(self, *, summary: str, now: datetime) -> None:
        """The team's submission with its summary; call it on a row locked for update.

        Refused with ``inspection_submitted`` or ``inspection_cancelled`` when
        the inspection is closed already. The caller decides what a replay is.
        """
        if self.status not in _moving_to(self.Status.SUBMITTED):
            self.check_open()
        self.status = self.Status.SUBMITTED
        self.summary = summary
        self.submitted_at = now
        self.save(update_fields=["status", "summary", "submitted_at"])
        CoverageTally.objects.count_visit(self)

    def close(self, *, to_status: str, now: datetime) -> bool:
        """End a visit without a summary: submitted (a follow-up's result recorded) or cancelled.

        A conditional update: an inspection that is closed already stays as it
        is (its first submission time is kept). Returns whether it moved.
        """
        if to_status not in (self.Status.SUBMITTED, self.Status.CANCELLED):
            raise ValueError(f"An inspection is closed as submitted or cancelled, not {to_status!r}.")
        submitted_at = now if to_status == self.Status.SUBMITTED else None
        moved = Inspection.objects.filter(pk=self.pk, status__in=_moving_to(to_status)).update(
            status=to_status, submitted_at=submitted_at
        )
        if moved:
            self.status, self.submitted_at = to_status, submitted_at
            if to_status == self.Status.SUBMITTED:
                CoverageTally.objects.count_visit(self)
        return bool(moved)


# The whole life of an inspection: from each status, the statuses it may move to.
INSPECTION_MOVES: dict[str, frozenset[str]] = {
    Inspection.Status.SCHEDULED: frozenset(
        {Inspection.Status.IN_PROGRESS, Inspection.Status.SUBMITTED, Inspection.Status.CANCELLED}
    ),
    Inspection.Status.IN_PROGRESS: frozenset({Inspection.Status.SUBMITTED, Inspection.Status.CANCELLED}),
    Inspection.Status.SUBMITTED: frozenset(),
    Inspection.Status.CANCELLED: frozenset(),
}


def _moving_to(status: str) -> list[str]:
    """The statuses from which an inspection may move to ``status``."""
    return [source for source, targets in INSPECTION_MOVES.items() if status in targets]


class Finding(models.Model):
    """A problem seen on an inspection, recorded against the checklist."""

    client_uuid = models.UUIDField(_("client UUID"), unique=True, default=uuid.uuid4)
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.PROTECT, related_name="findings"
    )
    category = models.ForeignKey(
        ProblemCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("description"), blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    datum = models.CharField(_("datum"), max_length=5, choices=Datum.choices, blank=True)
    photo_uuids = models.JSONField(
        _("photo UUIDs"),
        default=list,
        blank=True,
        help_text=_("Client UUIDs of the photos that show this finding; they may arrive later."),
    )
    # Named at creation, then dropped by the team because they will never arrive (a photo
    # lost on the phone): no longer waited for, and a replay of the creation still matches.
    dropped_photo_uuids = models.JSONField(
        _("dropped photo UUIDs"),
        default=list,
        blank=True,
        help_text=_("Photos the finding named and the team dropped because they will not arrive."),
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["inspection", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(longitude__isnull=True, latitude__isnull=True, datum="")
                    | (Q(longitude__isnull=False, latitude__isnull=False) & ~Q(datum=""))
                ),
                name="finding_location_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} ({self.get_severity_display()})"


class LocationStatus(models.TextChoices):
    """Whether a distance to the village could be measured at all."""

    KNOWN = "known", _("village location known")
    UNKNOWN = "unknown", _("village location unknown")


class CheckIn(models.Model):
    """An inspector's arrival on site: the phone's fix and clock, and the server's.

    Positions are WGS-84 (phone GPS). The distance is measured after converting
    the village's point to WGS-84, and only against a confirmed or surveyed
    village location: a derived (approximate) point would raise false alarms,
    so it reports "location unknown" instead.
    """

    client_uuid = models.UUIDField(_("client UUID"), unique=True)
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.PROTECT, related_name="check_ins"
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    longitude = models.FloatField(_("longitude (WGS-84)"))
    latitude = models.FloatField(_("latitude (WGS-84)"))
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    # Two phone times: when the position was fixed (part of the check-in, perhaps long
    # before it could be sent) and the phone's clock when sending, compared with the
    # server's to measure the skew (it changes on every retry, so it is not content).
    fixed_at = models.DateTimeField(
        _("position fixed at (phone)"),
        null=True,
        blank=True,
        help_text=_("When the phone fixed the position; it may be long before the check-in was sent."),
    )
    device_time = models.DateTimeField(
        _("device clock when sent"),
        help_text=_("The phone's clock when it sent the check-in: compared with the server's."),
    )
    received_at = models.DateTimeField(_("server time"), default=timezone.now)
    location_status = models.CharField(_("village location"), max_length=10, choices=LocationStatus.choices)
    distance_m = models.FloatField(
        _("distance to village (m)"),
        null=True,
        blank=True,
        help_text=_("Empty when the village has no confirmed location."),
    )

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["inspection", "received_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180, latitude__gte=-90, latitude__lte=90),
                name="check_in_position_in_range",
            ),
            models.CheckConstraint(
                condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0), name="check_in_accuracy_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(location_status="known", distance_m__isnull=False)
                    | Q(location_status="unknown", distance_m__isnull=True)
                ),
                name="check_in_distance_iff_location_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id} · {display(self.received_at)}"

    @property
    def clock_skew_seconds(self) -> float:
        """How far the phone's clock was ahead of the server's (negative: behind)."""
        return (self.device_time - self.received_at).total_seconds()


# --- The year's coverage, counted as visits are submitted ---------------------------------

ANY_MODE = ""


class VisitedVillage(models.Model):
    """That an active village had a submitted visit in a calendar year (China) in a mode ("" any mode).

    One row per village, year and mode, written by the first such visit: what tells
    :meth:`CoverageTallyManager.count_visit` that a village is counted for the first time.
    """

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    mode = models.CharField(_("mode"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("visited village")
        verbose_name_plural = _("visited villages")
        constraints = [
            models.UniqueConstraint(fields=["village", "year", "mode"], name="visited_village_once"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.village_id} {self.mode or '*'}"


class CoverageTallyManager(models.Manager["CoverageTally"]):
    def count_visit(self, inspection: Inspection) -> None:
        """Count a visit just submitted in its areas' tallies (in the transaction that submits it).

        Its year is that of its submission in China. The inspection is counted in the areas'
        inspections; its village in their villages if it is active and this is its first
        visit of the year (in this mode, and in any mode). The tallies' rows are locked in
        one order (their keys), so two submissions in one county wait for each other and
        never deadlock.
        """
        assert inspection.submitted_at is not None
        year = local_date(inspection.submitted_at).year
        with transaction.atomic():  # a savepoint inside the submission's transaction
            code, active = (
                Village.objects.filter(pk=inspection.village_id).values_list("code", "is_active").get()
            )
            modes = [ANY_MODE, inspection.mode]
            first = [
                mode
                for mode in modes
                if active
                and VisitedVillage.objects.get_or_create(
                    village_id=inspection.village_id, year=year, mode=mode
                )[1]
            ]
            areas = [code[:length] for length in VILLAGE_AREA_LENGTHS]
            self.bulk_create(
                [
                    CoverageTally(year=year, area=area, area_length=len(area), mode=mode)
                    for area in areas
                    for mode in modes
                ],
                ignore_conflicts=True,
            )
            rows = self.filter(year=year, area__in=areas, mode__in=modes)
            keys = list(
                rows.select_for_update().order_by("year", "area", "mode").values_list("pk", flat=True)
            )
            self.filter(pk__in=keys).update(
                inspections=F("inspections") + 1,
                villages=F("villages") + Case(When(mode__in=first, then=Value(1)), default=Value(0)),
            )


class CoverageTally(models.Model):
    """An area's visits in a calendar year (China) in a mode ("" any mode): villages visited, inspections.

    Areas are divisions by code (a province's two digits, a prefecture's four, a county's
    six, a township's nine). Kept as visits are submitted (:meth:`CoverageTallyManager.count_visit`)
    and recounted from the inspections by :func:`inspections.fieldwork.coverage.coverage_recount`
    (daily, and after bulk imports), so that a national or provincial reader's coverage is
    read, not counted over millions of inspections.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    area = models.CharField(_("area code"), max_length=9)
    area_length = models.PositiveSmallIntegerField(_("length of the area code"))
    mode = models.CharField(_("mode"), max_length=20, blank=True)
    villages = models.PositiveIntegerField(_("villages visited"), default=0)
    inspections = models.PositiveIntegerField(_("inspections submitted"), default=0)

    objects = CoverageTallyManager()

    class Meta:
        verbose_name = _("coverage tally")
        verbose_name_plural = _("coverage tallies")
        constraints = [
            models.UniqueConstraint(fields=["year", "area", "mode"], name="coverage_tally_once"),
        ]
        indexes = [models.Index(fields=["year", "area_length", "area"], name="coverage_tally_level_idx")]

    def __str__(self) -> str:
        return f"{self.year} {self.area} {self.mode or '*'}"
