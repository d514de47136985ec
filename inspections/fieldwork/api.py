"""Field endpoints: assignments, inspection detail, check-in, findings, submission.

Creates from the field answer 201 when they create and 200 when the same UUID
and content were already received (a replay); the same UUID with different
content is 409 ``uuid_conflict``. An inspector acts only on their own team's
inspections within the visit window plus the grace period: anything else is
404, exactly as if it did not exist.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import Inspector, User
from inspections.api.fields import ClientDateTimeField
from inspections.cases.models import CaseStatus, FollowUp
from inspections.cases.selectors import case_list
from inspections.checklist.models import ProblemCategory, Severity
from inspections.common.errors import NotFound
from inspections.evidence.api_output import PhotoOutput, photo_reader_context
from inspections.evidence.models import Photo
from inspections.evidence.selectors import visible_photos
from inspections.fieldwork import services as fieldwork
from inspections.fieldwork.flags import check_in_flags_explained
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from inspections.fieldwork.selectors import (
    assignment_list,
    inspection_actionable,
    inspection_list,
    pending_photos,
)
from inspections.sampling.services import embargo_reads_record
from villages.api.serializers import VillageOutput
from villages.models import Datum, Village


def actionable_inspection(request: Request, pk: Any) -> Inspection:
    """The inspection ``pk`` if the caller may act on it now; 404 otherwise."""
    assert isinstance(request.user, User)
    try:
        inspection = inspection_actionable(user=request.user).select_related("village").get(pk=int(pk))
    except (Inspection.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound(_("No such inspection.")) from exc
    return inspection


# --- Output ------------------------------------------------------------------------------------


class VillageBriefOutput(serializers.ModelSerializer[Village]):
    location_known = serializers.SerializerMethodField(
        help_text="Whether distances to this village are measured (a confirmed or surveyed location)."
    )

    class Meta:
        model = Village
        fields = ["code", "name", "longitude", "latitude", "datum", "location_source", "location_known"]

    def get_location_known(self, village: Village) -> bool:
        return village.reference_point() is not None


class ActionableUntilField(serializers.DateTimeField):
    """When field writes to an inspection stop: its window's end plus the grace for late uploads."""

    def __init__(self) -> None:
        super().__init__(
            source="*",
            read_only=True,
            help_text="The end of the window plus the grace period for late uploads.",
        )

    def to_representation(self, value: Any) -> Any:  # the inspection itself (source="*")
        return super().to_representation(value.window_end + settings.QINGSHAN_FIELDWORK_GRACE)


class InspectionSummaryOutput(serializers.ModelSerializer[Inspection]):
    village = VillageBriefOutput()
    actionable_until = ActionableUntilField()

    class Meta:
        model = Inspection
        fields = [
            "id",
            "mode",
            "village",
            "window_start",
            "window_end",
            "actionable_until",
            "status",
            "submitted_at",
        ]


class CheckInFlagOutput(serializers.Serializer):
    code = serializers.CharField()
    explanation = serializers.CharField()


class CheckInOutput(serializers.ModelSerializer[CheckIn]):
    inspection = serializers.IntegerField(source="inspection_id")
    clock_skew_seconds = serializers.FloatField(
        help_text="Phone clock when sending (device_time) minus the server's clock on arrival."
    )
    flags = serializers.SerializerMethodField()

    class Meta:
        model = CheckIn
        fields = [
            "client_uuid",
            "inspection",
            "longitude",
            "latitude",
            "accuracy_m",
            "fixed_at",
            "device_time",
            "received_at",
            "clock_skew_seconds",
            "location_status",
            "distance_m",
            "flags",
        ]

    @extend_schema_field(CheckInFlagOutput(many=True))
    def get_flags(self, check_in: CheckIn) -> list[dict[str, str]]:
        return check_in_flags_explained(check_in)


class FindingOutput(serializers.ModelSerializer[Finding]):
    inspection = serializers.IntegerField(source="inspection_id")
    category: serializers.SlugRelatedField[ProblemCategory] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    photo_uuids = serializers.ListField(
        child=serializers.UUIDField(), help_text="The photos that show the finding (some may arrive later)."
    )
    dropped_photo_uuids = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Photos the finding named that the team dropped because they will not arrive.",
    )

    class Meta:
        model = Finding
        fields = [
            "client_uuid",
            "inspection",
            "category",
            "severity",
            "description",
            "longitude",
            "latitude",
            "datum",
            "photo_uuids",
            "dropped_photo_uuids",
            "created_at",
        ]


