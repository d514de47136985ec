"""The public copies of the bulletins (通报) a jurisdiction chose to show, at /public/<lang>/bulletins/.

Only what a bulletin's snapshot holds, without the problems' numbers: the
county, village, category, deadline and working days overdue of each problem
listed. A bulletin names no person and reads nothing about visits, so it can
announce no pending inspection.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from inspections.cases.ladder_documents import (
    bulletin_pdf,
    bulletin_sections,
    bulletin_title,
    bulletin_totals,
)
from inspections.cases.selectors import closures_in_publicity, public_bulletins
from inspections.common.china_time import local_date

LANGS = ("zh-hans", "en")
PAGE = 50
PAGE_CLOSURES = 500


def _language(lang: str) -> str:
    if lang not in LANGS:
        raise Http404
    return lang


def _page(request: HttpRequest, lang: str, template: str, context: dict[str, object]) -> HttpResponse:
    other = "en" if lang == "zh-hans" else "zh-hans"
    path = request.path.replace(f"/public/{lang}/", f"/public/{other}/", 1)
    response = render(request, template, {**context, "lang": lang, "other_lang": other, "other_path": path})
    response["Content-Language"] = lang
    return response


@require_GET
def bulletin_index(request: HttpRequest, lang: str) -> HttpResponse:
    with translation.override(_language(lang)):
        bulletins = [
            {"pk": b.pk, "title": bulletin_title(b), "totals": bulletin_totals(b)}
            for b in public_bulletins()[:PAGE]
        ]
        return _page(request, lang, "inspections/public/bulletins.html", {"bulletins": bulletins})


@require_GET
def bulletin_detail(request: HttpRequest, lang: str, pk: int) -> HttpResponse:
    with translation.override(_language(lang)):
        bulletin = get_object_or_404(public_bulletins(), pk=pk)
        headers, sections = bulletin_sections(bulletin, public=True)
        context: dict[str, object] = {
            "bulletin": {
                "pk": bulletin.pk,
                "title": bulletin_title(bulletin),
                "totals": bulletin_totals(bulletin),
            },
            "headers": headers,
            "sections": sections,
        }
        return _page(request, lang, "inspections/public/bulletin.html", context)


@require_GET
def bulletin_pdf_view(request: HttpRequest, lang: str, pk: int) -> HttpResponse:
    with translation.override(_language(lang)):
        bulletin = get_object_or_404(public_bulletins(), pk=pk)
        response = HttpResponse(bulletin_pdf(bulletin, public=True), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="tongbao-{bulletin.division.code}-{bulletin.month:%Y-%m}.pdf"'
    )
    response["Content-Language"] = lang
    return response


@require_GET
def closures_index(request: HttpRequest, lang: str) -> HttpResponse:
    """The 销号 under 公示: anyone who knows the problem was not put right may object before the day."""
    with translation.override(_language(lang)):
        today = local_date(timezone.now())
        rows = [
            {
                "county": case.village.township.parent.name if case.village.township.parent else "",
                "township": case.village.township.name,
                "village": case.village.name,
                "category": str(case.category),
                "closed_on": local_date(case.closed_at) if case.closed_at else None,
                "until": case.publicity_until,
            }
            for case in closures_in_publicity(today=today)[:PAGE_CLOSURES]
        ]
        return _page(request, lang, "inspections/public/closures.html", {"closures": rows})
