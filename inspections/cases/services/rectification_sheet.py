"""The 问题整改单: one printable page telling the whole story of a problem.

The problem (number, village with its full division path, category, severity,
when it was found, the finding), its 交办 (the responsible unit and person, the
time limit with its working days, where it stands against it), the escalation
level, the evidence (the finding's photos and the rectification after-photos
as thumbnails, each with the SHA-256 of the original as received and when it
was taken, in China time) and the timeline of its events (交办, 签收, measures,
stages, rectifications, send-backs, extensions, the 督办 ladder, 销号).

It always fits one page: the photos and the timeline are cut to a budget with
a note of how many were left out, long texts are clipped, and, should the page
still overflow (a long finding in narrow columns), the content is scaled down
to fit. A thumbnail that is missing or cannot be read is drawn as a labelled
box: the sheet never fails for a photo.

The reader sees nothing they could not see elsewhere: the caller checks that
they may see the problem, and the photos are only those
:func:`inspections.evidence.selectors.visible_photos` gives them, of the
finding's own inspection and of the problem's own after-photos. The timeline is
the problem's own events, which the API and the admin show whoever sees the
problem (a follow-up visit leaves an event only once its result is recorded,
its inspection submitted). Constant number of queries, whatever the problem.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, Table, TableStyle

from inspections.accounts.models import User
from inspections.cases.models import RECTIFICATION_DUE, Case, CaseEvent, CaseStatus, Rectification
from inspections.cases.models import escalation_level_name as level_name
from inspections.cases.selectors import case_list
from inspections.common import pdf
from inspections.common.china_time import display, local_date
from inspections.evidence.errors import StorageUnavailable
from inspections.evidence.models import Photo
from inspections.evidence.selectors import visible_photos
from inspections.evidence.storage import stored_file_open
from inspections.workdays.calendar import WorkingCalendar, working_days_between
from villages.models import Division

# The budget that keeps the sheet one page.
MAX_PHOTOS = 4  # of each kind: the finding's, the after-photos
TIMELINE_FIRST = 3  # the first events (opened, 交办, 签收…)
TIMELINE_LAST = 7  # and the latest
DESCRIPTION_CHARS = 160
NOTE_CHARS = 44

# The evidence grid: a label column, then MAX_PHOTOS cells.
LABEL_WIDTH = 24 * mm
CELL_WIDTH = 39 * mm
PICTURE_WIDTH = 35 * mm
PICTURE_HEIGHT = 22 * mm


def rectification_sheet_filename(case: Case) -> str:
    return f"rectification-{case.pk}.pdf"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(user: User | None) -> str:
    if user is None:
        return _("system")
    return user.get_full_name() or user.get_username()


def _division_path(case: Case) -> str:
    """Province / prefecture / county / township / village, as far as the table knows them."""
    names: list[str] = []
    division: Division | None = case.village.township
    while division is not None:
        names.append(division.name)
        division = division.parent
    return " / ".join([*reversed(names), f"{case.village.name} ({case.village.code})"])


def _uuids(values: Iterable[object]) -> list[uuid.UUID]:
    wanted: list[uuid.UUID] = []
    for value in values:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return list(dict.fromkeys(wanted))


def _photos(
    case: Case, viewer: User, rectifications: Sequence[Rectification]
) -> tuple[list[Photo], list[Photo]]:
    """The finding's photos (in the finding's order) and the after-photos (the latest
    rectification's first) that ``viewer`` may see, in one query (two for an inspector)."""
    finding_uuids = _uuids(case.finding.photo_uuids or [])
    after_uuids = _uuids(u for r in rectifications for u in (r.photo_uuids or []))
    own = Q(inspection_id=case.inspection_id, client_uuid__in=finding_uuids) | Q(
        case_id=case.pk, client_uuid__in=after_uuids
    )
    if not finding_uuids and not after_uuids:
        return [], []
    found = {
        p.client_uuid: p
        for p in visible_photos(user=viewer, visible_cases=case_list(user=viewer)).filter(own)
    }
    before = [found[u] for u in finding_uuids if u in found and found[u].inspection_id == case.inspection_id]
    after = [found[u] for u in after_uuids if u in found and found[u].case_id == case.pk]
    return before, after


def _box(label: str) -> Table:
    """Where a thumbnail would be: a ruled box saying why there is none."""
    box = Table([[pdf.paragraph(label, "small")]], colWidths=[PICTURE_WIDTH], rowHeights=[PICTURE_HEIGHT])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return box


def _picture(photo: Photo) -> Flowable:
    """The photo's thumbnail, or a labelled box when it is not rendered or cannot be read."""
    if photo.status == Photo.Status.FAILED:
        return _box(_("Processing failed: no thumbnail"))
    if not photo.thumbnail.name:
        return _box(_("Thumbnail not rendered yet"))
    try:
        with stored_file_open(photo.thumbnail) as handle:
            data = handle.read()
        with PILImage.open(io.BytesIO(data)) as image:
            image.load()  # a truncated or foreign file fails here, not while the page is drawn
        return pdf.thumbnail(data, width=PICTURE_WIDTH, max_height=PICTURE_HEIGHT)
    except (StorageUnavailable, OSError, ValueError, SyntaxError):
        return _box(_("Thumbnail unavailable"))


def _photo_cell(photo: Photo) -> list[Flowable]:
    digest = photo.sha256
    spaced = " ".join(digest[i : i + 16] for i in range(0, len(digest), 16))  # so that it wraps
    if photo.taken_at is not None:
        taken = _("Taken %(time)s") % {"time": display(photo.taken_at)}
    elif photo.client_taken_at is not None:
        taken = _("Taken %(time)s (the phone's clock)") % {"time": display(photo.client_taken_at)}
    else:
        taken = _("Time taken unknown")
    return [
        _picture(photo),
        pdf.paragraph(f"SHA-256 {digest[:12]}…", "compact"),
        pdf.paragraph(taken, "compact"),
        pdf.paragraph(spaced, "fine"),
    ]


def _evidence_row(label: str, photos: list[Photo]) -> list[Any]:
    shown = photos[:MAX_PHOTOS]
    heading = [pdf.paragraph(label, "compact")]
    if len(photos) > len(shown):
        more = len(photos) - len(shown)
        heading.append(
            pdf.paragraph(
                ngettext("and %(count)d more photo", "and %(count)d more photos", more) % {"count": more},
                "small",
            )
        )
    cells: list[Any] = [_photo_cell(photo) for photo in shown] or [pdf.paragraph(_("None"), "compact")]
    return [heading, *cells, *[""] * (MAX_PHOTOS - len(cells))]


def _ruled(
    rows: list[list[Any]],
    *,
    widths: Sequence[float],
    shaded: Sequence[tuple[int, int, int, int]] = (),
    spans: Sequence[tuple[int, int, int, int]] = (),
) -> Table:
    """A table ruled like :func:`inspections.common.pdf.table`, with its label cells shaded and
    some cells spanning (``(first column, first row, last column, last row)``); a cell may be a
    flowable or a list of them."""
    grid = Table(rows, colWidths=list(widths), hAlign="LEFT")
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("BACKGROUND", area[:2], area[2:], colors.whitesmoke) for area in shaded]
    commands += [("SPAN", area[:2], area[2:]) for area in spans]
    grid.setStyle(TableStyle(commands))
    return grid


