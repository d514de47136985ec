"""Renderers for views that answer with a file: they let a client ask for the file's type.

A view that streams a PDF or a photo returns a plain Django response, so no renderer
writes its body; but content negotiation still runs first, and without a renderer for
``Accept: image/jpeg`` (what an image loader sends) it refused the request with 406. Each
of these accepts one file type and, for the refusals that do go through a renderer,
writes the problem document as JSON (the exception handler sets its content type).
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.renderers import BaseRenderer, JSONRenderer


def file_renderers(media_types: Iterable[str]) -> list[type[BaseRenderer]]:
    """One renderer per file type the view may answer with, after JSON for its refusals."""
    made: list[type[BaseRenderer]] = [JSONRenderer]
    for media_type in media_types:
        subtype = media_type.split("/")[-1]
        made.append(
            type(
                f"{subtype.title()}FileRenderer",
                (JSONRenderer,),
                {"media_type": media_type, "format": subtype},
            )
        )
    return made
