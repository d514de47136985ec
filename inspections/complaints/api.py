"""Complaints over the API: the intake role records and reads them; supervisors read them and
order a complaint's 核查 visit.

The reporter's name and contact are answered to the intake role only (``null`` to
anyone else). A complaint's 核查 visit shows only once every one of its
inspections is closed, so that a complaint with a visit coming reads exactly like
one without (the embargo); its orderer follows it under ``targeted-visits/``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from inspections.accounts.models import Inspector, Role, User
from inspections.common.china_time import local_date
from inspections.common.errors import PermissionDenied
from inspections.complaints.models import Complaint
from inspections.complaints.policies import can_order_check, can_read_reporter, can_record
from inspections.complaints.selectors import complaint_check_shown, complaints_within
from inspections.complaints.services import complaint_order_check, complaint_record
from villages.models import Village


class ComplaintVillageOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ComplaintOutput(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=Complaint.Source.choices)  # type: ignore[assignment]
    ticket_number = serializers.CharField()
    received_at = serializers.DateTimeField()
    content = serializers.CharField()
    village = ComplaintVillageOutput(allow_null=True)
    location = serializers.CharField(allow_blank=True, help_text="The location as reported.")
    reporter_name = serializers.CharField(
        allow_null=True, help_text="Null unless the caller has the complaint intake role."
    )
    reporter_contact = serializers.CharField(
        allow_null=True, help_text="Null unless the caller has the complaint intake role."
    )
    reply_due = serializers.DateField()
    reply_overdue = serializers.BooleanField(help_text="Not answered and past the reply's due date (China).")
    check_visit = serializers.IntegerField(
        allow_null=True,
        help_text="The 核查 targeted visit, once every one of its inspections is closed; null before.",
    )
    result = serializers.CharField(allow_blank=True)
    reply = serializers.CharField(allow_blank=True)
    replied_at = serializers.DateTimeField(allow_null=True)
    recorded_at = serializers.DateTimeField()


class ComplaintInput(serializers.Serializer):
    source = serializers.ChoiceField(choices=Complaint.Source.choices)  # type: ignore[assignment]
    ticket_number = serializers.CharField(max_length=60)
    received_at = serializers.DateTimeField()
    content = serializers.CharField()
    village = serializers.RegexField(
        r"^\d{12}$",
        required=False,
        help_text="12-digit code of an active village of the caller's jurisdiction, when known.",
    )
    location = serializers.CharField(required=False, allow_blank=True, max_length=300)
    reporter_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    reporter_contact = serializers.CharField(required=False, allow_blank=True, max_length=200)
    reply_due = serializers.DateField(help_text="The reply's due date (China).")


class CheckInput(serializers.Serializer):
    window_start = serializers.DateTimeField(help_text="In the future.")
    window_end = serializers.DateTimeField()
    team_size = serializers.IntegerField(required=False, help_text="At least 2; 2 when left out.")
    team = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Credential numbers of a named team; left out, the team is drawn from the roster.",
    )
    named_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Why the team is named (5 characters or more)."
    )


class CheckOutput(serializers.Serializer):
    complaint = serializers.IntegerField()
    targeted_visit = serializers.IntegerField(help_text="Read it at targeted-visits/{id}/.")
    inspections = serializers.ListField(child=serializers.IntegerField())


def _reader(request: Request) -> User:
    """The caller, if they read complaints: the intake role and supervisors (superusers)."""
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated guarantees it
    if not (user.is_superuser or user.has_role(Role.COMPLAINT_INTAKE) or user.has_role(Role.SUPERVISOR)):
        raise PermissionDenied
    return user


def _visible(user: User) -> QuerySet[Complaint]:
    """The complaints of the caller's jurisdiction, with what the output reads, newest first."""
    prefix = "" if user.is_superuser else user.scope_prefix()
    if prefix is None:
        return Complaint.objects.none()
    return (
        complaints_within(prefix)
        .select_related("village", "check_visit")
        .prefetch_related("check_visit__inspections")
        .order_by("-received_at", "-id")
    )


def _output(complaint: Complaint, *, private: bool, today: Any) -> dict[str, Any]:
    village = complaint.village
    return {
        "id": complaint.pk,
        "source": complaint.source,
        "ticket_number": complaint.ticket_number,
        "received_at": complaint.received_at,
        "content": complaint.content,
        "village": {"code": village.code, "name": village.name} if village is not None else None,
        "location": complaint.location,
        "reporter_name": complaint.reporter_name if private else None,
        "reporter_contact": complaint.reporter_contact if private else None,
        "reply_due": complaint.reply_due,
        "reply_overdue": complaint.replied_at is None and complaint.reply_due < today,
        "check_visit": complaint_check_shown(complaint),
        "result": complaint.result,
        "reply": complaint.reply,
        "replied_at": complaint.replied_at,
        "recorded_at": complaint.recorded_at,
    }


