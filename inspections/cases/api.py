"""Cases over the API: list and detail (with the timeline), acknowledgement,
rectification, and the results of verification and look-back visits.

Every view starts from :func:`inspections.cases.selectors.case_list`, so a
case the caller may not see is a 404, whatever the action. Every status
change is the service's: the views only read input and write output.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import User
from inspections.api.renderers import file_renderers
from inspections.cases.errors import CaseNotHandedOver
from inspections.cases.flags import after_photo_flags_explained
from inspections.cases.models import (
    Case,
    CaseEvent,
    CaseNotification,
    CaseQuerySet,
    CaseStage,
    CaseStatus,
    ExtensionRequest,
    FollowUp,
    Rectification,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.extensions import extension_request
from inspections.cases.services.handover import case_receive, case_submit_measures
from inspections.cases.services.handover_sheet import handover_sheet_filename, handover_sheet_pdf
from inspections.cases.services.problem_list import (
    case_stage_complete,
    responsible_unit_code,
    responsible_unit_name,
)
from inspections.cases.services.rectification import rectification_submit
from inspections.cases.services.rectification_sheet import (
    rectification_sheet_filename,
    rectification_sheet_pdf,
)
from inspections.cases.services.review import is_handed_over
from inspections.cases.services.status import case_start_rectifying
from inspections.cases.services.visits import follow_up_record_result
from inspections.checklist.models import Severity
from inspections.common.china_time import local_date

# --- Output --------------------------------------------------------------------------


class CodeNameOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CaseListOutput(serializers.ModelSerializer[Case]):
    category = CodeNameOutput()
    village = CodeNameOutput()
    inspection = serializers.IntegerField(source="inspection_id")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "status",
            "category",
            "severity",
            "village",
            "inspection",
            "opened_at",
            "deadline",
            "deadline_working_days",
            "deadline_warning",
            "overdue",
            "escalation_level",
            "reopen_count",
            "is_relapse",
            "is_false_rectification",
            "closed_at",
            "received_at",
        ]

    def get_overdue(self, case: Case) -> bool:
        return case.is_overdue(self.context["today"])


class ActorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CaseEventOutput(serializers.ModelSerializer[CaseEvent]):
    actor = ActorOutput(allow_null=True)
    evidence = serializers.DictField()

    class Meta:
        model = CaseEvent
        fields = [
            "seq",
            "kind",
            "created_at",
            "actor",
            "from_status",
            "to_status",
            "escalation_level",
            "note",
            "evidence",
            "hash",
        ]


class RectificationOutput(serializers.ModelSerializer[Rectification]):
    photo_uuids = serializers.ListField(child=serializers.UUIDField())
    flags = serializers.ListField(child=serializers.DictField())
    case = serializers.IntegerField(source="case_id")
    case_status = serializers.CharField(source="case.status")

    class Meta:
        model = Rectification
        fields = ["client_uuid", "case", "case_status", "description", "photo_uuids", "flags", "created_at"]

    def to_representation(self, instance: Rectification) -> dict[str, Any]:
        """The stored flags (code and facts), each with ``detail`` explained in the reader's language."""
        data: dict[str, Any] = super().to_representation(instance)
        data["flags"] = after_photo_flags_explained(instance.flags)
        return data


class CaseFindingOutput(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    description = serializers.CharField()
    longitude = serializers.FloatField(allow_null=True)
    latitude = serializers.FloatField(allow_null=True)
    datum = serializers.CharField()
    photo_uuids = serializers.ListField(child=serializers.UUIDField())


class ResponsibleUnitOutput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["division", "village"],
        help_text="A division over the village (its township), or the village.",
    )
    code = serializers.CharField()
    name = serializers.CharField()


class ResponsiblePersonOutput(serializers.Serializer):
    name = serializers.CharField()
    post = serializers.CharField()
    account = serializers.IntegerField(
        allow_null=True, help_text="The person's account id, if they have one."
    )


