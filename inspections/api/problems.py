"""RFC 9457 problem details for every API error.

Every error the API returns is ``application/problem+json``::

    {"type": "urn:qingshan:problem:validation_error", "title": "Invalid input.",
     "status": 400, "code": "validation_error", "detail": "…", "instance": "/api/v1/…",
     "errors": [{"field": "name", "code": "required", "detail": "This field is required."}]}

``code`` is stable: phones branch on it, so a shipped code is never renamed.
DRF's own exception codes are kept as they are (``not_authenticated``,
``permission_denied``, ``not_found``, ``method_not_allowed``, ``throttled``,
``parse_error``, ``unsupported_media_type``…). Services raise
:class:`~inspections.common.errors.DomainError` subclasses, each declaring its
code and status once; they are answered here with the same members.

Written here rather than taken from a package: the maintained DRF error
packages emit their own formats, not RFC 9457 with per-field errors.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from inspections.common.database_errors import unavailable_errors
from inspections.common.errors import DatabaseUnavailable, DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class RequestTooLarge(exceptions.APIException):
    """A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (photos go through their own limits)."""

    status_code = 413
    default_code = "request_too_large"
    default_detail = _("The request body is larger than the server accepts.")


def uri_too_long(request: HttpRequest) -> HttpResponse:
    """A 414 for a URL longer than ``QINGSHAN_MAX_URL_LENGTH``: a problem document on the API."""
    if _is_api(request):
        return problem_response(
            request,
            status_code=414,
            code="uri_too_long",
            detail=str(_("The URL is longer than the server accepts.")),
        )
    return HttpResponse(status=414)


def metrics_token_required(request: HttpRequest) -> HttpResponse:
    """A 401 for ``GET /metrics`` without the metrics token (:mod:`config.metrics`)."""
    response = problem_response(
        request,
        status_code=401,
        code="not_authenticated",
        detail=str(_("The metrics need the metrics token (Authorization: Bearer).")),
    )
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def problem_type(code: str) -> str:
    return f"urn:qingshan:problem:{code}"


def problem_body(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": str(title),
        "status": status_code,
        "code": code,
        "detail": str(detail),
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def _flatten_field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested ``{"field": [ErrorDetail…]}`` into a flat list."""
    errors: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = ""
            errors.extend(_flatten_field_errors(value, name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                errors.extend(_flatten_field_errors(value, f"{prefix}[{index}]"))
            else:
                errors.extend(_flatten_field_errors(value, prefix))
    else:
        errors.append({"field": prefix, "code": getattr(detail, "code", "invalid"), "detail": str(detail)})
    return errors


_TITLES: dict[int, Any] = {
    400: _("Invalid request."),
    401: _("Authentication required."),
    403: _("Permission denied."),
    404: _("Not found."),
    405: _("Method not allowed."),
    406: _("Not acceptable."),
    409: _("Conflict."),
    413: _("Payload too large."),
    415: _("Unsupported media type."),
    422: _("Unprocessable content."),
    429: _("Too many requests."),
    500: _("Server error."),
    503: _("Service unavailable."),
    507: _("Insufficient storage."),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering in problem details."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    if isinstance(exc, unavailable_errors()):
        # Unreachable, cut, or a commit whose answer never came: the same request may be sent again.
        logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        exc = DatabaseUnavailable()
    if isinstance(exc, DomainError):
        set_rollback()
        domain_extra = dict(exc.extra)
        domain_headers: dict[str, str] = {}
        if exc.retry_after is not None:
            domain_headers["Retry-After"] = str(exc.retry_after)
            domain_extra.setdefault("retry_after", exc.retry_after)
        body = problem_body(
            status_code=exc.status,
            code=exc.code,
            title=str(exc.title or _TITLES.get(exc.status, _("Error."))),
            detail=exc.detail,
            instance=instance,
            extra=domain_extra,
        )
        return Response(body, status=exc.status, headers=domain_headers, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django's 500 handler answer, and log it

    status_code = exc.status_code
    errors: list[dict[str, str]] | None = None
    extra: dict[str, Any] = {}
    title = _TITLES.get(status_code, _("Error."))

    if isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
        errors = _flatten_field_errors(exc.detail)
        detail = errors[0]["detail"] if len(errors) == 1 else str(_("The request has invalid fields."))
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(title)
        if isinstance(exc.detail, dict):
            # simplejwt puts its own code inside the detail dict
            code = str(exc.detail.get("code", code))
            detail = str(exc.detail.get("detail", detail))

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        extra["retry_after"] = int(exc.wait)  # type: ignore[attr-defined]

    set_rollback()
    body = problem_body(
        status_code=status_code,
        code=code,
        title=title,
        detail=detail,
        instance=instance,
        errors=errors,
        extra=extra,
    )
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def problem_response(request: HttpRequest, *, status_code: int, code: str, detail: str) -> JsonResponse:
    body = problem_body(
        status_code=status_code,
        code=code,
        title=str(_TITLES.get(status_code, _("Error."))),
        detail=detail,
        instance=request.get_full_path(),
    )
    return JsonResponse(
        body,
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """handler404: a problem document on the API, Django's page elsewhere."""
    if _is_api(request):
        return problem_response(
            request, status_code=404, code="not_found", detail=str(_("No such resource."))
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> Any:
    """handler500: never an HTML page on the API."""
    if _is_api(request):
        return problem_response(
            request,
            status_code=500,
            code="server_error",
            detail=str(_("The server failed; the error has been logged.")),
        )
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A database outage under a page (the admin, the public pages) is the 503 page, not a server error.

    With ``Retry-After``, like the API's ``database_unavailable``, which the API's views answer
    themselves (:func:`exception_handler`): supervisors are told to try again in a minute, and a
    monitor sees the outage for what it is.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if _is_api(request) or not isinstance(exception, unavailable_errors()):
            return None
        logger.warning("database unavailable: %s: %s", type(exception).__name__, exception)
        unavailable = DatabaseUnavailable()
        response = HttpResponse(loader.get_template("503.html").render(), status=unavailable.status)
        response["Retry-After"] = str(unavailable.retry_after)
        return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        return problem_response(
            request,
            status_code=413,
            code=RequestTooLarge.default_code,
            detail=str(RequestTooLarge.default_detail),
        )
    if _is_api(request):
        return problem_response(
            request, status_code=400, code="bad_request", detail=str(_("The request is malformed."))
        )
    from django.views.defaults import bad_request as html_bad_request

    return html_bad_request(request, exception or Exception())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _is_api(request):
        return problem_response(
            request, status_code=403, code="permission_denied", detail=str(_("Permission denied."))
        )
    from django.views.defaults import permission_denied as html_permission_denied

    return html_permission_denied(request, exception or DjangoPermissionDenied())


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's name; empty for the request as a whole.")
    code = serializers.CharField(help_text="Stable machine code of this field error.")
    detail = serializers.CharField(help_text="Human-readable message.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every API error is returned."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine code; never renamed once shipped.")
    detail = serializers.CharField()
    instance = serializers.CharField()
    # DRF pops declared fields off the class, so this does not shadow `Serializer.errors`.
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]
    # Extension members: present only with the codes named (DomainError.extra).
    retry_after = serializers.IntegerField(
        required=False, help_text="throttled: seconds to wait before trying again (as Retry-After)."
    )
    pending_photos = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="photos_pending: the client UUIDs of the photos named by findings that have not arrived.",
    )
    max_bytes = serializers.IntegerField(
        required=False, help_text="photo_too_large: the largest photo the server accepts, in bytes."
    )
    max_pixels = serializers.IntegerField(
        required=False, help_text="photo_too_many_pixels: the most pixels a photo may have."
    )
    offset = serializers.IntegerField(
        required=False, help_text="offset_mismatch: the upload's offset on the server (tus)."
    )
    from_status = serializers.CharField(
        required=False, help_text="case_transition_not_allowed: the case's status."
    )
    to_status = serializers.CharField(
        required=False, help_text="case_transition_not_allowed: the status asked for."
    )


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "ProblemSerializer",
    "exception_handler",
    "not_found",
    "server_error",
]
