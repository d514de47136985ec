"""Photo endpoints: multipart upload, metadata with evidence flags, and authorised file views.

Originals and renditions have no public URL: every byte goes through
:class:`PhotoFileView`, which checks the caller against the embargo rule (and,
for originals, against :func:`~inspections.evidence.policies.may_see_original`).
A file the caller may not have is a 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import User
from inspections.api.fields import ClientDateTimeField
from inspections.api.parsers import MultiPartParser
from inspections.api.renderers import file_renderers
from inspections.cases.selectors import case_list
from inspections.common.errors import NotFound
from inspections.evidence import services as evidence
from inspections.evidence.api_output import PhotoOutput, photo_reader_context, photo_sender_context
from inspections.evidence.imaging import ACCEPTED_TYPES
from inspections.evidence.models import Photo
from inspections.evidence.policies import may_see_file, photographable_inspection, rectifiable_case
from inspections.evidence.selectors import visible_photos
from inspections.evidence.storage import incoming_handler, stored_file_open
from inspections.sampling.services import embargo_reads_record


class PhotoUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, help_text="JPEG, HEIC/HEIF, PNG or WebP.")
    client_uuid = serializers.UUIDField()
    inspection = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The inspection the photo is evidence of (the inspector's path). Give this or case.",
    )
    case = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The case a rectification after-photo belongs to (the responsible party's path); "
        "purpose is then after.",
    )
    purpose = serializers.ChoiceField(
        choices=Photo.Purpose.choices,
        default=Photo.Purpose.EVIDENCE,
        help_text="evidence by default; after (and only after) for a case's photos.",
    )
    taken_at = ClientDateTimeField(required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, default=None
    )
    latitude = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, default=None
    )
    device_time = ClientDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The phone's clock when sending this request (not when the photo was taken: that is "
        "taken_at), compared with the server's for the clock skew; not part of the idempotency comparison.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("longitude") is None) != (attrs.get("latitude") is None):
            raise serializers.ValidationError({"latitude": "Give both longitude and latitude, or neither."})
        if (attrs.get("inspection") is None) == (attrs.get("case") is None):
            raise serializers.ValidationError({"inspection": "Give exactly one of inspection and case."})
        if attrs.get("case") is not None:
            given = self.initial_data.get("purpose") if hasattr(self, "initial_data") else None
            if given and given != Photo.Purpose.AFTER:
                raise serializers.ValidationError({"purpose": "A case's photos are after-photos."})
            attrs["purpose"] = Photo.Purpose.AFTER
        return attrs


def photo_fields(user: User, values: dict[str, Any], *, original_name: str) -> evidence.PhotoFields:
    """The service's view of the upload fields; 404 unless the caller may act on the inspection or case."""
    inspection = None
    case = None
    if values.get("case") is not None:
        case = rectifiable_case(user, values["case"])
    else:
        inspection = photographable_inspection(user, values["inspection"])
    return evidence.PhotoFields(
        client_uuid=values["client_uuid"],
        inspection=inspection,
        case=case,
        purpose=values.get("purpose") or Photo.Purpose.EVIDENCE,
        original_name=original_name,
        client_taken_at=values.get("taken_at"),
        client_longitude=values.get("longitude"),
        client_latitude=values.get("latitude"),
        device_time=values.get("device_time"),
    )