class CaseStageOutput(serializers.ModelSerializer[CaseStage]):
    overdue = serializers.SerializerMethodField(
        help_text="Past its due date and not done while the rectification is owed."
    )

    class Meta:
        model = CaseStage
        fields = ["seq", "description", "due_date", "completed_at", "completion_note", "overdue"]

    def get_overdue(self, stage: CaseStage) -> bool:
        return stage.is_overdue(self.context["today"], case_status=self.context["case_status"])


class CaseDetailOutput(CaseListOutput):
    finding = CaseFindingOutput()
    timeline = CaseEventOutput(many=True, source="events")
    rectifications = RectificationOutput(many=True)
    responsible_unit = serializers.SerializerMethodField()
    responsible_department = serializers.CharField(
        source="responsible_department.name", allow_null=True, default=None
    )
    responsible_person = serializers.SerializerMethodField()
    stages = serializers.SerializerMethodField()
    handover_sheet = serializers.SerializerMethodField(help_text="Where to download the 交办单 (PDF).")

    class Meta(CaseListOutput.Meta):
        fields = [
            *CaseListOutput.Meta.fields,
            "finding",
            "responsible_unit",
            "responsible_department",
            "responsible_person",
            "measures",
            "measures_submitted_at",
            "stages",
            "handover_sheet",
            "rectifications",
            "timeline",
        ]

    @extend_schema_field(ResponsibleUnitOutput)
    def get_responsible_unit(self, case: Case) -> dict[str, str]:
        kind = "division" if case.responsible_division_id is not None else "village"
        return {"kind": kind, "code": responsible_unit_code(case), "name": responsible_unit_name(case)}

    @extend_schema_field(ResponsiblePersonOutput)
    def get_responsible_person(self, case: Case) -> dict[str, Any]:
        return {
            "name": case.responsible_person_name,
            "post": case.responsible_person_post,
            "account": case.responsible_person_id,
        }

    @extend_schema_field(CaseStageOutput(many=True))
    def get_stages(self, case: Case) -> Any:
        context = {**self.context, "case_status": case.status}
        return CaseStageOutput(case.stages.all(), many=True, context=context).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_handover_sheet(self, case: Case) -> str | None:
        if not is_handed_over(case):
            return None
        return reverse("case-handover-sheet", kwargs={"pk": case.pk})


class FollowUpResultOutput(serializers.ModelSerializer[FollowUp]):
    case = serializers.IntegerField(source="case_id")
    case_status = serializers.CharField(source="case.status")
    client_uuid = serializers.UUIDField(source="result_uuid")
    note = serializers.CharField(source="result_note")
    photo_uuids = serializers.ListField(child=serializers.UUIDField(), source="result_photo_uuids")

    class Meta:
        model = FollowUp
        fields = ["client_uuid", "case", "case_status", "kind", "result", "note", "photo_uuids", "result_at"]


# --- Input ---------------------------------------------------------------------------


class AcknowledgeInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RectificationInput(serializers.Serializer):
    client_uuid = serializers.UUIDField(help_text="Generated on the phone; replaying it is safe.")
    description = serializers.CharField(max_length=5000)
    photo_uuids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=50,
        help_text="Client UUIDs of the after-photos, uploaded through photos/ (before or after this call).",
    )


class VisitResultInput(serializers.Serializer):
    client_uuid = serializers.UUIDField(help_text="Generated on the phone; replaying it is safe.")
    result = serializers.ChoiceField(choices=[FollowUp.Result.PASSED, FollowUp.Result.FAILED])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    photo_uuids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=50
    )
    false_rectification = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "With a failed result: the rectification reported was never really done (虚假整改), "
            "counted apart from a relapse (返黑返臭) after a real fix."
        ),
    )


# --- Views ----------------------------------------------------------------------------


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    category = django_filters.CharFilter(field_name="category__code", label="Problem category code")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Past the deadline and not rectified"
    )
    division = django_filters.CharFilter(
        field_name="village__code",
        lookup_expr="startswith",
        label="Division code prefix (2, 4, 6 or 9 digits)",
    )
    village = django_filters.CharFilter(field_name="village__code", label="Village code (12 digits)")
    escalation_level = django_filters.NumberFilter()

    class Meta:
        model = Case
        fields = ["status", "category", "severity", "overdue", "division", "village", "escalation_level"]

    @extend_schema_field({"type": "boolean", "description": "Past the deadline and not rectified"})
    def filter_overdue(self, queryset: CaseQuerySet, name: str, value: bool | None) -> CaseQuerySet:
        if value is None:
            return queryset
        today = local_date(timezone.now())
        return queryset.overdue(today) if value else queryset.not_overdue(today)


