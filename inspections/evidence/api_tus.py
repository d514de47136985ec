"""The tus 1.0 endpoint for resumable photo uploads (core, creation, termination).

``POST uploads/`` with ``Upload-Length`` and ``Upload-Metadata`` creates an
upload; the metadata carries the same fields as the multipart form
(``client_uuid``, ``inspection`` or ``case``, ``purpose``, ``taken_at``, ``longitude``,
``latitude``, ``device_time``, ``filename``). ``HEAD uploads/{id}/`` tells the
offset, ``PATCH`` (``Content-Type: application/offset+octet-stream``,
``Upload-Offset``) appends, ``DELETE`` terminates. The last ``PATCH`` turns the
bytes into a photo exactly as ``POST photos/`` does, and answers with the
photo's URL in ``Qingshan-Photo``. Errors are problem documents like the rest
of the API, with the ``Tus-Resumable`` header on every response.
"""

from __future__ import annotations

import dataclasses
from typing import IO, Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspections.accounts.models import User
from inspections.common.errors import NotFound
from inspections.evidence import services as evidence
from inspections.evidence import tus
from inspections.evidence.api import PhotoUploadInput, photo_fields
from inspections.evidence.errors import InvalidTusHeader, TusVersionUnsupported, UnsupportedUploadMediaType
from inspections.evidence.models import Photo, Upload

TUS_HEADERS = {"Tus-Resumable": tus.TUS_VERSION}

# One named enum (components/schemas/TusResumable, SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]),
# so that clients have one type for it rather than one per operation.
_TUS_RESUMABLE_SCHEMA = {"$ref": "#/components/schemas/TusResumable"}

_RESUMABLE = OpenApiParameter(
    "Tus-Resumable",
    _TUS_RESUMABLE_SCHEMA,
    OpenApiParameter.HEADER,
    required=True,
    description="The tus version: without it (or with another) the answer is 412 tus_version_unsupported.",
)
# Response headers (OpenApiParameter with response=...): on every answer, and per status.
_RESUMABLE_ANSWERED = OpenApiParameter(
    "Tus-Resumable",
    _TUS_RESUMABLE_SCHEMA,
    OpenApiParameter.HEADER,
    response=True,
    description="On every answer of the tus endpoints, errors included.",
)
_VERSION_ANSWERED = OpenApiParameter(
    "Tus-Version",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[204, 412],
    description="The tus versions the server speaks (1.0.0): with OPTIONS, and with a 412.",
)
_OFFSET_ANSWERED = OpenApiParameter(
    "Upload-Offset",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[200, 201, 204],
    description="The bytes the server has so far: resume from here.",
)
_PHOTO_ANSWERED = OpenApiParameter(
    "Qingshan-Photo",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 204],
    description="Once the last bytes have arrived: the photo's URL (photos/{uuid}/).",
)


