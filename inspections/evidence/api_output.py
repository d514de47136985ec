"""How a photo is shown: its metadata, EXIF summary, evidence flags and authorised file URLs.

Shared by the evidence endpoints and the field's inspection detail
(``inspections.fieldwork.api``), which shows an inspection's photos the same
way; a module of its own, so that neither API module imports the other.

What a photo shows depends on its reader: build the serializer's context
with :func:`photo_reader_context` (one reader, the photos shown). Without it
a photo shows neither flags nor metadata: nothing is said by default.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inspections.accounts.models import User
from inspections.cases.selectors import case_list
from inspections.evidence.flags import photo_flags_for_reader
from inspections.evidence.models import Photo
from inspections.evidence.policies import originals_visible
from inspections.evidence.selectors import visible_photos

# What the original's metadata and the phone's report say (GPS, capture time,
# device): shown only to readers who may see the original. The empty value
# each shows otherwise, as when the file does not say.
METADATA_FIELDS: dict[str, Any] = {
    "client_taken_at": None,
    "client_longitude": None,
    "client_latitude": None,
    "device_time": None,
    "taken_at": None,
    "taken_at_local": "",
    "taken_at_offset": "",
    "gps_longitude": None,
    "gps_latitude": None,
    "gps_accuracy_m": None,
    "make": "",
    "model": "",
    "software": "",
    "distance_m": None,
}


def photo_reader_context(user: User, photos: Iterable[Photo]) -> dict[str, Any]:
    """The serializer context for showing ``photos`` to ``user``: their flags and whose metadata.

    A few queries whatever the number of photos: who may see the originals
    (per inspection or case), and the photos their duplicate flags name.
    """
    photos = list(photos)
    originals = originals_visible(user, photos)
    flags = photo_flags_for_reader(
        photos,
        visible=visible_photos(user=user, visible_cases=case_list(user=user)),
        originals=originals,
    )
    return {"photo_flags": flags, "photo_originals": originals}


def photo_sender_context(photo: Photo) -> dict[str, Any]:
    """The serializer context for a photo just received, shown to whoever sent it; no query.

    What :func:`photo_reader_context` would find, known without asking: the
    sender passed :func:`~inspections.evidence.policies.photographable_inspection`
    (on the team) or :func:`~inspections.evidence.policies.rectifiable_case` (the
    case's responsible party), each of which may see the original; and a photo
    not processed yet has no flags. Only for a photo created by this request:
    a replay's photo may be processed and flagged since.
    """
    assert photo.status == Photo.Status.RECEIVED and not photo.flags
    return {"photo_flags": {photo.pk: []}, "photo_originals": {photo.pk}}


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

    # The fields a ModelSerializer derives from the model are the same for every photo and
    # reader: built once per class (a few milliseconds), then each serializer binds copies.
    _built_fields: ClassVar[dict[str, serializers.Field[Any, Any, Any, Any]] | None] = None

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        # Shallow copies: binding (name, parent) is per serializer; what the fields hold is not.
        return {name: copy.copy(field) for name, field in built.items()}

    @extend_schema_field(FlagOutput(many=True))
    def get_flags(self, photo: Photo) -> list[dict[str, Any]]:
        flags: dict[int, list[dict[str, Any]]] = self.context.get("photo_flags", {})
        return flags.get(photo.pk, [])

    def to_representation(self, instance: Photo) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.pk not in self.context.get("photo_originals", ()):
            data.update(METADATA_FIELDS)
            data["files"]["original"] = None
        return data

    @extend_schema_field(serializers.DictField(child=serializers.CharField(allow_null=True)))
    def get_files(self, photo: Photo) -> dict[str, str | None]:
        files: dict[str, str | None] = {}
        for kind in Photo.FILE_KINDS:
            present = bool(photo.stored_file(kind).name)
            files[kind] = reverse("photo-file", args=[photo.client_uuid, kind]) if present else None
        return files
