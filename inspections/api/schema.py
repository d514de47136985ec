"""OpenAPI generation: one schema for every caller, every problem response documented.

Generated clients (openapi-python-client, openapi-typescript) then parse error
bodies into a typed ``Problem`` instead of failing on an undocumented status,
and need no hand edits:

- The schema is generated in English whatever the request's language
  (``Accept-Language``, ``?lang=``), so it is byte-identical for everyone and
  no generated name comes from a translation. Property titles (taken from
  model fields' verbose names) are left out: names come from field names only.
- Multipart form fields are never ``nullable``: a form cannot carry a null, and
  clients told otherwise send the string ``"None"``. Leave a field out instead.
- Request bodies state their defaults in words, not as ``default``: with one,
  openapi-typescript makes the field required and openapi-python-client sends it.
- A view may document ``HEAD`` and ``OPTIONS`` (the tus endpoints do) by
  listing them in ``schema_extra_methods``; other views' implicit ones are not
  part of the contract.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from drf_spectacular import generators, openapi
from rest_framework.permissions import AllowAny

from inspections.api.problems import PROBLEM_CONTENT_TYPE, ProblemSerializer

SCHEMA_LANGUAGE = "en"


class EndpointEnumerator(generators.EndpointEnumerator):
    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods: list[str] = super().get_allowed_methods(callback)
        extra = getattr(getattr(callback, "cls", None), "schema_extra_methods", ())
        return methods + [m for m in extra if m not in methods]


class SchemaGenerator(generators.SchemaGenerator):
    """drf-spectacular's generator, always in English and with the views' declared HEAD/OPTIONS."""

    endpoint_inspector_cls = EndpointEnumerator

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        # Lazy strings are resolved inside get_schema (normalize_result_object), so all of them
        # are English here, whatever LocaleMiddleware or the `lang` parameter activated.
        with translation.override(SCHEMA_LANGUAGE):
            schema: dict[str, Any] = super().get_schema(request, public)
        return schema


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self) -> str:
        if self.method not in ("HEAD", "OPTIONS"):
            return str(super().get_operation_id())
        # drf-spectacular names only the usual methods: `uploads_head`, `uploads_options` and,
        # for an object, `uploads_detail_options`.
        name = "_".join(self._tokenize_path()).replace("-", "_")
        if "{" in self.path:
            name += "_detail"
        return f"{name}_{self.method.lower()}"

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes: list[str] = []
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            codes.append("400")
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path or self._is_list_view():
            # A list answers 404 for a page past the last one, as an object that is not there.
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


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    resolved: dict[str, Any] = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def _default_in_words(prop: dict[str, Any]) -> None:
    """A request field's default, said in its description rather than as ``default``.

    openapi-typescript (default settings) makes a property with a ``default`` required, so a
    TypeScript client would have to send every defaulted field; the server's default is the
    same either way.
    """
    if "default" not in prop:
        return
    default = prop.pop("default")
    shown = "empty" if default in ("", []) else "null" if default is None else f"`{default}`"
    said = f"Left out: {shown}."
    prop["description"] = f"{prop['description']}\n\n{said}" if prop.get("description") else said


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Drop property titles, ``nullable`` from multipart form fields, ``default`` from request
    bodies (see the module's text)."""
    for component in result.get("components", {}).get("schemas", {}).values():
        for prop in component.get("properties", {}).values():
            prop.pop("title", None)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter.get("schema", {}).pop("title", None)
            for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
                for prop in _resolve(result, body["schema"]).get("properties", {}).values():
                    _default_in_words(prop)
                    if media_type == "multipart/form-data":
                        prop.pop("nullable", None)
    return result


__all__ = ["AutoSchema", "SchemaGenerator", "postprocess_schema"]