def _event_label(event: CaseEvent) -> str:
    label = event.get_kind_display()
    if event.kind == CaseEvent.Kind.STATUS and event.from_status:
        label += f": {CaseStatus(event.from_status).label} → {CaseStatus(event.to_status).label}"
    elif event.kind == CaseEvent.Kind.ESCALATED:
        label += f": {level_name(event.escalation_level)}"
    return label


def _timeline_rows(events: list[CaseEvent]) -> tuple[list[list[Any]], list[tuple[int, int, int, int]]]:
    """The header and the events (the first and the latest ones, with a note of how many were
    left out between them), and the cells the note spans."""

    def row(event: CaseEvent) -> list[Any]:
        return [
            pdf.paragraph(display(event.created_at), "compact"),
            pdf.paragraph(_event_label(event), "compact"),
            pdf.paragraph(_name(event.actor), "compact"),
            pdf.paragraph(_clip(event.note, NOTE_CHARS) or "—", "compact"),
        ]

    header = [pdf.paragraph(text, "compact") for text in (_("Time"), _("Event"), _("By"), _("Note"))]
    if len(events) <= TIMELINE_FIRST + TIMELINE_LAST:
        return [header, *(row(e) for e in events)], []
    left_out = len(events) - TIMELINE_FIRST - TIMELINE_LAST
    note = ngettext(
        "… and %(count)d more event between these (the full timeline is on the problem's page)",
        "… and %(count)d more events between these (the full timeline is on the problem's page)",
        left_out,
    ) % {"count": left_out}
    rows = [
        header,
        *(row(e) for e in events[:TIMELINE_FIRST]),
        ["", pdf.paragraph(note, "small"), "", ""],
        *(row(e) for e in events[-TIMELINE_LAST:]),
    ]
    return rows, [(1, TIMELINE_FIRST + 1, 3, TIMELINE_FIRST + 1)]


