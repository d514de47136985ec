"""The public record of a draw (``GET public/draws/{id}/``, no account needed), and targeted
visits ordered over the API (``targeted-visits/``, supervisors).

Once a draw is published it shows everything needed to re-run it (the same
inputs :mod:`inspections.sampling.verification` checks); before that it is a
404. A targeted visit is ordered by the same service as in the admin
(:func:`inspections.sampling.targeted.targeted_visit_order`) and read back only by
whoever ordered it: to anyone else it does not exist, and no list counts it. The
inspector's worklist is in :mod:`inspections.fieldwork.api`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import Inspector, Role, User
from inspections.common.china_time import SHANGHAI
from inspections.common.errors import PermissionDenied
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import Cancellation, Draw, Reassignment, TargetedVisit
from inspections.sampling.services import embargo_reads_record
from inspections.sampling.targeted import targeted_visit_is_public, targeted_visit_order
from villages.api.serializers import DivisionSummarySerializer


def _moment(**kwargs: Any) -> serializers.DateTimeField:
    """A moment, written in China time (+08:00) whatever the server's zone."""
    return serializers.DateTimeField(default_timezone=SHANGHAI, **kwargs)


class PublicPlanOutput(serializers.Serializer):
    name = serializers.CharField()
    scope = DivisionSummarySerializer(allow_null=True, help_text="Empty for the whole country.")
    window_start = _moment()
    window_end = _moment()


class PublicDrawVillageOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    stratum = serializers.CharField()
    rank = serializers.IntegerField()
    drawn_team = serializers.ListField(
        child=serializers.CharField(), help_text="Credential numbers as drawn."
    )
    team = serializers.ListField(
        child=serializers.CharField(), help_text="Credential numbers now (after reassignments)."
    )
    status = serializers.ChoiceField(choices=Inspection.Status.choices)


class PublicReassignmentOutput(serializers.Serializer):
    village = serializers.CharField()
    at = _moment()
    by = serializers.CharField()
    reason = serializers.CharField()
    team_before = serializers.ListField(child=serializers.CharField())
    team_after = serializers.ListField(child=serializers.CharField())


class PublicCancellationOutput(serializers.Serializer):
    village = serializers.CharField()
    at = _moment()
    by = serializers.CharField()
    reason = serializers.CharField()


class PublicDrawOutput(serializers.Serializer):
    id = serializers.IntegerField()
    plan = PublicPlanOutput()
    parameters = serializers.JSONField(help_text="The frozen parameters the draw used.")
    candidate_count = serializers.IntegerField()
    candidates = serializers.CharField(
        help_text="Canonical candidate list: code,weight per line, sorted by code."
    )
    candidates_sha256 = serializers.CharField()
    roster = serializers.CharField(help_text="Canonical JSON of the frozen inspector roster.")
    roster_sha256 = serializers.CharField()
    seed_commitment = serializers.CharField(help_text="SHA-256 of the seed, published at commit time.")
    committed_at = _moment()
    beacon = serializers.CharField(allow_blank=True)
    beacon_source = serializers.CharField(allow_blank=True)
    beacon_entered_at = _moment(allow_null=True)
    revealed_seed = serializers.CharField(
        help_text="The secret seed, hex; revealed at publication (or when the draw is voided)."
    )
    drawn_at = _moment(allow_null=True, help_text="Null for a voided draw.")
    published_at = _moment(allow_null=True, help_text="Null for a voided draw.")
    voided_at = _moment(allow_null=True, help_text="When the draw was voided because it could not be drawn.")
    void_reason = serializers.CharField(allow_blank=True, help_text="Why it was voided, as written.")
    result = serializers.JSONField(
        help_text="The result exactly as drawn (canonical JSON hashes to result_sha256)."
    )
    result_sha256 = serializers.CharField()
    villages = PublicDrawVillageOutput(many=True)
    reassignments = PublicReassignmentOutput(many=True)
    cancellations = PublicCancellationOutput(
        many=True, help_text="Drawn visits that could not happen, cancelled by an organiser with a reason."
    )


