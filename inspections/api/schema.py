"""OpenAPI generation: every operation documents its problem responses.

Generated clients (openapi-generator, openapi-python-client) then parse error
bodies into a typed ``Problem`` instead of failing on an undocumented status.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework.permissions import AllowAny

from inspections.api.problems import PROBLEM_CONTENT_TYPE, ProblemSerializer


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes: list[str] = []
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            codes.append("400")
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        codes += getattr(self.view, "problem_statuses", [])
        if getattr(self.view, "throttle_scope", None) or getattr(self.view, "throttle_classes", None):
            codes.append("429")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ProblemSerializer, code, media_types=[PROBLEM_CONTENT_TYPE], direction=direction
                )
        return responses