def _caller(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated guarantees it
    return request.user


class CaseContextMixin(generics.GenericAPIView[Case]):
    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()
        context["today"] = local_date(timezone.now())
        return context


@extend_schema_view(get=extend_schema(tags=["cases"]))
class CaseListView(CaseContextMixin, generics.ListAPIView[Case]):
    """Cases the caller may see, newest first.

    Responsible parties see their jurisdiction's cases (which exist only once
    an inspection is submitted); inspectors the cases of their inspections and
    of the verification and look-back visits they were drawn for.
    """

    serializer_class = CaseListOutput
    filterset_class = CaseFilter

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()  # schema generation: no caller
        return (
            case_list(user=_caller(self.request))
            .select_related("category", "village")
            .order_by("-opened_at", "-id")
        )


@extend_schema_view(get=extend_schema(tags=["cases"]))
class CaseDetailView(CaseContextMixin, generics.RetrieveAPIView[Case]):
    """One case with its finding, rectifications and timeline (every event, in order)."""

    serializer_class = CaseDetailOutput

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        return (
            case_list(user=_caller(self.request))
            .select_related(
                "category",
                "village",
                "finding",
                "responsible_division",
                "responsible_village",
                "responsible_department",
            )
            .prefetch_related(
                Prefetch("stages", queryset=CaseStage.objects.order_by("seq")),
                Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("seq")),
                Prefetch(
                    "rectifications", queryset=Rectification.objects.select_related("case").order_by("id")
                ),
            )
        )


def _visible_case(request: Request, pk: int) -> Case:
    return generics.get_object_or_404(
        case_list(user=_caller(request)).select_related("category", "village", "finding"), pk=pk
    )


def _detail(request: Request, pk: int, *, status_code: int = 200) -> Response:
    view = CaseDetailView(request=request, kwargs={"pk": pk}, format_kwarg=None)
    case = view.get_object()
    return Response(CaseDetailOutput(case, context=view.get_serializer_context()).data, status=status_code)


class CaseAcknowledgeView(APIView):
    """The responsible party starts rectifying: the case moves from open to rectifying."""

    problem_statuses = ["409"]

    @extend_schema(request=AcknowledgeInput, responses=CaseDetailOutput, tags=["cases"])
    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_start_rectifying(case=case, actor=_caller(request), note=data.validated_data["note"])
        return _detail(request, pk)


