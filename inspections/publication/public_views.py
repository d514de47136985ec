"""Public pages (一公开), in Chinese at /public/zh-hans/ and English at /public/en/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from inspections.common.china_time import SHANGHAI
from inspections.publication import selectors
from inspections.publication.models import PublicImage

LANGS = ("zh-hans", "en")
PAGE = 50


def _render(
    request: HttpRequest, lang: str, template: str, build: Callable[[], dict[str, Any]]
) -> HttpResponse:
    if lang not in LANGS:
        raise Http404
    # Dates in China time, whatever the server's zone: the day a visit was made is the day in China.
    with translation.override(lang), timezone.override(SHANGHAI):
        context = build()
        other = "en" if lang == "zh-hans" else "zh-hans"
        path = request.path.replace(f"/public/{lang}/", f"/public/{other}/", 1)
        response = render(
            request, template, {**context, "lang": lang, "other_lang": other, "other_path": path}
        )
    response["Content-Language"] = lang
    return response


@require_GET
def index_redirect(request: HttpRequest) -> HttpResponse:
    lang = translation.get_language_from_request(request)
    return HttpResponseRedirect(f"/public/{'en' if lang.startswith('en') else 'zh-hans'}/")


@require_GET
def index(request: HttpRequest, lang: str) -> HttpResponse:
    def build() -> dict[str, Any]:
        return {
            "results": [selectors.result_summary(p, lang) for p in selectors.published_results()[:PAGE]],
            "typicals": selectors.typical_cases_data(list(selectors.published_typical_cases()[:PAGE]), lang),
        }

    return _render(request, lang, "inspections/public/index.html", build)


@require_GET
def result_detail(request: HttpRequest, lang: str, pk: int) -> HttpResponse:
    publication = get_object_or_404(selectors.published_results(), pk=pk)
    return _render(
        request,
        lang,
        "inspections/public/result.html",
        lambda: {"result": selectors.result_detail(publication, lang)},
    )


@require_GET
def typical_case_detail(request: HttpRequest, lang: str, pk: int) -> HttpResponse:
    typical = get_object_or_404(selectors.published_typical_cases(), pk=pk)
    return _render(
        request,
        lang,
        "inspections/public/typical_case.html",
        lambda: {"case": selectors.typical_cases_data([typical], lang)[0]},
    )


@require_GET
def image(request: HttpRequest, uuid: UUID) -> FileResponse:
    """A public copy of a photo: re-encoded when published, no EXIF or GPS."""
    public = get_object_or_404(PublicImage, uuid=uuid)
    response = FileResponse(public.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=86400"
    return response
