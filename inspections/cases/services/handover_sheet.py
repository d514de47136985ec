"""The 交办单: one printable page handing a problem to its responsible unit.

The problem (category, severity, village, finding, the reviewing level), the
responsible unit and person, the time limit (and its stages), the evidence
photos as thumbnails each with the SHA-256 of the original as received, and
the links to the problem. Drawn with :mod:`inspections.common.pdf`, in the
reader's language (the site's by default).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from reportlab.lib.units import mm

from inspections.cases.models import Case, CaseStage
from inspections.common import pdf
from inspections.common.china_time import SHANGHAI
from inspections.evidence.models import Photo
from inspections.evidence.storage import stored_file_open
from inspections.workdays.calendar import working_days_between

# At most this many thumbnails: the sheet stays one page.
MAX_THUMBNAILS = 4


def handover_sheet_filename(case: Case) -> str:
    return f"handover-{case.pk}.pdf"


def handover_sheet_links(case: Case) -> tuple[str, str]:
    """The problem's page in the admin and its address on the API, absolute."""
    site = settings.QINGSHAN_SITE_URL
    return (
        f"{site}{reverse('admin:inspections_case_change', args=[case.pk])}",
        f"{site}{reverse('case-detail', kwargs={'pk': case.pk})}",
    )


def _evidence_photos(case: Case) -> list[Photo]:
    wanted: list[uuid.UUID] = []
    for value in case.finding.photo_uuids or []:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    photos = Photo.objects.filter(
        Q(inspection_id=case.inspection_id) & Q(client_uuid__in=wanted), status=Photo.Status.READY
    ).order_by("received_at", "pk")
    return list(photos[:MAX_THUMBNAILS])


def _evidence_rows(photos: list[Photo]) -> list[list[Any]]:
    """One row per photo: its thumbnail (if rendered) and the SHA-256 of the original as received."""
    rows: list[list[Any]] = []
    for photo in photos:
        picture: Any = "—"
        if photo.thumbnail.name:
            with stored_file_open(photo.thumbnail) as handle:
                picture = pdf.thumbnail(handle.read(), width=30 * mm)
        rows.append([picture, f"SHA-256\n{photo.sha256}"])
    return rows


def handover_sheet_pdf(*, case: Case, now: dt.datetime) -> bytes:
    """The 交办单 of ``case`` as PDF bytes (the caller checks who may read it)."""
    case = Case.objects.select_related(
        "category",
        "village",
        "finding",
        "organising_division",
        "responsible_division",
        "responsible_village",
        "responsible_department",
    ).get(pk=case.pk)
    handed_over = case.handed_over_at or case.opened_at
    unit = f"{case.responsible_unit.name} ({case.responsible_unit.code})"
    if case.responsible_department is not None:
        unit += f" · {case.responsible_department.name}"
    person = " ".join(p for p in (case.responsible_person_name, case.responsible_person_post) if p) or "—"
    admin_link, api_link = handover_sheet_links(case)
    rows = [
        [_("Problem"), f"#{case.pk} {case.category.name} ({case.get_severity_display()})"],
        [_("Village"), f"{case.village.name} ({case.village.code})"],
        [_("Found"), case.finding.description or "—"],
        [_("Handed over by"), str(case.organising_division or "—")],
        [_("Handed over at"), f"{handed_over.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"],
        [_("Responsible unit (责任单位)"), unit],
        [_("Responsible person (责任人)"), person],
        [
            _("Time limit (整改时限)"),
            _("%(date)s (%(days)s working days)")
            # counted again: a time limit moved by an extension or by the assigning level is a date
            % {
                "date": case.deadline.isoformat(),
                "days": working_days_between(case.deadline_from, case.deadline),
            },
        ],
    ]
    stages = list(CaseStage.objects.filter(case=case).order_by("seq"))
    for stage in stages:
        rows.append(
            [_("Stage %(seq)s") % {"seq": stage.seq}, f"{stage.due_date.isoformat()} {stage.description}"]
        )
    story: list[Any] = [pdf.table(rows, col_widths=[40 * mm, 140 * mm])]
    photos = _evidence_photos(case)
    if photos:
        story += [
            pdf.paragraph(_("Evidence"), "heading"),
            pdf.table(_evidence_rows(photos), col_widths=[40 * mm, 140 * mm]),
        ]
    story += [
        pdf.paragraph(_("Links"), "heading"),
        pdf.paragraph(admin_link, "small"),
        pdf.paragraph(api_link, "small"),
        pdf.spacer(),
        pdf.paragraph(
            _(
                "The responsible unit acknowledges receipt (签收) and submits its rectification measures "
                "(整改措施) before the time limit."
            )
        ),
    ]
    return pdf.render(story, title=_("Hand-over sheet (交办单)"), produced_at=now)