class RectificationCreateView(APIView):
    """Submit a rectification with after-photos; the case then awaits verification.

    Idempotent by ``client_uuid``: the same UUID with the same content answers
    200 with the first rectification, with different content 409
    ``uuid_conflict``. A case that cannot take a rectification now answers
    409 ``case_transition_not_allowed``.
    """

    problem_statuses = ["409"]

    @extend_schema(
        request=RectificationInput,
        responses={201: RectificationOutput, 200: RectificationOutput},
        tags=["cases"],
    )
    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = RectificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        rectification, created = rectification_submit(
            case=case,
            actor=_caller(request),
            client_uuid=data.validated_data["client_uuid"],
            description=data.validated_data["description"],
            photo_uuids=[str(u) for u in data.validated_data["photo_uuids"]],
        )
        rectification = Rectification.objects.select_related("case").get(pk=rectification.pk)
        return Response(
            RectificationOutput(rectification).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ExtensionInput(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    reason = serializers.CharField(max_length=2000)
    proposed_deadline = serializers.DateField(help_text="The later deadline asked for (China's date).")


class ExtensionOutput(serializers.ModelSerializer[ExtensionRequest]):
    case = serializers.IntegerField(source="case_id")

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "client_uuid",
            "case",
            "reason",
            "current_deadline",
            "proposed_deadline",
            "status",
            "decided_at",
            "decision_note",
            "created_at",
        ]


class ExtensionCreateView(APIView):
    """The responsible party asks for an extension (延期) with a reason and a proposed date.

    The level that assigned the problem approves or rejects it (in the admin);
    both are events on the timeline. Idempotent by ``client_uuid``: the same
    request again answers 200 with the first, different content under it 409
    ``uuid_conflict``. 409 ``extension_pending`` while another awaits a
    decision, ``extension_not_allowed`` unless a rectification is owed; 422
    ``extension_not_later`` for a date not after the deadline.
    """

    problem_statuses = ["409", "422"]

    @extend_schema(
        request=ExtensionInput,
        responses={201: ExtensionOutput, 200: ExtensionOutput},
        tags=["cases"],
    )
    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = ExtensionInput(data=request.data)
        data.is_valid(raise_exception=True)
        asked, created = extension_request(
            case=case,
            actor=_caller(request),
            client_uuid=data.validated_data["client_uuid"],
            reason=data.validated_data["reason"],
            proposed_deadline=data.validated_data["proposed_deadline"],
        )
        return Response(
            ExtensionOutput(asked).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class VisitResultView(APIView):
    kind: str = FollowUp.Kind.VERIFICATION
    problem_statuses = ["409"]

    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = VisitResultInput(data=request.data)
        data.is_valid(raise_exception=True)
        client_uuid: uuid.UUID = data.validated_data["client_uuid"]
        follow_up, created = follow_up_record_result(
            case=case,
            kind=self.kind,
            actor=_caller(request),
            client_uuid=client_uuid,
            passed=data.validated_data["result"] == FollowUp.Result.PASSED,
            note=data.validated_data["note"],
            photo_uuids=[str(u) for u in data.validated_data["photo_uuids"]],
            false_rectification=data.validated_data["false_rectification"],
        )
        follow_up = FollowUp.objects.select_related("case").get(pk=follow_up.pk)
        return Response(
            FollowUpResultOutput(follow_up).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    post=extend_schema(
        request=VisitResultInput,
        responses={201: FollowUpResultOutput, 200: FollowUpResultOutput},
        tags=["cases"],
        description=(
            "The result of the verification visit, by the inspector drawn for it: `passed` closes the case "
            "(销号), `failed` sends it back to rectifying with a new deadline. Idempotent by `client_uuid`."
        ),
    )
)
class VerificationView(VisitResultView):
    kind = FollowUp.Kind.VERIFICATION


@extend_schema_view(
    post=extend_schema(
        request=VisitResultInput,
        responses={201: FollowUpResultOutput, 200: FollowUpResultOutput},
        tags=["cases"],
        description=(
            "The result of a look-back visit (回头看): `failed` means a relapse and reopens the case, "
            "marked as a relapse. Idempotent by `client_uuid`."
        ),
    )
)
class LookBackView(VisitResultView):
    kind = FollowUp.Kind.LOOK_BACK


# --- 交办: the sheet, the receipt (签收), the measures (整改措施), the stages, the notices -----------


class ReceiptInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class MeasuresInput(serializers.Serializer):
    measures = serializers.CharField(
        max_length=10000, help_text="The responsible party's rectification plan."
    )


class StageCompleteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class HandoverSheetView(APIView):
    """The 交办单 of a handed-over problem as a one-page PDF, to whoever may see the problem.

    409 ``case_not_handed_over`` while the problem awaits review (or was voided or merged).
    """

    problem_statuses = ["409"]
    renderer_classes = file_renderers(["application/pdf"])

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
        parameters=[OpenApiParameter("format", exclude=True)],  # the Accept header chooses
        tags=["cases"],
        operation_id="cases_handover_sheet_retrieve",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        case = _visible_case(request, pk)
        if not is_handed_over(case):
            raise CaseNotHandedOver()
        response = HttpResponse(
            handover_sheet_pdf(case=case, now=timezone.now()), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{handover_sheet_filename(case)}"'
        response["Cache-Control"] = "private, no-store"
        return response


class RectificationSheetView(APIView):
    """The 问题整改单 of a problem as a one-page PDF, to whoever may see the problem: the problem,
    its 交办 and time limit, the evidence photos the caller may see (thumbnails with their SHA-256)
    and the timeline."""

    renderer_classes = file_renderers(["application/pdf"])

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
        parameters=[OpenApiParameter("format", exclude=True)],  # the Accept header chooses
        tags=["cases"],
        operation_id="cases_rectification_sheet_retrieve",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        case = _visible_case(request, pk)
        response = HttpResponse(
            rectification_sheet_pdf(case=case, viewer=_caller(request), now=timezone.now()),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = f'attachment; filename="{rectification_sheet_filename(case)}"'
        response["Cache-Control"] = "private, no-store"
        return response


class CaseReceiptView(APIView):
    """The responsible party acknowledges receipt (签收) of a handed-over problem, once.

    201 the first time, 200 with the same problem on a replay (nothing is
    written again). 403 ``permission_denied`` to anyone but the responsible
    party, 409 ``case_not_handed_over`` before 交办.
    """

    problem_statuses = ["409"]

    @extend_schema(
        request=ReceiptInput,
        responses={201: CaseDetailOutput, 200: CaseDetailOutput},
        tags=["cases"],
        operation_id="cases_receipt_create",
    )
    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        _case, created = case_receive(case=case, actor=_caller(request), note=data.validated_data["note"])
        return _detail(request, pk, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CaseMeasuresView(APIView):
    """The responsible party submits, or revises, its rectification measures (整改措施).

    After 签收 (409 ``case_not_received``), while the rectification is owed
    (409 ``measures_not_allowed``); the same text again writes nothing.
    """

    problem_statuses = ["409"]

    @extend_schema(
        request=MeasuresInput,
        responses=CaseDetailOutput,
        tags=["cases"],
        operation_id="cases_measures_create",
    )
    def post(self, request: Request, pk: int) -> Response:
        case = _visible_case(request, pk)
        data = MeasuresInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_submit_measures(case=case, actor=_caller(request), measures=data.validated_data["measures"])
        return _detail(request, pk)


class CaseStageCompleteView(APIView):
    """The responsible party reports a stage of a long-term problem done; a replay changes nothing.

    409 ``stage_not_allowed`` unless the rectification is owed.
    """

    problem_statuses = ["409"]

    @extend_schema(
        request=StageCompleteInput,
        responses=CaseDetailOutput,
        tags=["cases"],
        operation_id="cases_stages_complete_create",
    )
    def post(self, request: Request, pk: int, seq: int) -> Response:
        case = _visible_case(request, pk)
        generics.get_object_or_404(CaseStage.objects.filter(case=case), seq=seq)
        data = StageCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_stage_complete(case=case, seq=seq, actor=_caller(request), note=data.validated_data["note"])
        return _detail(request, pk)


class NotificationCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    deadline = serializers.DateField()
    village = CodeNameOutput()
    category = CodeNameOutput()


class NotificationOutput(serializers.ModelSerializer[CaseNotification]):
    case = NotificationCaseOutput()

    class Meta:
        model = CaseNotification
        fields = ["id", "kind", "level", "case", "created_at", "emailed_at", "read_at"]


class NotificationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CaseNotification.Kind.choices)

    class Meta:
        model = CaseNotification
        fields = ["kind"]


@extend_schema_view(get=extend_schema(tags=["cases"]))
class NotificationListView(generics.ListAPIView[CaseNotification]):
    """The caller's own notices, newest first: problems handed over (交办) to their unit, escalations.

    Only notices of problems the caller may still see.
    """

    serializer_class = NotificationOutput
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[CaseNotification]:
        if getattr(self, "swagger_fake_view", False):
            return CaseNotification.objects.none()
        caller = _caller(self.request)
        return (
            CaseNotification.objects.filter(recipient=caller, case__in=case_list(user=caller).values("pk"))
            .select_related("case__village", "case__category")
            .order_by("-created_at", "-id")
        )
