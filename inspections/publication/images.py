"""Public copies of photos, as pure image code (no database, no storage).

A photo shown to the public is a re-encoded JPEG: orientation applied, at most
:data:`PUBLIC_IMAGE_MAX_SIDE` pixels on its longer side, and none of the
original's metadata (EXIF, GPS, XMP, ICC text), which may locate or name people.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

PUBLIC_IMAGE_MAX_SIDE = 1600


def reencode_without_metadata(data: bytes) -> tuple[bytes, int, int]:
    """A public JPEG copy and its width and height: orientation applied, at most 1600 px, no metadata.

    Pillow writes only what it is given: ``save()`` without ``exif=`` or
    ``icc_profile=`` drops every metadata segment of the original. Raises
    ``OSError`` or ``ValueError`` when ``data`` is not an image Pillow reads.
    """
    with Image.open(io.BytesIO(data)) as original:
        image = ImageOps.exif_transpose(original)
        image = image.convert("RGB")
        image.thumbnail((PUBLIC_IMAGE_MAX_SIDE, PUBLIC_IMAGE_MAX_SIDE))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue(), image.width, image.height