class ComplaintFilter(django_filters.FilterSet):
    source = django_filters.ChoiceFilter(choices=Complaint.Source.choices)
    reply_overdue = django_filters.BooleanFilter(
        method="filter_reply_overdue", label="Not answered and past the reply's due date"
    )
    division = django_filters.CharFilter(
        field_name="village__code", lookup_expr="startswith", label="Division code prefix"
    )
    village = django_filters.CharFilter(field_name="village__code", label="Village code (12 digits)")

    class Meta:
        model = Complaint
        fields = ["source", "reply_overdue", "division", "village"]

    @extend_schema_field({"type": "boolean", "description": "Not answered and past the reply's due date"})
    def filter_reply_overdue(
        self, queryset: QuerySet[Complaint], name: str, value: bool | None
    ) -> QuerySet[Complaint]:
        if value is None:
            return queryset
        overdue = Q(replied_at__isnull=True, reply_due__lt=local_date(timezone.now()))
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


@extend_schema_view(
    get=extend_schema(tags=["complaints"], responses=ComplaintOutput(many=True)),
    post=extend_schema(tags=["complaints"], request=ComplaintInput, responses={201: ComplaintOutput}),
)
class ComplaintListView(generics.GenericAPIView[Complaint]):
    """Complaints of the caller's jurisdiction (GET: intake role and supervisors), newest first;
    a new complaint (POST: intake role only)."""

    serializer_class = ComplaintOutput
    filterset_class = ComplaintFilter
    problem_statuses = ["409"]

    def get_queryset(self) -> QuerySet[Complaint]:
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        return _visible(_reader(self.request))

    def get(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        private = can_read_reporter(request.user)
        today = local_date(timezone.now())
        data = ComplaintOutput([_output(c, private=private, today=today) for c in rows], many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def post(self, request: Request) -> Response:
        user = _reader(request)
        if not can_record(user):
            raise PermissionDenied
        data = ComplaintInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        village = None
        if values.get("village"):
            prefix = "" if user.is_superuser else user.scope_prefix()
            village = (
                Village.objects.filter(
                    code=values["village"], is_active=True, code__startswith=prefix or ""
                ).first()
                if prefix is not None
                else None
            )
            if village is None:
                raise serializers.ValidationError({"village": ["not an active village of your jurisdiction"]})
        complaint = complaint_record(
            user=user,
            source=values["source"],
            ticket_number=values["ticket_number"],
            received_at=values["received_at"],
            content=values["content"],
            reply_due=values["reply_due"],
            village=village,
            location=values.get("location", ""),
            reporter_name=values.get("reporter_name", ""),
            reporter_contact=values.get("reporter_contact", ""),
        )
        complaint = _visible(user).filter(pk=complaint.pk).first() or complaint
        today = local_date(timezone.now())
        return Response(
            ComplaintOutput(_output(complaint, private=True, today=today)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(get=extend_schema(tags=["complaints"], responses=ComplaintOutput))
class ComplaintDetailView(generics.GenericAPIView[Complaint]):
    """One complaint of the caller's jurisdiction (404 outside it)."""

    serializer_class = ComplaintOutput

    def get_queryset(self) -> QuerySet[Complaint]:
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        return _visible(_reader(self.request))

    def get(self, request: Request, pk: int) -> Response:
        complaint = self.get_queryset().filter(pk=pk).first()
        if complaint is None:
            raise Http404
        today = local_date(timezone.now())
        return Response(
            ComplaintOutput(_output(complaint, private=can_read_reporter(request.user), today=today)).data
        )


@extend_schema_view(
    post=extend_schema(tags=["complaints"], request=CheckInput, responses={201: CheckOutput}),
)
class ComplaintCheckView(generics.GenericAPIView[Complaint]):
    """Order the complaint's 核查 visit (supervisors): a targeted 举报核查 visit of its village,
    embargoed like any visit; the same service as the admin's button."""

    serializer_class = CheckOutput
    problem_statuses = ["409", "422"]

    def get_queryset(self) -> QuerySet[Complaint]:
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        return _visible(_reader(self.request))

    def post(self, request: Request, pk: int) -> Response:
        complaint = self.get_queryset().filter(pk=pk).first()
        if complaint is None:
            raise Http404
        user = _reader(request)
        if not can_order_check(user):
            raise PermissionDenied
        data = CheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        named: list[Inspector] | None = None
        if "team" in values:
            wanted = sorted(set(values["team"]))
            named = list(Inspector.objects.filter(credential_number__in=wanted))
            missing = sorted(set(wanted) - {i.credential_number for i in named})
            if missing:
                raise serializers.ValidationError(
                    {"team": [f"unknown credential numbers: {', '.join(missing)}"]}
                )
        complaint = complaint_order_check(
            complaint=complaint,
            user=user,
            window_start=values["window_start"],
            window_end=values["window_end"],
            team_size=values.get("team_size", 2),
            named_team=named,
            named_reason=values.get("named_reason", ""),
        )
        order = complaint.check_visit
        assert order is not None  # the service just ordered it
        body = {
            "complaint": complaint.pk,
            "targeted_visit": order.pk,
            "inspections": sorted(order.inspections.values_list("id", flat=True)),
        }
        return Response(CheckOutput(body).data, status=status.HTTP_201_CREATED)