class PhotoMultiPartParser(MultiPartParser):
    """The API's multipart parser, the file part going straight to the media disk's temporary file.

    :func:`~inspections.evidence.storage.incoming_handler`: hashed as it is written, one pass
    over the bytes instead of Django's upload file and then a copy. On object storage,
    Django's upload handlers.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        handler = incoming_handler()
        if handler is not None:
            (parser_context or {})["request"].upload_handlers = [handler]
        return super().parse(stream, media_type, parser_context)


class PhotoUploadView(APIView):
    parser_classes = [PhotoMultiPartParser]
    problem_statuses = ["404", "409", "413", "415", "422", "503", "507"]

    @extend_schema(
        request={"multipart/form-data": PhotoUploadInput},
        responses={200: PhotoOutput, 201: PhotoOutput},
        tags=["evidence"],
    )
    def post(self, request: Request) -> Response:
        """Upload a photo in one request. Processing (EXIF, renditions, flags) follows in the background."""
        # Refuse an oversized body before Django spools it to disk.
        announced = request.META.get("CONTENT_LENGTH") or "0"
        if announced.isdigit() and int(announced) > settings.QINGSHAN_PHOTO_MAX_BYTES + 64 * 1024:
            evidence.photo_check_size(int(announced))
        data = PhotoUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        upload = data.validated_data["file"]
        fields = photo_fields(request.user, data.validated_data, original_name=upload.name or "")
        photo, created = evidence.photo_receive(
            user=request.user, file=upload, size=upload.size, fields=fields, channel=Photo.Channel.MULTIPART
        )
        # A new photo's context is known (the sender may see it whole, no flags yet); a replay's is read.
        context = photo_sender_context(photo) if created else photo_reader_context(request.user, [photo])
        return Response(PhotoOutput(photo, context=context).data, status=201 if created else 200)


def visible_photo(request: Request, client_uuid: Any) -> Photo:
    """The photo if the caller may see it; 404 otherwise."""
    user = request.user
    assert isinstance(user, User)
    photo = (
        visible_photos(user=user, visible_cases=case_list(user=user))
        .select_related("inspection__village", "case__village")
        .filter(client_uuid=client_uuid)
        .first()
    )
    if photo is None:
        raise NotFound(_("No such photo."))
    return photo


def photo_read_record(request: Request, photo: Photo, *, action: str) -> None:
    """Log the read of a photo of an unsubmitted inspection (one query; nothing for a case's)."""
    if photo.inspection is not None:
        embargo_reads_record(
            user=request.user, action=action, path=request.path, inspections=[photo.inspection]
        )


class PhotoDetailView(APIView):
    @extend_schema(responses=PhotoOutput, tags=["evidence"])
    def get(self, request: Request, client_uuid: str) -> Response:
        """A photo's metadata, EXIF summary, processing status and evidence flags."""
        # The file's metadata (GPS, capture time, device) and the original's URL go only to
        # those who may see the original; flags say only what the caller may see.
        assert isinstance(request.user, User)
        photo = visible_photo(request, client_uuid)
        photo_read_record(request, photo, action="api:photos:detail")
        return Response(PhotoOutput(photo, context=photo_reader_context(request.user, [photo])).data)


class PhotoFileView(APIView):
    # An image loader asks for ``Accept: image/jpeg`` or ``image/*``: each type is acceptable.
    renderer_classes = file_renderers(ACCEPTED_TYPES)

    @extend_schema(
        # Renditions are JPEG; an original is in the type it was received in.
        responses={(200, media): OpenApiResponse(OpenApiTypes.BINARY) for media in ACCEPTED_TYPES},
        parameters=[OpenApiParameter("format", exclude=True)],  # the Accept header chooses
        tags=["evidence"],
        operation_id="photos_file_retrieve",
    )
    def get(self, request: Request, client_uuid: str, kind: str) -> FileResponse:
        """The original as received, or a rendition (JPEG without EXIF or GPS), to authorised callers."""
        photo = visible_photo(request, client_uuid)
        assert isinstance(request.user, User)
        if not may_see_file(request.user, photo, kind):
            raise NotFound(_("No such file."))
        field = photo.stored_file(kind)
        if not field.name:
            raise NotFound(_("This rendition does not exist (yet)."))
        photo_read_record(request, photo, action="api:photos:file")
        content_type = photo.content_type if kind == "original" else "image/jpeg"
        response = FileResponse(
            stored_file_open(field),
            content_type=content_type,
            as_attachment=kind == "original",
            filename=f"{photo.client_uuid}-{kind}" if kind != "original" else field.name.rsplit("/", 1)[-1],
        )
        response["Cache-Control"] = "private, no-store"
        return response
