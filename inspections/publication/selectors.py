"""What the public may see: published rows of submitted inspections, redacted.

The builders return plain dicts shared by the JSON API and the HTML pages, so
both show exactly the same fields. No user, inspector, rectifier or free-text
field written in the field ever appears: findings are shown by category and
severity, cases by status and dates, and summaries are written for the public.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from inspections.cases.models import Case, CaseStatus
from inspections.checklist.models import Severity
from inspections.common.china_time import local_date
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from inspections.publication.models import Publication, PublicImage, TypicalCase
from inspections.sampling.models import Cancellation

SUBMITTED = Inspection.Status.SUBMITTED
CANCELLED = Inspection.Status.CANCELLED


def case_photos(case: Case) -> QuerySet[Photo]:
    """The photos of ``case``: the ones its finding names from its inspection, its after-photos,
    and those of its verification and look-back visits. Nothing else may illustrate it."""
    named = [str(u) for u in case.finding.photo_uuids]
    return Photo.objects.filter(
        Q(inspection_id=case.inspection_id, client_uuid__in=named)
        | Q(case_id=case.pk)
        | Q(inspection__follow_up__case_id=case.pk)
    )


def public_case_photo_uuids(typicals: Iterable[TypicalCase]) -> dict[int, set[str]]:
    """Per typical case, the UUIDs it names that the public may see: one query.

    Photos of its case (:func:`case_photos`) whose visit is submitted, or
    uploaded for the case itself. A typical case saved before this rule, naming
    some other photo, shows nothing of it.
    """
    typicals = list(typicals)
    wanted = {str(u) for t in typicals for u in t.photo_uuids}
    if not wanted:
        return {}
    rows: dict[str, list[tuple[int | None, int | None, str | None, int | None]]] = {}
    for client_uuid, case_id, inspection_id, status, follow_up_case in Photo.objects.filter(
        client_uuid__in=_uuids(wanted)
    ).values_list(
        "client_uuid", "case_id", "inspection_id", "inspection__status", "inspection__follow_up__case_id"
    ):
        rows.setdefault(str(client_uuid), []).append((case_id, inspection_id, status, follow_up_case))
    allowed: dict[int, set[str]] = {}
    for typical in typicals:
        case = typical.case
        named = {str(u) for u in case.finding.photo_uuids}
        mine: set[str] = set()
        for value in map(str, typical.photo_uuids):
            for of_case, of_inspection, visit_status, of_follow_up in rows.get(value, []):
                if of_case == case.pk or (
                    visit_status == SUBMITTED
                    and ((of_inspection == case.inspection_id and value in named) or of_follow_up == case.pk)
                ):
                    mine.add(value)
        allowed[typical.pk] = mine
    return allowed


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    parsed = []
    for value in values:
        try:
            parsed.append(uuid.UUID(value))
        except ValueError:
            continue
    return parsed


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def public_images_for(photo_uuids: Iterable[str]) -> dict[str, PublicImage]:
    """The public copies of these photos, by source photo UUID: one query."""
    wanted = {str(u) for u in photo_uuids}
    if not wanted:
        return {}
    return {str(p.source_photo_uuid): p for p in PublicImage.objects.filter(source_photo_uuid__in=wanted)}


def published_results() -> QuerySet[Publication]:
    """Published results, newest first, each with its count of submitted inspections."""
    return (
        Publication.objects.filter(published_at__isnull=False)
        .select_related("draw")
        .annotate(inspection_count=Count("inspections", filter=Q(inspections__status=SUBMITTED)))
        .order_by("-published_at", "-id")
    )


def published_typical_cases() -> QuerySet[TypicalCase]:
    """Published typical cases of submitted inspections, newest first."""
    return (
        TypicalCase.objects.filter(published_at__isnull=False, case__inspection__status=SUBMITTED)
        .select_related("case__category", "case__village__township__parent", "case__finding")
        .order_by("-published_at", "-id")
    )


def _pick(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" and en else zh


def _image(public: PublicImage) -> dict[str, Any]:
    return {
        "url": reverse("public-image", args=[public.uuid]),
        "width": public.width,
        "height": public.height,
    }


def _images(uuids: list[Any], images: dict[str, PublicImage]) -> list[dict[str, Any]]:
    return [_image(images[str(u)]) for u in uuids if str(u) in images]


def _village(village: Any) -> dict[str, Any]:
    township = village.township
    county = township.parent
    return {
        "code": village.code,
        "name": village.name,
        "township": township.name,
        "county": county.name if county is not None else "",
    }


def result_summary(publication: Publication, lang: str) -> dict[str, Any]:
    return {
        "id": publication.pk,
        "title": _pick(lang, publication.title_zh_hans, publication.title_en),
        "title_zh_hans": publication.title_zh_hans,
        "title_en": publication.title_en,
        "published_at": publication.published_at,
        "windows_closed_on": publication.windows_closed_on,
        "inspection_count": getattr(publication, "inspection_count", None),
        **_draw(publication),
    }


def _draw(publication: Publication) -> dict[str, Any]:
    """The draw behind the results, only once it is published (its seed revealed)."""
    draw = publication.draw
    if draw is None or draw.published_at is None:
        return {"draw": None, "draw_url": None, "revealed_seed": ""}
    return {
        "draw": draw.pk,
        "draw_url": reverse("public-draw", args=[draw.pk]),
        "revealed_seed": draw.revealed_seed,
    }


def result_detail(publication: Publication, lang: str) -> dict[str, Any]:
    """A publication with each submitted inspection, its findings and their cases' status.

    Queries: the inspections with village, township and county (1), their
    findings with category and case (1), which named photos are the inspections' own (1),
    the public images (1).
    """
    inspections = list(
        publication.inspections.filter(status=SUBMITTED)
        .select_related("village__township__parent")
        .prefetch_related(
            Prefetch(
                "findings",
                queryset=Finding.objects.select_related("category", "case").order_by("created_at", "id"),
            )
        )
        .order_by("village__code", "submitted_at")
    )
    # A finding shows only photos of its own inspection: it may name a UUID that is not (the
    # phone names photos before they arrive), and that photo may belong to a visit still embargoed.
    named = {str(u) for i in inspections for f in i.findings.all() for u in f.photo_uuids}
    own = (
        set(
            Photo.objects.filter(
                inspection__in=[i.pk for i in inspections], client_uuid__in=_uuids(named)
            ).values_list("inspection_id", "client_uuid")
        )
        if named
        else set()
    )
    images = public_images_for(str(u) for _i, u in own)
    rows = []
    for inspection in inspections:
        findings = []
        for finding in inspection.findings.all():
            case: Case | None = getattr(finding, "case", None)
            findings.append(
                {
                    "category": {
                        "code": finding.category.code,
                        "name": _pick(lang, finding.category.name_zh_hans, finding.category.name_en),
                        "name_zh_hans": finding.category.name_zh_hans,
                        "name_en": finding.category.name_en,
                    },
                    "severity": finding.severity,
                    "severity_label": str(Severity(finding.severity).label),
                    "case_status": case.status if case is not None else None,
                    "case_status_label": str(CaseStatus(case.status).label) if case is not None else "",
                    "deadline": case.deadline if case is not None else None,
                    "deadline_provisional": bool(case is not None and case.deadline_warning),
                    "photos": _images(
                        [u for u in finding.photo_uuids if (inspection.pk, _uuid_or_none(u)) in own], images
                    ),
                }
            )
        rows.append(
            {
                "village": _village(inspection.village),
                "mode": inspection.mode,
                # The day in China: a visit submitted at 06:30 on 2 December is 22:30 UTC on the 1st.
                "visited_on": local_date(inspection.submitted_at) if inspection.submitted_at else None,
                "findings": findings,
            }
        )
    return {
        **result_summary(publication, lang),
        "summary": _pick(lang, publication.summary_zh_hans, publication.summary_en),
        "summary_zh_hans": publication.summary_zh_hans,
        "summary_en": publication.summary_en,
        "inspections": rows,
        "cancelled": cancelled_visits(publication),
    }


def cancelled_visits(publication: Publication) -> list[dict[str, Any]]:
    """The publication's visits that were cancelled, with the organiser's written reason: one query.

    Shown only with published results: before, a cancelled visit of a draw
    still under embargo names a village drawn for it. A visit cancelled
    without a recorded cancellation (before this record existed) is listed
    without a reason.
    """
    rows = []
    inspections = (
        publication.inspections.filter(status=CANCELLED)
        .select_related("village__township__parent", "assignment__cancellation")
        .order_by("village__code", "window_start")
    )
    for inspection in inspections:
        assignment = getattr(inspection, "assignment", None)
        cancellation: Cancellation | None = getattr(assignment, "cancellation", None) if assignment else None
        rows.append(
            {
                "village": _village(inspection.village),
                "mode": inspection.mode,
                "cancelled_on": local_date(cancellation.at) if cancellation else None,
                "reason": cancellation.reason if cancellation else "",
            }
        )
    return rows


def typical_case_data(
    typical: TypicalCase, lang: str, images: dict[str, PublicImage], allowed: set[str] | None = None
) -> dict[str, Any]:
    case = typical.case
    photos = [u for u in typical.photo_uuids if allowed is None or str(u) in allowed]
    return {
        "id": typical.pk,
        "title": _pick(lang, typical.title_zh_hans, typical.title_en),
        "title_zh_hans": typical.title_zh_hans,
        "title_en": typical.title_en,
        "summary": _pick(lang, typical.summary_zh_hans, typical.summary_en),
        "summary_zh_hans": typical.summary_zh_hans,
        "summary_en": typical.summary_en,
        "published_at": typical.published_at,
        "category": {
            "code": case.category.code,
            "name": _pick(lang, case.category.name_zh_hans, case.category.name_en),
            "name_zh_hans": case.category.name_zh_hans,
            "name_en": case.category.name_en,
        },
        "severity": case.severity,
        "severity_label": str(Severity(case.severity).label),
        "village": _village(case.village),
        "status": case.status,
        "status_label": str(CaseStatus(case.status).label),
        "opened_on": local_date(case.opened_at),
        "deadline": case.deadline,
        "deadline_provisional": bool(case.deadline_warning),
        "closed_on": local_date(case.closed_at) if case.closed_at else None,
        "photos": _images(photos, images),
    }


def typical_cases_data(typicals: list[TypicalCase], lang: str) -> list[dict[str, Any]]:
    allowed = public_case_photo_uuids(typicals)
    images = public_images_for(u for t in typicals for u in allowed.get(t.pk, ()))
    return [typical_case_data(t, lang, images, allowed.get(t.pk, set())) for t in typicals]
