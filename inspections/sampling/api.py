"""The public record of a draw: ``GET public/draws/{id}/``, no account needed.

Once a draw is published it shows everything needed to re-run it (the same
inputs :mod:`inspections.sampling.verification` checks); before that it is a
404. The inspector's worklist is in :mod:`inspections.fieldwork.api`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import User
from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import Cancellation, Draw, Reassignment, TargetedVisit
from inspections.sampling.targeted import targeted_visit_is_public
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
