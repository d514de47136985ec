"""The API's JSON parser: DRF's, with a body nested too deeply answered as a parse error."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """Parses JSON like DRF's; a body nested deeper than Python's decoder can follow is a 400.

    ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a document
    nested some thousands deep, which a 200 kB body can be: without this, an
    anonymous caller gets a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the document is nested too deeply.")) from None