def _display(user: User) -> str:
    return user.get_full_name() or user.username


@extend_schema(tags=["public"], responses=PublicDrawOutput, auth=[])
class PublicDrawView(APIView):
    """The public record of a published or voided draw: enough for anyone to re-run it (404 before)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request, pk: int) -> Response:
        draw = (
            Draw.objects.select_related("plan__scope", "inputs")
            .filter(Q(published_at__isnull=False) | Q(voided_at__isnull=False), pk=pk)
            .first()
        )
        if draw is None:
            raise Http404
        assignments = (
            draw.assignments.select_related("inspection__village", "cancellation__actor")
            .prefetch_related(
                "inspection__team",
                Prefetch("reassignments", queryset=Reassignment.objects.select_related("actor")),
            )
            .order_by("stratum", "rank")
        )
        villages = []
        reassignments: list[dict[str, Any]] = []
        cancellations: list[dict[str, Any]] = []
        for assignment in assignments:
            inspection = assignment.inspection
            villages.append(
                {
                    "code": inspection.village.code,
                    "name": inspection.village.name,
                    "stratum": assignment.stratum,
                    "rank": assignment.rank,
                    "drawn_team": assignment.drawn_team,
                    "team": sorted(i.credential_number for i in inspection.team.all()),
                    "status": inspection.status,
                }
            )
            reassignments.extend(
                {
                    "village": inspection.village.code,
                    "at": change.at,
                    "by": _display(change.actor),
                    "reason": change.reason,
                    "team_before": change.team_before,
                    "team_after": change.team_after,
                }
                for change in assignment.reassignments.all()
            )
            cancellation: Cancellation | None = getattr(assignment, "cancellation", None)
            if cancellation is not None:
                cancellations.append(
                    {
                        "village": inspection.village.code,
                        "at": cancellation.at,
                        "by": _display(cancellation.actor),
                        "reason": cancellation.reason,
                    }
                )
        reassignments.sort(key=lambda r: r["at"])
        cancellations.sort(key=lambda r: r["at"])
        record = {
            "id": draw.pk,
            "plan": draw.plan,
            "parameters": draw.parameters,
            "candidate_count": draw.candidate_count,
            "candidates": draw.candidates,
            "candidates_sha256": draw.candidates_sha256,
            "roster": draw.roster,
            "roster_sha256": draw.roster_sha256,
            "seed_commitment": draw.seed_commitment,
            "committed_at": draw.committed_at,
            "beacon": draw.beacon,
            "beacon_source": draw.beacon_source,
            "beacon_entered_at": draw.beacon_entered_at,
            # A voided draw never ran: nothing is embargoed, and its seed shows why it failed.
            "revealed_seed": draw.seed if draw.voided_at is not None else draw.revealed_seed,
            "drawn_at": draw.drawn_at,
            "published_at": draw.published_at,
            "voided_at": draw.voided_at,
            "void_reason": draw.void_reason,
            "result": draw.result,
            "result_sha256": draw.result_sha256,
            "villages": villages,
            "reassignments": reassignments,
            "cancellations": cancellations,
        }
        return Response(PublicDrawOutput(record).data)


class PublicTargetedVisitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=[(m.value, m.label) for m in TargetedVisit.MODES])
    basis = serializers.CharField(allow_blank=True)
    ordered_at = _moment()
    ordered_by = serializers.CharField(help_text="Who ordered the visit.")
    window_start = _moment()
    window_end = _moment()
    team_choice = serializers.ChoiceField(choices=TargetedVisit.Choice.choices)
    named_reason = serializers.CharField(allow_blank=True, help_text="Why the team was named (named teams).")
    parameters = serializers.JSONField(help_text="The frozen parameters of the order.")
    roster = serializers.CharField(allow_blank=True, help_text="Canonical JSON of the frozen roster (drawn).")
    roster_sha256 = serializers.CharField(allow_blank=True)
    seed_commitment = serializers.CharField(allow_blank=True)
    revealed_seed = serializers.CharField(allow_blank=True, help_text="The seed of a drawn team, hex.")
    result = serializers.JSONField(help_text="Village code → team (credential numbers), as ordered.")


@extend_schema(tags=["public"], responses=PublicTargetedVisitOutput, auth=[])
class PublicTargetedVisitView(APIView):
    """The public record of a targeted visit once every one of its visits is closed (404 before)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request, pk: int) -> Response:
        order = TargetedVisit.objects.select_related("ordered_by").filter(pk=pk).first()
        if order is None or not targeted_visit_is_public(order):
            raise Http404
        record = {
            "id": order.pk,
            "mode": order.mode,
            "basis": order.basis,
            "ordered_at": order.ordered_at,
            "ordered_by": _display(order.ordered_by),
            "window_start": order.window_start,
            "window_end": order.window_end,
            "team_choice": order.team_choice,
            "named_reason": order.named_reason,
            "parameters": order.parameters,
            "roster": order.roster,
            "roster_sha256": order.roster_sha256,
            "seed_commitment": order.seed_commitment,
            "revealed_seed": order.seed,
            "result": order.result,
        }
        return Response(PublicTargetedVisitOutput(record).data)


