"""Refusals of photo evidence and resumable uploads, each with its stable code.

Phones branch on these codes: never rename one. The limits they name come
from the settings (``QINGSHAN_PHOTO_MAX_BYTES``, ``QINGSHAN_PHOTO_MAX_PIXELS``)
and are repeated in the problem document (``max_bytes``, ``max_pixels``).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from inspections.common.errors import DomainError

# --- Photos --------------------------------------------------------------------------


class PhotoTooLarge(DomainError):
    code = "photo_too_large"
    status = 413
    default_detail = _("The photo is larger than the limit.")

    def __init__(self, size: int) -> None:
        limit = settings.QINGSHAN_PHOTO_MAX_BYTES
        super().__init__(
            _("The photo is %(size)d bytes; the limit is %(limit)d bytes.") % {"size": size, "limit": limit},
            extra={"max_bytes": limit},
        )


class UnsupportedPhotoType(DomainError):
    """Judged by the first bytes, whatever the file's name or declared type."""

    code = "unsupported_photo_type"
    status = 415
    default_detail = _("Only JPEG, HEIC/HEIF, PNG and WebP photos are accepted; this file is none of them.")


class PhotoTooManyPixels(DomainError):
    """A decompression bomb, read from the header: nothing is decoded."""

    code = "photo_too_many_pixels"
    status = 422
    default_detail = _("The photo has too many pixels.")

    def __init__(self) -> None:
        limit = settings.QINGSHAN_PHOTO_MAX_PIXELS
        super().__init__(
            _("The photo has more than %(limit)d pixels.") % {"limit": limit}, extra={"max_pixels": limit}
        )


class PhotoUnreadable(DomainError):
    code = "photo_unreadable"
    status = 422
    default_detail = _("The file looks like an image but its header cannot be read: it is corrupt.")


class PhotoIncomplete(DomainError):
    code = "photo_incomplete"
    status = 400
    default_detail = _("Fewer bytes arrived than announced; send the photo again.")


class StorageUnavailable(DomainError):
    """The media storage refused to write (read-only, unreachable, an I/O error): try again later."""

    code = "storage_unavailable"
    status = 503
    retry_after = 60
    default_detail = _("The photo storage is unavailable; send the photo again later.")


class StorageFull(DomainError):
    """The media storage has no room left (507 Insufficient Storage)."""

    code = "storage_full"
    status = 507
    retry_after = 300
    default_detail = _("The photo storage is full; send the photo again later.")


class CaseClosedToPhotos(DomainError):
    """A closed case takes no more after-photos (the code is the one the cases API answers with)."""

    code = "case_closed"
    status = 409
    default_detail = _("This case is closed and takes no more photos.")


# --- Resumable uploads (tus) -----------------------------------------------------------


class OffsetMismatch(DomainError):
    """The client's offset is not the server's; ``offset`` says where to resume."""

    code = "offset_mismatch"
    status = 409
    default_detail = _("Upload-Offset does not match the upload's offset.")

    def __init__(self, *, given: int, actual: int) -> None:
        super().__init__(
            _("Upload-Offset is %(given)d; the upload is at %(actual)d.")
            % {"given": given, "actual": actual},
            extra={"offset": actual},
        )


class UploadEmpty(DomainError):
    """A tus creation announcing no bytes: a photo always has some (a phone bug; nothing is created)."""

    code = "upload_empty"
    status = 400
    default_detail = _("Upload-Length is 0: a photo cannot be empty. Nothing was created.")


class UploadExceedsLength(DomainError):
    code = "upload_exceeds_length"
    status = 413
    default_detail = _("The body goes past Upload-Length.")


class UploadLocked(DomainError):
    """Another request holds the upload; the client retries."""

    code = "upload_locked"
    status = 423
    default_detail = _("Another request is writing to this upload; retry in a moment.")


class InvalidTusHeader(DomainError):
    code = "invalid_tus_header"
    status = 400
    default_detail = _("A tus header is malformed.")

    def __init__(self, name: str) -> None:
        super().__init__(_("The %(name)s header must be a non-negative integer.") % {"name": name})


class InvalidUploadMetadata(DomainError):
    code = "invalid_upload_metadata"
    status = 400
    default_detail = _("Upload-Metadata values must be Base64-encoded UTF-8.")


class TusVersionUnsupported(DomainError):
    code = "tus_version_unsupported"
    status = 412
    default_detail = _("Send Tus-Resumable: 1.0.0.")


class UnsupportedUploadMediaType(DomainError):
    """A tus PATCH body in another content type (the code is DRF's own for the same refusal)."""

    code = "unsupported_media_type"
    status = 415
    default_detail = _("PATCH bodies must be application/offset+octet-stream.")
