"""Sampling plans, their committed draws, the assignments they make, and the embargo log.

A plan is a draft until it is *committed*: the commit creates its :class:`Draw`,
which freezes the parameters, the candidate list and the inspector roster and
publishes only SHA-256 of a secret seed. After that the draw runs once, an
optional public beacon may be mixed in before it, and publication reveals the
seed. Database triggers (migration ``0002_sampling``) refuse any change to the
frozen columns of a draw or of its plan, and any edit of the append-only logs.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.common.china_time import display
from inspections.fieldwork.models import Inspection
from villages.models import Division, Village

models.CharField.register_lookup(Length)
models.TextField.register_lookup(Length)


class StratumLevel(models.IntegerChoices):
    """Strata are code prefixes: the value is the prefix length."""

    NONE = 0, _("no strata")
    PROVINCE = 2, _("by province")
    PREFECTURE = 4, _("by prefecture")
    COUNTY = 6, _("by county")
    TOWNSHIP = 9, _("by township")


class TeamPool(models.IntegerChoices):
    """Where a village's inspectors come from: a prefix of their home code."""

    ANY = 0, _("any inspector on the roster")
    PROVINCE = 2, _("inspectors of the village's province")
    PREFECTURE = 4, _("inspectors of the village's prefecture")


class RecusalLevel(models.IntegerChoices):
    """How much of an inspector's home is recused: the home county's code cut to this length."""

    COUNTY = 6, _("home county (the rule)")
    PREFECTURE = 4, _("home prefecture (stricter)")
    PROVINCE = 2, _("home province (stricter)")


def rural_kinds_excluded() -> list[str]:
    """Plans leave residents' committees (居委会/社区) out unless asked for."""
    return ["residents"]