# --- Targeted visits (supervisors) -------------------------------------------------------------

# The same choices as the public record's: one enum in the schema (config/settings.py).
MODE_CHOICES = [(m.value, m.label) for m in TargetedVisit.MODES]


class TargetedVisitInput(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=MODE_CHOICES,
        help_text=(
            "unannounced (暗访), special (专项), report (举报核查), supervision_check (督察交办核查), "
            "routine (日常)."
        ),
    )
    villages = serializers.ListField(
        child=serializers.RegexField(r"^\d{12}$"),
        min_length=1,
        max_length=500,
        help_text="12-digit codes of active villages of the caller's jurisdiction.",
    )
    window_start = serializers.DateTimeField(help_text="In the future.")
    window_end = serializers.DateTimeField()
    team_size = serializers.IntegerField(required=False, help_text="At least 2; 2 when left out.")
    basis = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="A ticket, a 交办 number, a campaign."
    )
    team = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Credential numbers of a named team; left out, the team is drawn from the roster.",
    )
    named_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Why the team is named (5 characters or more)."
    )


class TargetedVisitInspectionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    village = serializers.CharField(help_text="Village code.")
    village_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Inspection.Status.choices)
    team = serializers.ListField(child=serializers.CharField(), help_text="Credential numbers.")


class TargetedVisitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=MODE_CHOICES)
    basis = serializers.CharField(allow_blank=True)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    team_size = serializers.IntegerField()
    team_choice = serializers.ChoiceField(choices=TargetedVisit.Choice.choices)
    named_reason = serializers.CharField(allow_blank=True)
    roster_sha256 = serializers.CharField(allow_blank=True)
    seed_commitment = serializers.CharField(
        allow_blank=True, help_text="SHA-256 of the seed of a drawn team."
    )
    ordered_at = serializers.DateTimeField()
    inspections = TargetedVisitInspectionOutput(many=True)


def _orderer(request: Request) -> User:
    """The caller, if they may order targeted visits (supervisors; superusers)."""
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated guarantees it
    if not (user.is_superuser or user.has_role(Role.SUPERVISOR)):
        raise PermissionDenied
    return user


def _orders(user: User) -> QuerySet[TargetedVisit]:
    """The orders ``user`` may read: their own (a superuser's: all), as in the admin."""
    orders = TargetedVisit.objects.prefetch_related(
        Prefetch(
            "inspections",
            queryset=Inspection.objects.select_related("village").prefetch_related("team").order_by("id"),
        )
    ).order_by("-ordered_at", "-id")
    return orders if user.is_superuser else orders.filter(ordered_by_id=user.pk)


