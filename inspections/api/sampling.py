"""The inspector's worklist (``assignments/``) and the public record of a draw.

``GET assignments/`` and ``GET assignments/{id}/`` answer from
:func:`inspections.selectors.assignment_list`: an inspection that is foreign,
embargoed (window not open yet) or closed is a 404, never a 403, so a
response never confirms that an upcoming inspection exists. Each read is
written to the embargo access log.

``GET public/draws/{id}/`` needs no account: once a draw is published it
shows everything needed to re-run it; before that it is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.api.fieldwork import ActionableUntilField
from inspections.models import Draw, Inspection, Inspector, ProblemCategory, Reassignment, User
from inspections.selectors import assignment_list
from inspections.services.fieldwork import village_reference_point
from inspections.services.sampling import embargo_reads_record
from villages.api.serializers import DivisionSummarySerializer, VillageOutput
from villages.models import Village

# --- Assignments --------------------------------------------------------------------


class ChecklistItemOutput(serializers.ModelSerializer[ProblemCategory]):
    class Meta:
        model = ProblemCategory
        fields = ["code", "name_zh_hans", "name_en", "domain", "default_severity", "rectification_days"]


class TeamMemberOutput(serializers.ModelSerializer[Inspector]):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Inspector
        fields = ["credential_number", "name", "unit"]

    def get_name(self, inspector: Inspector) -> str:
        return inspector.user.get_full_name() or inspector.user.username


class AssignmentVillageOutput(VillageOutput):
    location_known = serializers.SerializerMethodField(
        help_text="Whether distances to this village are measured (a confirmed or surveyed location)."
    )

    class Meta(VillageOutput.Meta):
        fields = ["code", "name", "kind", "township", "county_code", "location", "location_known"]

    def get_location_known(self, village: Village) -> bool:
        return village_reference_point(village) is not None


class AssignmentOutput(serializers.ModelSerializer[Inspection]):
    village = AssignmentVillageOutput()
    team = TeamMemberOutput(many=True)
    geofence_radius_m = serializers.SerializerMethodField(
        help_text="How far from the village's point a check-in counts as on site, in metres."
    )
    checklist = serializers.SerializerMethodField(
        help_text="The problem categories to record findings against."
    )
    actionable_until = ActionableUntilField()

    class Meta:
        model = Inspection
        fields = [
            "id",
            "mode",
            "status",
            "window_start",
            "window_end",
            "actionable_until",
            "village",
            "geofence_radius_m",
            "team",
            "checklist",
        ]

    def get_geofence_radius_m(self, inspection: Inspection) -> int:
        return int(settings.QINGSHAN_GEOFENCE_RADIUS_M)

    @extend_schema_field(ChecklistItemOutput(many=True))
    def get_checklist(self, inspection: Inspection) -> list[dict[str, Any]]:
        checklist: list[dict[str, Any]] = self.context["checklist"]
        return checklist


class AssignmentViewMixin(generics.GenericAPIView[Inspection]):
    def get_queryset(self) -> QuerySet[Inspection]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Inspection.objects.none()
        user = self.request.user
        assert isinstance(user, User)  # IsAuthenticated
        return (
            assignment_list(user=user)
            .select_related("village__township")
            .prefetch_related(Prefetch("team", queryset=Inspector.objects.select_related("user")))
            .order_by("window_start", "id")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()
        context["checklist"] = ChecklistItemOutput(
            ProblemCategory.objects.filter(is_active=True), many=True
        ).data
        return context


@extend_schema(tags=["assignments"])
class AssignmentListView(AssignmentViewMixin, generics.ListAPIView[Inspection]):
    """The caller's open inspections, with what the phone needs offline.

    An inspection appears when its visit window opens (never before) and
    leaves when it is submitted or cancelled, or when its window ends unstarted.
    """

    serializer_class = AssignmentOutput

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API always paginates
        embargo_reads_record(
            user=request.user, action="api:assignments:list", path=request.path, inspections=page
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["assignments"])
class AssignmentDetailView(AssignmentViewMixin, generics.RetrieveAPIView[Inspection]):
    """One of the caller's open inspections; anything else is a 404."""

    serializer_class = AssignmentOutput

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        inspection = self.get_object()
        embargo_reads_record(
            user=request.user, action="api:assignments:detail", path=request.path, inspections=[inspection]
        )
        return Response(self.get_serializer(inspection).data)


# --- The public record of a draw -----------------------------------------------------


class PublicPlanOutput(serializers.Serializer):
    name = serializers.CharField()
    scope = DivisionSummarySerializer(allow_null=True, help_text="Empty for the whole country.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()


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
    at = serializers.DateTimeField()
    by = serializers.CharField()
    reason = serializers.CharField()
    team_before = serializers.ListField(child=serializers.CharField())
    team_after = serializers.ListField(child=serializers.CharField())


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
    committed_at = serializers.DateTimeField()
    beacon = serializers.CharField(allow_blank=True)
    beacon_source = serializers.CharField(allow_blank=True)
    beacon_entered_at = serializers.DateTimeField(allow_null=True)
    revealed_seed = serializers.CharField(help_text="The secret seed, hex; revealed at publication.")
    drawn_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField()
    result = serializers.JSONField(
        help_text="The result exactly as drawn (canonical JSON hashes to result_sha256)."
    )
    result_sha256 = serializers.CharField()
    villages = PublicDrawVillageOutput(many=True)
    reassignments = PublicReassignmentOutput(many=True)


def _display(user: User) -> str:
    return user.get_full_name() or user.username


@extend_schema(tags=["public"], responses=PublicDrawOutput, auth=[])
class PublicDrawView(APIView):
    """The public record of a published draw: enough for anyone to re-run it (404 before publication)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request, pk: int) -> Response:
        draw = (
            Draw.objects.select_related("plan__scope", "inputs")
            .filter(pk=pk, published_at__isnull=False)
            .first()
        )
        if draw is None:
            raise Http404
        assignments = (
            draw.assignments.select_related("inspection__village")
            .prefetch_related(
                "inspection__team",
                Prefetch("reassignments", queryset=Reassignment.objects.select_related("actor")),
            )
            .order_by("stratum", "rank")
        )
        villages = []
        reassignments: list[dict[str, Any]] = []
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
        reassignments.sort(key=lambda r: r["at"])
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
            "revealed_seed": draw.revealed_seed,
            "drawn_at": draw.drawn_at,
            "published_at": draw.published_at,
            "result": draw.result,
            "result_sha256": draw.result_sha256,
            "villages": villages,
            "reassignments": reassignments,
        }
        return Response(PublicDrawOutput(record).data)
