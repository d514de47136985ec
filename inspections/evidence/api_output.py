"""How a photo is shown: its metadata, EXIF summary, evidence flags and authorised file URLs.

Shared by the evidence endpoints and the field's inspection detail
(``inspections.fieldwork.api``), which shows an inspection's photos the same
way; a module of its own, so that neither API module imports the other.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inspections.evidence.flags import photo_flags_explained
from inspections.evidence.models import Photo


class FlagOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable flag code, e.g. no_gps, far_from_village, near_duplicate.")
    explanation = serializers.CharField(help_text="Why, in words, in the caller's language.")
    facts = serializers.DictField(help_text="The figures behind the flag (distance, other photo, …).")


class PhotoOutput(serializers.ModelSerializer[Photo]):
    inspection = serializers.IntegerField(source="inspection_id", allow_null=True)
    case = serializers.IntegerField(source="case_id", allow_null=True)
    flags = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(help_text="Authorised URLs of the original and renditions.")

    class Meta:
        model = Photo
        fields = [
            "client_uuid",
            "inspection",
            "case",
            "purpose",
            "channel",
            "content_type",
            "size",
            "sha256",
            "width",
            "height",
            "received_at",
            "client_taken_at",
            "client_longitude",
            "client_latitude",
            "device_time",
            "status",
            "processed_at",
            "has_exif",
            "taken_at",
            "taken_at_local",
            "taken_at_offset",
            "gps_longitude",
            "gps_latitude",
            "gps_accuracy_m",
            "make",
            "model",
            "software",
            "distance_m",
            "flags",
            "files",
        ]

    @extend_schema_field(FlagOutput(many=True))
    def get_flags(self, photo: Photo) -> list[dict[str, Any]]:
        return photo_flags_explained(photo)

    @extend_schema_field(serializers.DictField(child=serializers.CharField(allow_null=True)))
    def get_files(self, photo: Photo) -> dict[str, str | None]:
        files: dict[str, str | None] = {}
        for kind in Photo.FILE_KINDS:
            present = bool(photo.stored_file(kind).name)
            files[kind] = reverse("photo-file", args=[photo.client_uuid, kind]) if present else None
        return files