def _integer_header(request: Request, name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit() or len(value) > 18:
        raise InvalidTusHeader(name)
    return int(value)


class TusView(APIView):
    """Shared by both tus resources: protocol version check and headers on every response."""

    schema_extra_methods: tuple[str, ...] = ("OPTIONS",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != tus.TUS_VERSION:
            raise TusVersionUnsupported

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = tus.TUS_VERSION
        if response.status_code == 412:
            response["Tus-Version"] = tus.TUS_VERSION
        return response

    @extend_schema(
        summary="tus discovery",
        request=None,
        parameters=[
            _RESUMABLE_ANSWERED,
            _VERSION_ANSWERED,
            OpenApiParameter(
                "Tus-Extension",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[204],
                description="The tus extensions served: creation,termination.",
            ),
            OpenApiParameter(
                "Tus-Max-Size",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[204],
                description="The largest upload accepted, in bytes (QINGSHAN_PHOTO_MAX_BYTES).",
            ),
        ],
        responses={204: OpenApiResponse(description="The server's tus version, extensions and limit.")},
        tags=["evidence"],
    )
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """tus discovery: the protocol version, extensions and largest upload (no Tus-Resumable needed)."""
        return Response(
            status=204,
            headers={
                "Tus-Version": tus.TUS_VERSION,
                "Tus-Extension": tus.TUS_EXTENSIONS,
                "Tus-Max-Size": str(settings.QINGSHAN_PHOTO_MAX_BYTES),
            },
        )


class UploadCreateView(TusView):
    problem_statuses = ["409", "412", "413"]

    @extend_schema(
        parameters=[
            _RESUMABLE,
            _RESUMABLE_ANSWERED,
            _VERSION_ANSWERED,
            _OFFSET_ANSWERED,
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[201],
                description="The upload's URL: HEAD, PATCH and DELETE go there.",
            ),
            OpenApiParameter(
                "Upload-Length",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="The photo's size in bytes: at least 1 (0 is 400 upload_empty).",
            ),
            OpenApiParameter(
                "Upload-Metadata",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="tus metadata: client_uuid, inspection or case, purpose, taken_at, longitude, "
                "latitude, device_time, filename (values Base64-encoded).",
            ),
        ],
        request=None,
        responses={
            201: OpenApiResponse(
                description="Created, or created before with the same client_uuid, length and metadata "
                "(device_time and filename aside): Location is the upload's URL, Upload-Offset its true "
                "offset (the length when the photo has arrived)."
            )
        },
        tags=["evidence"],
    )
    def post(self, request: Request) -> Response:
        """Create a resumable upload (tus creation); creating it again returns the same upload."""
        assert isinstance(request.user, User)
        length = _integer_header(request, "Upload-Length")
        raw = request.headers.get("Upload-Metadata", "")
        metadata = tus.parse_metadata(raw)
        values = self._validated(request.user, metadata)
        upload, _created = tus.upload_create(
            user=request.user,
            client_uuid=values["client_uuid"],
            length=length,
            metadata=metadata,
            raw_metadata=raw,
        )
        location = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        return Response(status=201, headers={"Location": location, "Upload-Offset": str(upload.offset)})

    @staticmethod
    def _validated(user: User, metadata: dict[str, str]) -> dict[str, Any]:
        form = {key: value for key, value in metadata.items() if key in PhotoUploadInput().fields}
        form.pop("file", None)
        serializer = PhotoUploadInput(data=form)
        serializer.fields["file"].required = False
        serializer.is_valid(raise_exception=True)
        photo_fields(user, serializer.validated_data, original_name="")  # scope check: 404 if not theirs
        return dict(serializer.validated_data)


def _owned_upload(request: Request, pk: Any) -> Upload:
    upload = Upload.objects.filter(pk=pk, owner=request.user).first()  # type: ignore[misc]
    if upload is None:
        raise NotFound(_("No such upload."))
    return upload


class UploadDetailView(TusView):
    problem_statuses = ["409", "412", "413", "415", "422", "423", "503", "507"]
    schema_extra_methods = ("HEAD", "OPTIONS")

    @extend_schema(
        parameters=[
            _RESUMABLE,
            _RESUMABLE_ANSWERED,
            _VERSION_ANSWERED,
            _OFFSET_ANSWERED,
            _PHOTO_ANSWERED,
            OpenApiParameter(
                "Upload-Length",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[200],
                description="The upload's length, as created.",
            ),
            OpenApiParameter(
                "Upload-Metadata",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description="The metadata as created, when there was any.",
            ),
            OpenApiParameter(
                "Cache-Control", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], enum=["no-store"]
            ),
        ],
        responses={200: OpenApiResponse(description="The offset is in Upload-Offset; there is no body.")},
        tags=["evidence"],
    )
    def head(self, request: Request, pk: str) -> Response:
        """The upload's offset (tus core)."""
        upload = _owned_upload(request, pk)
        headers = {
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
        }
        if upload.raw_metadata:
            headers["Upload-Metadata"] = upload.raw_metadata
        if upload.photo_id is not None:
            headers["Qingshan-Photo"] = reverse("photo-detail", args=[upload.client_uuid])
        return Response(status=200, headers=headers)

    @extend_schema(
        parameters=[
            _RESUMABLE,
            OpenApiParameter(
                "Upload-Offset",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="Where these bytes go: the offset HEAD (or the last PATCH) answered.",
            ),
            _RESUMABLE_ANSWERED,
            _VERSION_ANSWERED,
            _OFFSET_ANSWERED,
            _PHOTO_ANSWERED,
        ],
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        responses={
            204: OpenApiResponse(
                description="Appended; the new offset is in Upload-Offset. On an upload whose photo has "
                "arrived, any PATCH below the length is read and dropped, and Upload-Offset is the length."
            )
        },
        tags=["evidence"],
    )
    def patch(self, request: Request, pk: str) -> Response:
        """Append bytes at Upload-Offset (tus core); the last bytes make the photo."""
        assert isinstance(request.user, User)
        user = request.user
        upload = _owned_upload(request, pk)
        if request.content_type.split(";")[0].strip() != "application/offset+octet-stream":
            raise UnsupportedUploadMediaType
        offset = _integer_header(request, "Upload-Offset")
        announced = request.META.get("CONTENT_LENGTH") or ""
        content_length = int(announced) if announced.isdigit() else None
        django_request = request._request

        def finish(done: Upload, staged: IO[bytes]) -> Photo:
            values = self._metadata_values(done)
            fields = photo_fields(user, values, original_name=done.metadata.get("filename", ""))
            # The clock reading came with the creation, perhaps hours before these last bytes.
            fields = dataclasses.replace(fields, device_time_received_at=done.created_at)
            photo, _created = evidence.photo_receive(
                user=user, file=staged, size=done.length, fields=fields, channel=Photo.Channel.TUS
            )
            return photo

        upload = tus.upload_append(
            upload=upload,
            offset=offset,
            read=django_request.read,
            content_length=content_length,
            finish=finish,
        )
        headers = {"Upload-Offset": str(upload.offset)}
        if upload.photo_id is not None:
            headers["Qingshan-Photo"] = reverse("photo-detail", args=[upload.client_uuid])
        return Response(status=204, headers=headers)

    @staticmethod
    def _metadata_values(upload: Upload) -> dict[str, Any]:
        form = {key: value for key, value in upload.metadata.items() if key in PhotoUploadInput().fields}
        serializer = PhotoUploadInput(data=form)
        serializer.fields["file"].required = False
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(
        parameters=[_RESUMABLE, _RESUMABLE_ANSWERED, _VERSION_ANSWERED],
        responses={204: OpenApiResponse(description="Terminated.")},
        tags=["evidence"],
    )
    def delete(self, request: Request, pk: str) -> Response:
        """Terminate the upload and discard its bytes (tus termination). A finished photo stays."""
        tus.upload_terminate(upload=_owned_upload(request, pk))
        return Response(status=204)