class InspectionDetailOutput(serializers.ModelSerializer[Inspection]):
    village = VillageBriefOutput()
    check_ins = CheckInOutput(many=True)
    findings = FindingOutput(many=True)
    photos = PhotoOutput(many=True)
    pending_photos = serializers.SerializerMethodField(
        help_text="UUIDs named by findings whose photos have not arrived: submission waits for them."
    )

    class Meta:
        model = Inspection
        fields = [
            "id",
            "mode",
            "village",
            "window_start",
            "window_end",
            "status",
            "summary",
            "submitted_at",
            "check_ins",
            "findings",
            "photos",
            "pending_photos",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_pending_photos(self, inspection: Inspection) -> list[str]:
        # From the prefetched rows: no query per finding.
        return pending_photos(
            named=[finding.photo_uuids for finding in inspection.findings.all()],
            arrived={str(photo.client_uuid) for photo in inspection.photos.all()},
        )


# --- Input -------------------------------------------------------------------------------------


class CheckInInput(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, help_text="WGS-84, as the phone's GPS gives."
    )
    latitude = serializers.FloatField(min_value=-90, max_value=90, help_text="WGS-84.")
    accuracy_m = serializers.FloatField(
        min_value=0, max_value=1e6, required=False, allow_null=True, default=None
    )
    fixed_at = ClientDateTimeField(
        required=False,
        help_text="When the phone fixed the position, with its offset (it may be long before sending). "
        "Part of the check-in's content.",
    )
    device_time = ClientDateTimeField(
        help_text="The phone's clock when sending this request, with its offset: compared with the "
        "server's for the clock skew. Not part of the idempotency comparison (it changes on each retry)."
    )


class FindingInput(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    inspection = serializers.IntegerField(min_value=1)
    category = serializers.SlugField(max_length=40, help_text="A problem category code from the checklist.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, default=None
    )
    latitude = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, default=None
    )
    datum = serializers.ChoiceField(choices=Datum.choices, required=False, default=Datum.WGS84)
    photo_uuids = serializers.ListField(
        child=serializers.UUIDField(), max_length=50, required=False, default=list
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("longitude") is None) != (attrs.get("latitude") is None):
            raise serializers.ValidationError({"latitude": "Give both longitude and latitude, or neither."})
        if len(set(attrs["photo_uuids"])) != len(attrs["photo_uuids"]):
            raise serializers.ValidationError({"photo_uuids": "A photo is named twice."})
        return attrs


class SubmitInput(serializers.Serializer):
    summary = serializers.CharField(max_length=10000)


# --- Views -------------------------------------------------------------------------------------


def detail_queryset(base: QuerySet[Inspection]) -> QuerySet[Inspection]:
    return base.select_related("village").prefetch_related(
        Prefetch("check_ins", queryset=CheckIn.objects.order_by("received_at", "id")),
        Prefetch(
            "findings", queryset=Finding.objects.select_related("category").order_by("created_at", "id")
        ),
        Prefetch("photos", queryset=Photo.objects.order_by("received_at", "id")),
    )


@extend_schema(tags=["fieldwork"])
class InspectionDetailView(generics.RetrieveAPIView[Inspection]):
    """An inspection with its check-ins, findings and photos (and their evidence flags)."""

    serializer_class = InspectionDetailOutput

    def get_queryset(self) -> QuerySet[Inspection]:
        assert isinstance(self.request.user, User)
        return detail_queryset(inspection_list(user=self.request.user))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Its photos as this caller may see them (flags, metadata); a read before submission is logged."""
        assert isinstance(request.user, User)
        inspection = self.get_object()
        embargo_reads_record(
            user=request.user, action="api:inspections:detail", path=request.path, inspections=[inspection]
        )
        context = {
            **self.get_serializer_context(),
            **photo_reader_context(request.user, inspection.photos.all()),
        }
        return Response(InspectionDetailOutput(inspection, context=context).data)


class CheckInView(APIView):
    problem_statuses = ["409"]

    @extend_schema(
        request=CheckInInput, responses={200: CheckInOutput, 201: CheckInOutput}, tags=["fieldwork"]
    )
    def post(self, request: Request, pk: int) -> Response:
        """Check in on site: WGS-84 fix, accuracy, phone time; the server adds its time and the distance."""
        inspection = actionable_inspection(request, pk)
        data = CheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        check_in, created = fieldwork.check_in_record(
            inspection=inspection, user=request.user, **data.validated_data
        )
        return Response(CheckInOutput(check_in).data, status=201 if created else 200)


class FindingCreateView(APIView):
    problem_statuses = ["404", "409"]

    @extend_schema(
        request=FindingInput, responses={200: FindingOutput, 201: FindingOutput}, tags=["fieldwork"]
    )
    def post(self, request: Request) -> Response:
        """Record a finding; photos are named by UUID and may be uploaded later."""
        data = FindingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        inspection = actionable_inspection(request, values.pop("inspection"))
        category = ProblemCategory.objects.filter(code=values.pop("category"), is_active=True).first()
        if category is None:
            raise serializers.ValidationError({"category": "No such active problem category."})
        values["severity"] = values.get("severity") or category.default_severity
        assert isinstance(request.user, User)
        finding, created = fieldwork.finding_record(
            inspection=inspection, user=request.user, category=category, **values
        )
        return Response(FindingOutput(finding).data, status=201 if created else 200)


class FindingPhotoDropView(APIView):
    problem_statuses = ["409"]

    @extend_schema(responses={200: FindingOutput}, tags=["fieldwork"])
    def delete(self, request: Request, client_uuid: UUID, photo_uuid: UUID) -> Response:
        """Drop a photo the finding names that will never arrive, so that submission can go on.

        Only a missing photo (one that has arrived is 409 photo_arrived), only by the
        team while the inspection is open; dropping it again answers 200 with the finding.
        """
        assert isinstance(request.user, User)
        finding = (
            Finding.objects.select_related("inspection", "category")
            .filter(client_uuid=client_uuid, inspection__in=inspection_actionable(user=request.user))
            .first()
        )
        if finding is None:
            raise NotFound(_("No such finding."))
        dropped = fieldwork.finding_photo_drop(finding=finding, photo_uuid=photo_uuid)
        return Response(FindingOutput(dropped).data, status=200)


class SubmitView(APIView):
    problem_statuses = ["409"]

    @extend_schema(request=SubmitInput, responses={200: InspectionSummaryOutput}, tags=["fieldwork"])
    def post(self, request: Request, pk: int) -> Response:
        """Submit with a summary; refused (409 photos_pending) while a named photo is missing."""
        inspection = actionable_inspection(request, pk)
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        submitted, _created = fieldwork.inspection_submit(
            inspection=inspection, user=request.user, summary=data.validated_data["summary"]
        )
        submitted.village = inspection.village
        return Response(InspectionSummaryOutput(submitted).data, status=200)


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
        return village.reference_point() is not None


class VisitCasePhotoOutput(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    purpose = serializers.ChoiceField(
        choices=Photo.Purpose.choices, help_text="evidence (the finding's) or after (the rectification's)."
    )
    thumbnail = serializers.CharField(help_text="The thumbnail's URL (photos/{uuid}/thumbnail/).")


class VisitCaseOutput(serializers.Serializer):
    id = serializers.IntegerField(
        help_text="The case (cases/{id}/): its verification or look-back goes there."
    )
    kind = serializers.ChoiceField(
        choices=FollowUp.Kind.choices, help_text="What the visit does for this case."
    )
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text="The case's status.")
    category = serializers.CharField(help_text="The finding's problem category code (see checklist).")
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField(help_text="The finding's description.")
    longitude = serializers.FloatField(allow_null=True, help_text="The finding's position, if it had one.")
    latitude = serializers.FloatField(allow_null=True)
    datum = serializers.CharField(help_text="The datum of the finding's position; empty without one.")
    photos = VisitCasePhotoOutput(
        many=True,
        help_text="Thumbnails of the finding's photos and of the rectification's after-photos that the "
        "inspector may see (processed ones only).",
    )


def visit_cases(*, user: User, inspections: list[Inspection]) -> dict[int, list[dict[str, Any]]]:
    """The cases each verification or look-back visit is for, as the phone is given them (two queries).

    Only cases the caller may see (``case_list``) and photos the caller may see
    (``visible_photos``), each with a thumbnail; an inspection that is no such
    visit has none.
    """
    ids = [i.pk for i in inspections if i.mode in (Inspection.Mode.VERIFICATION, Inspection.Mode.LOOK_BACK)]
    if not ids:
        return {}
    visible = case_list(user=user)
    follow_ups = list(
        FollowUp.objects.filter(inspection_id__in=ids, case__in=visible)
        .select_related("case__category", "case__finding")
        .order_by("case_id")
    )
    if not follow_ups:
        return {}
    named = {u for f in follow_ups for u in f.case.finding.photo_uuids}
    photos = (
        visible_photos(user=user, visible_cases=visible)
        .filter(
            Q(inspection_id__in=[f.case.inspection_id for f in follow_ups], client_uuid__in=named)
            | Q(case_id__in=[f.case_id for f in follow_ups])
        )
        .exclude(thumbnail="")
        .order_by("received_at", "id")
    )
    by_finding: dict[tuple[int, str], Photo] = {}
    by_case: dict[int, list[Photo]] = {}
    for photo in photos:
        if photo.case_id is not None:
            by_case.setdefault(photo.case_id, []).append(photo)
        elif photo.inspection_id is not None:
            by_finding[(photo.inspection_id, str(photo.client_uuid))] = photo
    result: dict[int, list[dict[str, Any]]] = {}
    for follow_up in follow_ups:
        case = follow_up.case
        finding = case.finding
        shown = [
            by_finding[key] for u in finding.photo_uuids if (key := (case.inspection_id, u)) in by_finding
        ]
        shown += by_case.get(case.pk, [])
        result.setdefault(follow_up.inspection_id, []).append(
            {
                "id": case.pk,
                "kind": follow_up.kind,
                "status": case.status,
                "category": case.category.code,
                "severity": case.severity,
                "description": finding.description,
                "longitude": finding.longitude,
                "latitude": finding.latitude,
                "datum": finding.datum,
                "photos": [
                    {
                        "client_uuid": p.client_uuid,
                        "purpose": p.purpose,
                        "thumbnail": reverse("photo-file", args=[p.client_uuid, "thumbnail"]),
                    }
                    for p in shown
                ],
            }
        )
    return result


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
    cases = serializers.SerializerMethodField(
        help_text="For a verification or look-back visit, the cases it is for (with what the inspector "
        "may see of their findings and photos); empty for any other visit."
    )

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
            "cases",
        ]

    @extend_schema_field(VisitCaseOutput(many=True))
    def get_cases(self, inspection: Inspection) -> list[dict[str, Any]]:
        cases: dict[int, list[dict[str, Any]]] = self.context.get("visit_cases", {})
        return VisitCaseOutput(cases.get(inspection.pk, []), many=True).data  # type: ignore[return-value]

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
        assert isinstance(request.user, User)
        embargo_reads_record(
            user=request.user, action="api:assignments:list", path=request.path, inspections=page
        )
        context = {
            **self.get_serializer_context(),
            "visit_cases": visit_cases(user=request.user, inspections=page),
        }
        return self.get_paginated_response(AssignmentOutput(page, many=True, context=context).data)


@extend_schema(tags=["assignments"])
class AssignmentDetailView(AssignmentViewMixin, generics.RetrieveAPIView[Inspection]):
    """One of the caller's open inspections; anything else is a 404."""

    serializer_class = AssignmentOutput

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        inspection = self.get_object()
        assert isinstance(request.user, User)
        embargo_reads_record(
            user=request.user, action="api:assignments:detail", path=request.path, inspections=[inspection]
        )
        context = {
            **self.get_serializer_context(),
            "visit_cases": visit_cases(user=request.user, inspections=[inspection]),
        }
        return Response(AssignmentOutput(inspection, context=context).data)
