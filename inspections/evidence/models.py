"""Photo evidence and the resumable uploads it may arrive through.

A photo's original is kept exactly as received (its SHA-256 is over those
bytes) and is never rewritten; what the API and the admin show are renditions
re-encoded without any EXIF or GPS. Forensics (EXIF summary, perceptual hash,
distance to the village, flags with their explanations) are filled in by the
``inspections.photo_process`` task after the photo is received.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.fieldwork.models import Inspection
from villages.models import Village

# The `length` lookup on CharField is registered by villages.models.


class Photo(models.Model):
    class Purpose(models.TextChoices):
        EVIDENCE = "evidence", _("evidence")
        BEFORE = "before", _("before rectification")
        AFTER = "after", _("after rectification")

    class Channel(models.TextChoices):
        MULTIPART = "multipart", _("multipart upload")
        TUS = "tus", _("resumable upload (tus)")

    class Status(models.TextChoices):
        RECEIVED = "received", _("received, awaiting processing")
        READY = "ready", _("processed")
        FAILED = "failed", _("processing failed")

    client_uuid = models.UUIDField(_("client UUID"), unique=True)
    # A photo belongs to an inspection (evidence of a visit) or to a case
    # (rectification after-photos from the responsible party): exactly one.
    inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("inspection"),
        on_delete=models.PROTECT,
        related_name="photos",
        null=True,
        blank=True,
    )
    case = models.ForeignKey(
        "inspections.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="photos",
        null=True,
        blank=True,
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.EVIDENCE)
    uploaded_by = models.ForeignKey(
        User, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("received through"), max_length=10, choices=Channel.choices)

    original = models.FileField(_("original"), max_length=255)
    original_name = models.CharField(_("file name on the phone"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=30)
    size = models.BigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    # What the phone says, as opposed to what the file says.
    client_taken_at = models.DateTimeField(_("taken at (phone)"), null=True, blank=True)
    client_longitude = models.FloatField(_("longitude (phone, WGS-84)"), null=True, blank=True)
    client_latitude = models.FloatField(_("latitude (phone, WGS-84)"), null=True, blank=True)
    device_time = models.DateTimeField(
        _("device clock when sent"),
        null=True,
        blank=True,
        help_text=_("The phone's clock at the moment it sent the photo: compared with the server's."),
    )
    # When the server received device_time: the photo's own arrival for a multipart upload,
    # the creation of a resumable upload (its last bytes may come hours later).
    device_time_received_at = models.DateTimeField(
        _("device clock received at"),
        null=True,
        blank=True,
        help_text=_("The server's time when the phone's clock reading arrived; empty: the photo's arrival."),
    )

    status = models.CharField(_("processing"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    processing_error = models.CharField(_("processing error"), max_length=300, blank=True)
    # Set by the sweeper each time it sends the processing task again (see
    # inspections.evidence.recovery): it waits a while before sending it once more.
    processing_resent_at = models.DateTimeField(_("processing re-sent at"), null=True, blank=True)

    # From the file's EXIF (filled in by processing).
    has_exif = models.BooleanField(_("has EXIF"), default=False)
    taken_at = models.DateTimeField(_("taken at (EXIF)"), null=True, blank=True)
    taken_at_local = models.CharField(_("taken at, camera local time (EXIF)"), max_length=19, blank=True)
    taken_at_offset = models.CharField(
        _("UTC offset (EXIF)"),
        max_length=6,
        blank=True,
        help_text=_("Empty when the file does not say; the local time is then read as China time."),
    )
    gps_longitude = models.FloatField(_("GPS longitude (EXIF, WGS-84)"), null=True, blank=True)
    gps_latitude = models.FloatField(_("GPS latitude (EXIF, WGS-84)"), null=True, blank=True)
    gps_accuracy_m = models.FloatField(_("GPS accuracy (m)"), null=True, blank=True)
    gps_altitude_m = models.FloatField(_("GPS altitude (m)"), null=True, blank=True)
    make = models.CharField(_("make"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    software = models.CharField(_("software"), max_length=200, blank=True)
    distance_m = models.FloatField(
        _("distance to village (m)"),
        null=True,
        blank=True,
        help_text=_("Empty without GPS or without a confirmed village location."),
    )

    # 64-bit perceptual hash (DCT pHash), signed to fit a bigint, and its four
    # 16-bit bands: the multi-index that finds near duplicates (see
    # inspections.evidence.flags.near_duplicates).
    phash = models.BigIntegerField(_("perceptual hash"), null=True, blank=True)
    phash_band0 = models.IntegerField(_("perceptual hash band 1"), null=True, blank=True, db_index=True)
    phash_band1 = models.IntegerField(_("perceptual hash band 2"), null=True, blank=True, db_index=True)
    phash_band2 = models.IntegerField(_("perceptual hash band 3"), null=True, blank=True, db_index=True)
    phash_band3 = models.IntegerField(_("perceptual hash band 4"), null=True, blank=True, db_index=True)

    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    preview = models.FileField(_("preview"), max_length=255, blank=True)
    flags: models.JSONField[list[dict[str, Any]]] = models.JSONField(
        _("flags"),
        default=list,
        blank=True,
        help_text=_("Evidence flags: each a code and the facts behind it."),
    )
    flags_reviewed_at = models.DateTimeField(_("flags reviewed at"), null=True, blank=True)
    flags_reviewed_by = models.ForeignKey(
        User,
        verbose_name=_("flags reviewed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["received_at", "id"]
        indexes = [
            # The sweeper's and the stuck count's question: received, and since when.
            models.Index(
                fields=["received_at"], condition=Q(status="received"), name="photo_received_waiting"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(inspection__isnull=False, case__isnull=True)
                    | Q(inspection__isnull=True, case__isnull=False, purpose="after")
                ),
                name="photo_inspection_or_case_after",
            ),
            models.CheckConstraint(condition=Q(sha256__length=64), name="photo_sha256_complete"),
            models.CheckConstraint(condition=Q(size__gte=0), name="photo_size_positive"),
            models.CheckConstraint(
                condition=(
                    Q(gps_longitude__isnull=True, gps_latitude__isnull=True)
                    | Q(gps_longitude__isnull=False, gps_latitude__isnull=False)
                ),
                name="photo_gps_complete",
            ),
            models.CheckConstraint(
                condition=(
                    Q(client_longitude__isnull=True, client_latitude__isnull=True)
                    | Q(client_longitude__isnull=False, client_latitude__isnull=False)
                ),
                name="photo_client_position_complete",
            ),
        ]

    # The files of a photo: the original as received, and its two renditions.
    FILE_KINDS: ClassVar[tuple[str, ...]] = ("original", "preview", "thumbnail")

    def __str__(self) -> str:
        return str(self.client_uuid)

    @property
    def flag_codes(self) -> list[str]:
        return [flag["code"] for flag in self.flags]

    @property
    def clock_skew_seconds(self) -> float | None:
        """How far the phone's clock was ahead of the server's when it sent the photo (None: not told)."""
        if self.device_time is None:
            return None
        return (self.device_time - (self.device_time_received_at or self.received_at)).total_seconds()

    @property
    def village(self) -> Village | None:
        """The village of what the photo belongs to: its inspection's, or its case's."""
        if self.inspection is not None:
            return self.inspection.village
        if self.case is not None:
            return self.case.village
        return None

    def stored_file(self, kind: str) -> FieldFile:
        """The file of ``kind`` (one of :attr:`FILE_KINDS`); its ``name`` is empty while it does not exist."""
        files = {"original": self.original, "preview": self.preview, "thumbnail": self.thumbnail}
        return files[kind]


class Upload(models.Model):
    """A tus resumable upload in progress.

    The bytes received so far are staged by :mod:`inspections.evidence.tus_staging`
    (a file named after the upload's id in ``QINGSHAN_TUS_UPLOAD_DIR``, or objects
    in the media storage); the offset is the database's, so it survives a restart
    of every server process, and the death of a web node. The upload's metadata carries
    what a multipart upload sends as form fields; once the last byte is in,
    the same service as the multipart upload turns it into a :class:`Photo`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_uuid = models.UUIDField(_("client UUID of the photo"), unique=True)
    owner = models.ForeignKey(User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+")
    length = models.BigIntegerField(_("length (bytes)"))
    offset = models.BigIntegerField(_("offset (bytes)"), default=0)
    metadata = models.JSONField(_("metadata"), default=dict)
    raw_metadata = models.TextField(_("Upload-Metadata header"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    photo = models.OneToOneField(
        Photo, verbose_name=_("photo"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("resumable upload")
        verbose_name_plural = _("resumable uploads")
        constraints = [
            models.CheckConstraint(
                condition=Q(offset__gte=0, length__gte=0) & Q(offset__lte=models.F("length")),
                name="upload_offset_within_length",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.offset}/{self.length})"

    @property
    def is_complete(self) -> bool:
        return self.offset == self.length