def _time_limit(case: Case, today: dt.date, calendar: WorkingCalendar) -> str:
    text = _("%(date)s (%(days)s working days)") % {
        # counted again: a time limit moved by an extension or by the assigning level is a date
        "date": case.deadline.isoformat(),
        "days": working_days_between(case.deadline_from, case.deadline, calendar=calendar),
    }
    overdue = case.days_overdue(today)
    if overdue is not None:
        text += "; " + ngettext("overdue by %(count)d day", "overdue by %(count)d days", overdue) % {
            "count": overdue
        }
    elif case.status in RECTIFICATION_DUE:
        left = working_days_between(today, case.deadline, calendar=calendar)
        text += "; " + ngettext("%(count)d working day left", "%(count)d working days left", left) % {
            "count": left
        }
    return text


def rectification_sheet_pdf(*, case: Case, viewer: User, now: dt.datetime) -> bytes:
    """The 问题整改单 of ``case`` as PDF bytes, as ``viewer`` may see it (the caller checks that
    ``viewer`` may see the problem)."""
    # The guarantee of one page: whatever the budget left, the content shrinks into the frame.
    story = [KeepInFrame(0, 0, rectification_sheet_content(case=case, viewer=viewer, now=now), mode="shrink")]
    return pdf.render(story, title=_("Rectification sheet (问题整改单)"), produced_at=now)


def rectification_sheet_content(*, case: Case, viewer: User, now: dt.datetime) -> list[Flowable]:
    """What the sheet says under its title, at its natural size."""
    case = Case.objects.select_related(
        "category",
        "village__township__parent__parent__parent",
        "finding",
        "organising_division",
        "handed_over_by",
        "responsible_division",
        "responsible_village",
        "responsible_department",
        "received_by",
    ).get(pk=case.pk)
    events = list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("seq"))
    rectifications = list(Rectification.objects.filter(case=case).order_by("-created_at", "-pk"))
    before, after = _photos(case, viewer, rectifications)
    today = local_date(now)
    calendar = WorkingCalendar.load()

    unit = f"{case.responsible_unit.name} ({case.responsible_unit.code})"
    if case.responsible_department is not None:
        unit += f" · {case.responsible_department.name}"
    person = " ".join(p for p in (case.responsible_person_name, case.responsible_person_post) if p) or "—"
    handed_over = "—"
    if case.handed_over_at is not None:
        handed_over = " · ".join(
            part
            for part in (
                display(case.handed_over_at),
                case.organising_division.name if case.organising_division else "",
                _name(case.handed_over_by) if case.handed_over_by else "",
            )
            if part
        )
    received = "—"
    if case.received_at is not None:
        received = f"{display(case.received_at)} · {_name(case.received_by)}"
    escalation = level_name(case.escalation_level)
    if case.escalation_level and case.escalated_at is not None:
        escalation += " · " + _("since %(date)s") % {"date": f"{local_date(case.escalated_at):%Y-%m-%d}"}

    def cell(text: str) -> Paragraph:
        return pdf.paragraph(text, "compact")

    facts = [
        [_("Problem"), f"#{case.pk} · {case.get_status_display()}", _("Category"), case.category.name],
        [_("Village (division path)"), _division_path(case), "", ""],
        [
            _("Found on"),
            f"{local_date(case.opened_at):%Y-%m-%d}",
            _("Severity"),
            case.get_severity_display(),
        ],
        [_("Finding"), _clip(case.finding.description, DESCRIPTION_CHARS) or "—", "", ""],
        [_("Handed over (交办)"), handed_over, _("Receipt (签收)"), received],
        [_("Responsible unit (责任单位)"), unit, _("Responsible person (责任人)"), person],
        [_("Time limit (整改时限)"), _time_limit(case, today, calendar), "", ""],
        [_("Escalation (督办)"), escalation, _("Closed (销号) at"), display(case.closed_at)],
        [_("Measures (整改措施)"), _clip(case.measures, DESCRIPTION_CHARS) or "—", "", ""],
    ]
    spans = [1, 3, 6, 8]  # these rows' values take the three columns to their right
    timeline, spans_of_notes = _timeline_rows(events)
    return [
        _ruled(
            [[cell(text) if text else "" for text in row] for row in facts],
            widths=[26 * mm, 64 * mm, 26 * mm, 64 * mm],
            shaded=[(0, 0, 0, -1), (2, 0, 2, -1)],
            spans=[(1, row, 3, row) for row in spans],
        ),
        pdf.paragraph(_("Evidence"), "heading"),
        _ruled(
            [
                _evidence_row(_("Finding photos"), before),
                _evidence_row(_("After-photos (整改后)"), after),
            ],
            widths=[LABEL_WIDTH, *[CELL_WIDTH] * MAX_PHOTOS],
            shaded=[(0, 0, 0, -1)],
        ),
        pdf.paragraph(_("Timeline"), "heading"),
        _ruled(
            timeline,
            widths=[27 * mm, 55 * mm, 24 * mm, 74 * mm],
            shaded=[(0, 0, -1, 0)],
            spans=spans_of_notes,
        ),
    ]