def _order_output(order: TargetedVisit) -> dict[str, Any]:
    return {
        "id": order.pk,
        "mode": order.mode,
        "basis": order.basis,
        "window_start": order.window_start,
        "window_end": order.window_end,
        "team_size": order.team_size,
        "team_choice": order.team_choice,
        "named_reason": order.named_reason,
        "roster_sha256": order.roster_sha256,
        "seed_commitment": order.seed_commitment,
        "ordered_at": order.ordered_at,
        "inspections": [
            {
                "id": i.pk,
                "village": i.village.code,
                "village_name": i.village.name,
                "status": i.status,
                "team": sorted(m.credential_number for m in i.team.all()),
            }
            for i in order.inspections.all()
        ],
    }


def named_inspectors(credentials: list[str] | None) -> list[Inspector] | None:
    """The inspectors of a named team by credential number (None: the team is drawn).

    An unknown credential is a field error of ``team``.
    """
    if credentials is None:
        return None
    wanted = sorted(set(credentials))
    found = list(Inspector.objects.filter(credential_number__in=wanted))
    missing = sorted(set(wanted) - {i.credential_number for i in found})
    if missing:
        raise serializers.ValidationError({"team": [f"unknown credential numbers: {', '.join(missing)}"]})
    return found


@extend_schema_view(
    get=extend_schema(tags=["targeted visits"], responses=TargetedVisitOutput(many=True)),
    post=extend_schema(
        tags=["targeted visits"], request=TargetedVisitInput, responses={201: TargetedVisitOutput}
    ),
)
class TargetedVisitListView(generics.GenericAPIView[TargetedVisit]):
    """Targeted visits the caller ordered (GET), and a new order (POST): supervisors only.

    One embargoed inspection per village, with a team drawn from the roster or named
    with a reason; the same service as the admin's. Nobody but whoever ordered it reads
    an order here, and no list counts another's.
    """

    serializer_class = TargetedVisitOutput
    problem_statuses = ["409", "422"]

    def get_queryset(self) -> QuerySet[TargetedVisit]:
        if getattr(self, "swagger_fake_view", False):
            return TargetedVisit.objects.none()
        return _orders(_orderer(self.request))

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        orders = list(page if page is not None else self.get_queryset())
        embargo_reads_record(
            user=request.user,
            action="api:targeted-visits:list",
            path=request.path,
            inspections=[i for order in orders for i in order.inspections.all()],
        )
        data = TargetedVisitOutput([_order_output(o) for o in orders], many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def post(self, request: Request) -> Response:
        user = _orderer(request)
        data = TargetedVisitInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = targeted_visit_order(
            user=user,
            mode=values["mode"],
            village_codes=values["villages"],
            window_start=values["window_start"],
            window_end=values["window_end"],
            team_size=values.get("team_size", 2),
            basis=values.get("basis", ""),
            named_team=named_inspectors(values.get("team")),
            named_reason=values.get("named_reason", ""),
        )
        order = _orders(user).get(pk=order.pk)
        return Response(TargetedVisitOutput(_order_output(order)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(tags=["targeted visits"], responses=TargetedVisitOutput))
class TargetedVisitDetailView(generics.GenericAPIView[TargetedVisit]):
    """One targeted visit the caller ordered, with its inspections and teams (404 for anyone else)."""

    serializer_class = TargetedVisitOutput

    def get_queryset(self) -> QuerySet[TargetedVisit]:
        if getattr(self, "swagger_fake_view", False):
            return TargetedVisit.objects.none()
        return _orders(_orderer(self.request))

    def get(self, request: Request, pk: int) -> Response:
        order = self.get_queryset().filter(pk=pk).first()
        if order is None:
            raise Http404
        embargo_reads_record(
            user=request.user,
            action="api:targeted-visits:detail",
            path=request.path,
            inspections=order.inspections.all(),
        )
        return Response(TargetedVisitOutput(_order_output(order)).data)