class SamplingPlan(models.Model):
    """A supervisor's plan for a double-random sample (双随机抽查)."""

    name = models.CharField(_("name"), max_length=200)
    scope = models.ForeignKey(
        Division,
        verbose_name=_("scope"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Villages are drawn from this division's subtree; empty: the whole country."),
    )
    window_start = models.DateTimeField(_("visit window start"))
    window_end = models.DateTimeField(_("visit window end"))
    sample_size = models.PositiveIntegerField(
        _("sample size"), null=True, blank=True, help_text=_("How many villages; or give a rate.")
    )
    sample_rate = models.DecimalField(
        _("sample rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Share of the candidates, e.g. 0.05; rounded up at commit."),
    )
    stratum_level = models.PositiveSmallIntegerField(
        _("strata"), choices=StratumLevel.choices, default=StratumLevel.COUNTY
    )
    min_per_stratum = models.PositiveSmallIntegerField(
        _("minimum per stratum"),
        default=1,
        help_text=_("Each stratum gives at least this many villages (or all it has)."),
    )
    exclude_inspected_days = models.PositiveSmallIntegerField(
        _("exclude villages inspected within (days)"),
        default=0,
        help_text=_(
            "0 keeps them. Only submitted inspections count: a visit still to come leaves no village out."
        ),
    )
    excluded_kinds = models.JSONField(
        _("excluded classes of unit"),
        default=rural_kinds_excluded,
        blank=True,
        help_text=_(
            "Village classes to leave out: residents' committees by default (rural remediation); "
            "clear it to include them."
        ),
    )
    urban_rural_classes = models.JSONField(
        _("urban-rural classes (城乡分类代码)"),
        default=list,
        blank=True,
        help_text=_(
            "Only villages of these classes, e.g. 210 and 220; empty: every class. "
            "Villages whose class is not known are kept."
        ),
    )
    base_weight = models.DecimalField(_("base weight"), max_digits=9, decimal_places=3, default=1)
    open_cases_weight = models.DecimalField(
        _("weight per open case"),
        max_digits=9,
        decimal_places=3,
        default=0.5,
        help_text=_("Added for each case of the village that is not closed (销号) at commit."),
    )
    overdue_cases_weight = models.DecimalField(
        _("weight per overdue case"),
        max_digits=9,
        decimal_places=3,
        default=1,
        help_text=_(
            "Added again for each open case past its rectification deadline and still not rectified."
        ),
    )
    staleness_weight = models.DecimalField(
        _("staleness weight"),
        max_digits=9,
        decimal_places=3,
        default=1,
        help_text=_(
            "Times min(days since the last inspection, cap) / cap; never inspected counts as the cap."
        ),
    )
    staleness_cap_days = models.PositiveSmallIntegerField(_("staleness cap (days)"), default=365)
    unvisited_weight = models.DecimalField(
        _("weight if not visited this year"),
        max_digits=9,
        decimal_places=3,
        default=0,
        help_text=_(
            "Added for each candidate without a submitted inspection in the commit's year (China time)."
        ),
    )
    exclude_visited_this_year = models.BooleanField(
        _("leave out villages visited this year"),
        default=False,
        help_text=_(
            "Villages not visited this year first: those with a submitted inspection in the commit's "
            "year (China time) are left out."
        ),
    )
    key_rate = models.DecimalField(
        _("sample rate of key villages (重点村)"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "Key villages (a listed black and odorous water body, an open or reopened problem, or named "
            "as key) are drawn at this rate, up to 1 (all of them); the rest at the plan's size or rate. "
            "Empty: no key stratum."
        ),
    )
    key_village_codes = models.JSONField(
        _("key villages named for this plan"),
        default=list,
        blank=True,
        help_text=_("12-digit codes, besides the jurisdiction's list of key villages."),
    )
    team_size = models.PositiveSmallIntegerField(_("team size"), default=2)
    team_pool = models.PositiveSmallIntegerField(
        _("team pool"), choices=TeamPool.choices, default=TeamPool.PROVINCE
    )
    recusal_level = models.PositiveSmallIntegerField(
        _("recusal of the home"),
        choices=RecusalLevel.choices,
        default=RecusalLevel.COUNTY,
        help_text=_(
            "Inspectors are recused from their home county, the villages of their declared conflicts and "
            "the village's previous team; a plan may recuse their whole home prefecture or province."
        ),
    )
    organisers = models.ManyToManyField(
        User,
        verbose_name=_("organisers"),
        related_name="organised_plans",
        help_text=_("They see the plan, its draw and its inspections before the visits."),
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sampling plan")
        verbose_name_plural = _("sampling plans")
        ordering = ["-window_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=F("window_start")), name="plan_window_ordered"),
            models.CheckConstraint(
                condition=Q(team_size__gte=2),
                name="plan_team_of_two_or_more",
                violation_error_message=_("A team needs at least two inspectors."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(sample_size__isnull=False, sample_size__gte=1, sample_rate__isnull=True)
                    | Q(sample_size__isnull=True, sample_rate__gt=0, sample_rate__lte=1)
                ),
                name="plan_size_or_rate",
            ),
            models.CheckConstraint(condition=Q(base_weight__gt=0), name="plan_base_weight_positive"),
            models.CheckConstraint(
                condition=Q(
                    open_cases_weight__gte=0,
                    overdue_cases_weight__gte=0,
                    staleness_weight__gte=0,
                    staleness_cap_days__gte=1,
                ),
                name="plan_weights_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(stratum_level__in=StratumLevel.values), name="plan_stratum_level_valid"
            ),
            models.CheckConstraint(condition=Q(team_pool__in=TeamPool.values), name="plan_team_pool_valid"),
            models.CheckConstraint(
                condition=Q(recusal_level__in=RecusalLevel.values), name="plan_recusal_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(key_rate__isnull=True) | Q(key_rate__gt=0, key_rate__lte=1),
                name="plan_key_rate_valid",
            ),
            models.CheckConstraint(
                condition=Q(unvisited_weight__gte=0), name="plan_unvisited_weight_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_code(self) -> str:
        """The code prefix of the candidates: ``""`` for the whole country."""
        return self.scope.code if self.scope is not None else ""

    @property
    def draw_or_none(self) -> Draw | None:
        try:
            return self.draw
        except Draw.DoesNotExist:
            return None


class Draw(models.Model):
    """A committed plan: frozen inputs, the seed commitment, then the result."""

    class Status(models.TextChoices):
        COMMITTED = "committed", _("committed")
        DRAWN = "drawn", _("drawn")
        PUBLISHED = "published", _("published")
        VOIDED = "voided", _("voided")

    plan = models.OneToOneField(
        SamplingPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="draw"
    )
    parameters = models.JSONField(_("frozen parameters"))
    candidates_sha256 = models.CharField(_("candidate list SHA-256"), max_length=64)
    candidate_count = models.PositiveIntegerField(_("candidates"))
    roster_sha256 = models.CharField(_("roster SHA-256"), max_length=64)
    # The secret: never shown or served before publication (see revealed_seed).
    seed = models.CharField(_("seed"), max_length=64, editable=False)
    seed_commitment = models.CharField(_("seed commitment (SHA-256 of the seed)"), max_length=64)
    committed_at = models.DateTimeField(_("committed at"))
    committed_by = models.ForeignKey(
        User, verbose_name=_("committed by"), on_delete=models.PROTECT, related_name="+"
    )
    beacon = models.CharField(_("public beacon"), max_length=500, blank=True)
    beacon_source = models.CharField(
        _("beacon source"), max_length=300, blank=True, help_text=_("Where anyone can check the value.")
    )
    beacon_entered_at = models.DateTimeField(_("beacon entered at"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    drawn_by = models.ForeignKey(
        User, verbose_name=_("drawn by"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    result = models.JSONField(_("result"), null=True, blank=True)
    result_sha256 = models.CharField(_("result SHA-256"), max_length=64, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    revealed_seed = models.CharField(_("revealed seed"), max_length=64, blank=True)
    # A committed draw that cannot be drawn is voided, with a reason on the public record;
    # its seed is then public too (nothing was drawn), so anyone can see why it failed.
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        User, verbose_name=_("voided by"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    void_reason = models.TextField(_("reason for voiding"), blank=True)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        ordering = ["-committed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(seed__length=64, seed_commitment__length=64, candidates_sha256__length=64),
                name="draw_hashes_complete",
            ),
            models.CheckConstraint(condition=Q(candidate_count__gte=1), name="draw_has_candidates"),
            models.CheckConstraint(
                condition=Q(beacon="", beacon_entered_at__isnull=True)
                | (~Q(beacon="") & Q(beacon_entered_at__gte=F("committed_at"))),
                name="draw_beacon_after_commit",
            ),
            models.CheckConstraint(
                condition=Q(drawn_at__isnull=True, result__isnull=True, result_sha256="")
                | Q(drawn_at__gte=F("committed_at"), result__isnull=False, result_sha256__length=64),
                name="draw_result_complete",
            ),
            models.CheckConstraint(
                condition=Q(beacon_entered_at__isnull=True)
                | Q(drawn_at__isnull=True)
                | Q(beacon_entered_at__lte=F("drawn_at")),
                name="draw_beacon_before_draw",
            ),
            models.CheckConstraint(
                condition=Q(published_at__isnull=True, revealed_seed="")
                | Q(published_at__gte=F("drawn_at"), revealed_seed=F("seed")),
                name="draw_published_reveals_the_seed",
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
                | Q(
                    voided_at__gte=F("committed_at"),
                    voided_by__isnull=False,
                    void_reason__length__gte=5,
                    drawn_at__isnull=True,
                ),
                name="draw_voided_undrawn_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return str(_("draw of %(plan)s") % {"plan": self.plan})

    # The frozen texts live in DrawInputs, written once: updating a draw row
    # (beacon, result, publication) then never rewrites megabytes of text.
    @property
    def candidates(self) -> str:
        return self.inputs.candidates

    @property
    def roster(self) -> str:
        return self.inputs.roster

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)

    @property
    def status(self) -> str:
        if self.voided_at is not None:
            return self.Status.VOIDED
        if self.published_at is not None:
            return self.Status.PUBLISHED
        if self.drawn_at is not None:
            return self.Status.DRAWN
        return self.Status.COMMITTED


class DrawInputs(models.Model):
    """A draw's frozen candidate list and roster, in their canonical, hashed form. Insert-only."""

    draw = models.OneToOneField(
        Draw, verbose_name=_("draw"), on_delete=models.PROTECT, primary_key=True, related_name="inputs"
    )
    candidates = models.TextField(_("candidate list"), help_text=_("Canonical: code,weight per line."))
    roster = models.TextField(_("inspector roster"), help_text=_("Canonical JSON."))

    class Meta:
        verbose_name = _("frozen draw inputs")
        verbose_name_plural = _("frozen draw inputs")

    def __str__(self) -> str:
        return str(self.draw)


class Assignment(models.Model):
    """A drawn village: the inspection it became and its place in the draw."""

    draw = models.ForeignKey(
        Draw, verbose_name=_("draw"), on_delete=models.PROTECT, related_name="assignments"
    )
    inspection = models.OneToOneField(
        Inspection, verbose_name=_("inspection"), on_delete=models.PROTECT, related_name="assignment"
    )
    stratum = models.CharField(_("stratum"), max_length=9, blank=True)
    rank = models.PositiveIntegerField(_("rank in stratum"))
    drawn_team = models.JSONField(_("drawn team"), help_text=_("Credential numbers, in draw order."))

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["draw", "stratum", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "stratum", "rank"], name="assignment_unique_place"),
        ]

    def __str__(self) -> str:
        return f"{self.stratum or '-'} #{self.rank}"


class Reassignment(models.Model):
    """A manual change of a drawn team: who, when, why, before and after. Append-only."""

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), on_delete=models.PROTECT, related_name="reassignments"
    )
    actor = models.ForeignKey(User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"))
    team_before = models.JSONField(_("team before"))
    team_after = models.JSONField(_("team after"))

    class Meta:
        verbose_name = _("reassignment")
        verbose_name_plural = _("reassignments")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(reason__length__gte=5), name="reassignment_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment} @ {display(self.at)}"


class Cancellation(models.Model):
    """A drawn visit that cannot happen (a flooded road), cancelled by an organiser. Insert-only.

    Who, when and the written reason go on the draw's public record, which is
    public only once the draw's results are: before, only the plan's
    organisers see it (the embargo).
    """

    assignment = models.OneToOneField(
        Assignment, verbose_name=_("assignment"), on_delete=models.PROTECT, related_name="cancellation"
    )
    actor = models.ForeignKey(User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("cancelled visit")
        verbose_name_plural = _("cancelled visits")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(reason__length__gte=5), name="cancellation_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment} @ {display(self.at)}"


class TargetedVisit(models.Model):
    """A supervisor's order for a visit of chosen villages (暗访, 专项, 举报核查, 督察交办核查, 日常).

    Its inspections are embargoed like drawn ones (``fieldwork.selectors``). The team
    is drawn by the keyed-hash team draw of sampling plans from a frozen roster
    (seed committed, revealed on the public record once every visit is closed), or
    named by the organiser with a written reason. Insert-only once ordered.
    """

    class Choice(models.TextChoices):
        DRAWN = "drawn", _("drawn from the roster")
        NAMED = "named", _("named, with a reason")

    MODES = (
        Inspection.Mode.UNANNOUNCED,
        Inspection.Mode.SPECIAL,
        Inspection.Mode.REPORT,
        Inspection.Mode.SUPERVISION_CHECK,
        Inspection.Mode.ROUTINE,
    )

    mode = models.CharField(_("mode"), max_length=20, choices=[(m.value, m.label) for m in MODES])
    basis = models.CharField(
        _("basis"),
        max_length=300,
        blank=True,
        help_text=_("What the visit answers: a complaint's ticket, a 交办 number, a campaign."),
    )
    window_start = models.DateTimeField(_("visit window start"))
    window_end = models.DateTimeField(_("visit window end"))
    team_size = models.PositiveSmallIntegerField(_("team size"), default=2)
    team_choice = models.CharField(_("team"), max_length=10, choices=Choice.choices)
    named_reason = models.TextField(_("why the team is named"), blank=True)
    parameters = models.JSONField(_("frozen parameters"))
    roster = models.TextField(_("inspector roster"), blank=True, help_text=_("Canonical JSON."))
    roster_sha256 = models.CharField(_("roster SHA-256"), max_length=64, blank=True)
    # The secret of a drawn team: served only once every visit of the order is closed.
    seed = models.CharField(_("seed"), max_length=64, blank=True, editable=False)
    seed_commitment = models.CharField(_("seed commitment (SHA-256 of the seed)"), max_length=64, blank=True)
    result = models.JSONField(_("teams"), help_text=_("Village code → credential numbers, in draw order."))
    inspections = models.ManyToManyField(
        Inspection, verbose_name=_("inspections"), related_name="targeted_orders"
    )
    ordered_by = models.ForeignKey(
        User, verbose_name=_("ordered by"), on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField(_("ordered at"))

    class Meta:
        verbose_name = _("targeted visit")
        verbose_name_plural = _("targeted visits")
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="targeted_window_ordered"
            ),
            models.CheckConstraint(condition=Q(team_size__gte=2), name="targeted_team_of_two_or_more"),
            models.CheckConstraint(
                condition=Q(team_choice="drawn", seed__length=64, seed_commitment__length=64)
                | Q(team_choice="named", named_reason__length__gte=5, seed=""),
                name="targeted_team_drawn_or_named_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} · {self.ordered_at:%Y-%m-%d}"  # type: ignore[attr-defined]


class KeyVillage(models.Model):
    """A village on a jurisdiction's list of key villages (重点村), with why it is listed.

    Plans with a key rate draw these (with the villages that have an open or
    reopened problem, and those the plan names) at their own rate; the list a
    commit used is frozen in the draw's parameters.
    """

    class Reason(models.TextChoices):
        BLACK_ODOROUS_WATER = "black_odorous_water", _("listed black and odorous water body (黑臭水体)")
        NAMED = "named", _("named by the supervisor")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(
        _("note"), max_length=300, blank=True, help_text=_("e.g. the water body's name in the national list.")
    )
    added_by = models.ForeignKey(User, verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key village (重点村)")
        verbose_name_plural = _("key villages (重点村)")
        ordering = ["village__code", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["village", "reason"], name="key_village_once_per_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.village} · {self.get_reason_display()}"  # type: ignore[attr-defined]


# What each recorded read was, as its reviewers read it; the log keeps the stable code
# (a code not listed here is shown as it is).
EMBARGO_READ_NAMES = {
    "admin:plan:list": _("list of sampling plans (admin)"),
    "admin:plan:view": _("sampling plan page (admin)"),
    "admin:assignment:reassign": _("reassign page of a drawn visit (admin)"),
    "admin:assignment:cancel": _("cancel page of a drawn visit (admin)"),
    "admin targeted visit": _("targeted visit order page (admin)"),
    "admin:inspection:list": _("list of inspections (admin)"),
    "admin:inspection:autocomplete": _("inspection search (admin)"),
    "admin:inspection:view": _("inspection page (admin)"),
    "admin:photo:file": _("photo file (admin)"),
    "admin:checkin:list": _("list of check-ins (admin)"),
    "admin:checkin:view": _("check-in page (admin)"),
    "admin:publication:view": _("results publication page (admin)"),
    "api:assignments:list": _("assignments list (app)"),
    "api:assignments:detail": _("assignment (app)"),
    "api:inspections:detail": _("inspection (app)"),
    "api:photos:detail": _("photo (app)"),
    "api:photos:file": _("photo file (app)"),
    "api:targeted-visits:list": _("targeted visits list (app)"),
    "api:targeted-visits:detail": _("targeted visit (app)"),
}


class EmbargoAccessLog(models.Model):
    """One read of embargoed data (a plan, draw or inspection before its time). Append-only."""

    at = models.DateTimeField(_("at"), db_index=True)
    user = models.ForeignKey(User, verbose_name=_("who"), on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("what"), max_length=60)
    path = models.CharField(_("path"), max_length=300, blank=True)
    plan = models.ForeignKey(
        SamplingPlan,
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("inspection"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("embargoed read")
        verbose_name_plural = _("embargoed reads (access log)")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(plan__isnull=False) | Q(inspection__isnull=False), name="access_log_has_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{display(self.at)} {self.user} {self.action_name}"

    @property
    def action_name(self) -> str:
        """What was read, by name (:data:`EMBARGO_READ_NAMES`), else the recorded code."""
        return str(EMBARGO_READ_NAMES.get(self.action, self.action))


__all__ = [
    "EMBARGO_READ_NAMES",
    "Assignment",
    "Draw",
    "DrawInputs",
    "EmbargoAccessLog",
    "KeyVillage",
    "Reassignment",
    "RecusalLevel",
    "SamplingPlan",
    "StratumLevel",
    "TargetedVisit",
    "TeamPool",
]
