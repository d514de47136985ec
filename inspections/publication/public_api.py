"""The public JSON API (一公开): published results and typical cases, no login.

Each output serializer is a whitelist over the dicts of
:mod:`inspections.publication.selectors`: a field not declared here is never sent.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from inspections.common.china_time import SHANGHAI
from inspections.publication import selectors


def _moment(**kwargs: Any) -> serializers.DateTimeField:
    """A moment, written in China time (+08:00) whatever the server's zone: the days people read."""
    return serializers.DateTimeField(default_timezone=SHANGHAI, **kwargs)


class PublicImageOutput(serializers.Serializer):
    url = serializers.CharField(help_text="A re-encoded copy without EXIF or GPS.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PublicCategoryOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_zh_hans = serializers.CharField()
    name_en = serializers.CharField()


class PublicVillageOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    township = serializers.CharField()
    county = serializers.CharField()


class PublicResultSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    title_zh_hans = serializers.CharField()
    title_en = serializers.CharField()
    published_at = _moment()
    windows_closed_on = serializers.DateField()
    inspection_count = serializers.IntegerField(allow_null=True)
    draw = serializers.IntegerField(
        allow_null=True, help_text="The sampling draw behind these results, if they come from one."
    )
    draw_url = serializers.CharField(
        allow_null=True,
        help_text="Its public record (parameters, candidates, roster, result): everything to re-run it.",
    )
    revealed_seed = serializers.CharField(
        allow_blank=True, help_text="The draw's seed (hex): re-run the draw with it. Empty without a draw."
    )


class PublicFindingOutput(serializers.Serializer):
    category = PublicCategoryOutput()
    severity = serializers.CharField()
    severity_label = serializers.CharField()
    case_status = serializers.CharField(allow_null=True)
    case_status_label = serializers.CharField()
    deadline = serializers.DateField(allow_null=True)
    deadline_provisional = serializers.BooleanField(
        help_text="The deadline runs into a year whose holiday notice is not out yet (暂定): it may move."
    )
    photos = PublicImageOutput(many=True)


class PublicInspectionOutput(serializers.Serializer):
    village = PublicVillageOutput()
    mode = serializers.CharField()
    visited_on = serializers.DateField(allow_null=True, help_text="The day of submission in China.")
    findings = PublicFindingOutput(many=True)


class PublicCancelledVisitOutput(serializers.Serializer):
    village = PublicVillageOutput()
    mode = serializers.CharField()
    cancelled_on = serializers.DateField(allow_null=True, help_text="The day in China.")
    reason = serializers.CharField(
        allow_blank=True, help_text="Why it could not happen, as its organiser wrote."
    )


class PublicResultOutput(PublicResultSummaryOutput):
    summary = serializers.CharField()
    summary_zh_hans = serializers.CharField()
    summary_en = serializers.CharField()
    inspections = PublicInspectionOutput(many=True)
    cancelled = PublicCancelledVisitOutput(
        many=True, help_text="Visits that could not happen, cancelled with a written reason."
    )


class PublicTypicalCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    title_zh_hans = serializers.CharField()
    title_en = serializers.CharField()
    summary = serializers.CharField()
    summary_zh_hans = serializers.CharField()
    summary_en = serializers.CharField()
    published_at = _moment()
    category = PublicCategoryOutput()
    severity = serializers.CharField()
    severity_label = serializers.CharField()
    village = PublicVillageOutput()
    status = serializers.CharField()
    status_label = serializers.CharField()
    opened_on = serializers.DateField()
    deadline = serializers.DateField()
    deadline_provisional = serializers.BooleanField(
        help_text="The deadline runs into a year whose holiday notice is not out yet (暂定): it may move."
    )
    closed_on = serializers.DateField(allow_null=True)
    photos = PublicImageOutput(many=True)


def _lang(request: Request) -> str:
    lang = "en" if request.query_params.get("lang") == "en" else "zh-hans"
    translation.activate(lang)  # labels of statuses and severities; reset per request by LocaleMiddleware
    return lang


class PublicView(generics.GenericAPIView):  # type: ignore[type-arg]
    authentication_classes = []
    permission_classes = [AllowAny]


@extend_schema_view(get=extend_schema(tags=["public"], auth=[]))
class PublicResultListView(PublicView, generics.ListAPIView):  # type: ignore[type-arg]
    """Published inspection results, newest first. ``?lang=en`` picks English names."""

    serializer_class = PublicResultSummaryOutput

    def get_queryset(self) -> Any:
        return selectors.published_results()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [selectors.result_summary(p, _lang(request)) for p in (page or [])]
        return self.get_paginated_response(PublicResultSummaryOutput(rows, many=True).data)


@extend_schema_view(get=extend_schema(tags=["public"], auth=[]))
class PublicResultDetailView(PublicView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One published result: each inspection, its findings and their cases' status."""

    serializer_class = PublicResultOutput

    def get_queryset(self) -> Any:
        return selectors.published_results()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        publication = self.get_object()
        return Response(PublicResultOutput(selectors.result_detail(publication, _lang(request))).data)


@extend_schema_view(get=extend_schema(tags=["public"], auth=[]))
class PublicTypicalCaseListView(PublicView, generics.ListAPIView):  # type: ignore[type-arg]
    """Published typical cases (典型案例), newest first."""

    serializer_class = PublicTypicalCaseOutput

    def get_queryset(self) -> Any:
        return selectors.published_typical_cases()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.typical_cases_data(list(page or []), _lang(request))
        return self.get_paginated_response(PublicTypicalCaseOutput(rows, many=True).data)


@extend_schema_view(get=extend_schema(tags=["public"], auth=[]))
class PublicTypicalCaseDetailView(PublicView, generics.RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = PublicTypicalCaseOutput

    def get_queryset(self) -> Any:
        return selectors.published_typical_cases()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        typical = self.get_object()
        return Response(
            PublicTypicalCaseOutput(selectors.typical_cases_data([typical], _lang(request))[0]).data
        )
