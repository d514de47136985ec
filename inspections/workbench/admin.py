"""The admin's first page: the workbench of the reader's jurisdiction, the app list below it.

Each figure links to the admin list that holds what it counts, by the list's
own filters (``division`` for the area, the status, overdue, deadline and
reply filters), so that the list shows the same number. The figures come from
:func:`inspections.workbench.selectors.workbench_build`; this module only
turns them into links, charts and a template's context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.models import RECTIFICATION_DUE, CaseStatus
from inspections.fieldwork.models import Inspection
from inspections.workbench.charts import Bar, bar_chart
from inspections.workbench.selectors import OPEN_STATUSES, AreaFigures, Workbench, workbench_build

TEMPLATE = "workbench/index.html"


@dataclass(frozen=True)
class Cell:
    """One figure as shown: its text (already safe) and the list it links to."""

    html: SafeString
    label: str = ""


def _url(name: str, **params: str) -> str:
    query = urlencode({key: value for key, value in params.items() if value != ""})
    url = reverse(name)
    return f"{url}?{query}" if query else url


def _link(value: int, href: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', href, value)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


class Links:
    """The admin lists behind each figure of one area (``code``; ``""``: the whole country)."""

    def __init__(self, bench: Workbench, code: str) -> None:
        self.bench = bench
        self.division = code

    def cases(self, **params: str) -> str:
        return _url("admin:inspections_case_changelist", division=self.division, **params)

    def open(self) -> str:
        return self.cases(status__in=",".join(OPEN_STATUSES))

    def overdue(self) -> str:
        return self.cases(overdue="yes")

    def escalated(self) -> str:
        return self.cases(overdue="yes", escalation_level__gte="1")

    def due_soon(self) -> str:
        return self.cases(
            status__in=",".join(RECTIFICATION_DUE),
            deadline__gte=self.bench.today.isoformat(),
            deadline__lte=self.bench.due_until.isoformat(),
        )

    def awaiting_review(self) -> str:
        return self.cases(status__exact=CaseStatus.AWAITING_REVIEW)

    def due_this_year(self) -> str:
        return self.cases(
            status__in=",".join((*OPEN_STATUSES, CaseStatus.CLOSED)),
            deadline__gte=f"{self.bench.year}-01-01",
            deadline__lt=self.bench.today.isoformat(),
        )

    def relapsed(self) -> str:
        return self.cases(is_relapse__exact="1")

    def flagged(self, **params: str) -> str:
        """The queue of photos whose evidence flags await review (``belongs="case"``: after-photos only)."""
        return _url("admin:inspections_photo_changelist", division=self.division, **params)

    def inspected(self) -> str:
        return _url(
            "admin:inspections_inspection_changelist",
            status__exact=Inspection.Status.SUBMITTED,
            submitted_at__year=str(self.bench.year),
            division=self.division,
        )

    def villages(self) -> str:
        return _url("admin:villages_village_changelist", q=self.division, is_active__exact="1")

    def complaints(self) -> str:
        return _url("admin:inspections_complaint_changelist", reply="open", division=self.division)


def _cells(bench: Workbench, figures: AreaFigures) -> list[Cell]:
    links = Links(bench, figures.code)
    coverage = format_html(
        '<span title="{}">{}</span> '
        '<span class="quiet">(<a href="{}" title="{}">{}</a> / <a href="{}">{}</a>)</span>',
        gettext("villages with an inspection submitted this year / active villages"),
        _rate(figures.coverage),
        links.inspected(),
        gettext("%(count)d inspections submitted this year") % {"count": figures.inspections_submitted},
        figures.villages_inspected,
        links.villages(),
        figures.villages,
    )
    on_time = format_html(
        '{} <span class="quiet">({} / <a href="{}">{}</a>)</span>',
        _rate(figures.on_time_rate),
        figures.on_time,
        links.due_this_year(),
        figures.due_this_year,
    )
    relapse = format_html(
        '{} <span class="quiet">(<a href="{}">{}</a> / {})</span>',
        _rate(figures.relapse_rate),
        links.relapsed(),
        figures.relapsed,
        figures.closed_or_relapsed,
    )
    shown = [
        _link(figures.open, links.open()),
        _link(figures.overdue, links.overdue()),
        _link(figures.escalated, links.escalated()),
        _link(figures.due_soon, links.due_soon()),
        _link(figures.awaiting_review, links.awaiting_review()),
        _link(figures.flagged_photos, links.flagged()),
        coverage,
        on_time,
        relapse,
        _link(figures.complaints_awaiting, links.complaints()),
    ]
    # Each cell knows its column's name: on a phone the table is shown as one card per area.
    return [Cell(html, str(name)) for html, (name, _help) in zip(shown, COLUMNS, strict=True)]


COLUMNS = [
    (_("open problems"), _("confirmed (交办) and not yet closed (销号)")),
    (_("overdue"), _("past the deadline, still owing a rectification")),
    (_("escalated"), _("overdue and under 督办")),
    (_("due within 5 working days"), _("owing a rectification, deadline within the next five working days")),
    (_("awaiting review"), _("findings not yet confirmed, merged or voided by the organising level")),
    (
        _("evidence flags"),
        _("photos of submitted inspections and rectification after-photos with flags awaiting review"),
    ),
    (_("coverage this year"), _("villages with an inspection submitted this year / active villages")),
    (_("on-time rectification"), _("rectified by the deadline, of the problems due this year before today")),
    (_("relapse rate"), _("found relapsed by a look-back, of the problems closed or relapsed")),
    (_("complaints awaiting reply"), _("complaints (群众举报) not yet answered")),
]


def _area_label(bench: Workbench) -> str:
    return {
        2: pgettext("workbench area", "province"),
        4: pgettext("workbench area", "prefecture"),
        6: pgettext("workbench area", "county"),
        9: pgettext("workbench area", "township"),
        12: pgettext("workbench area", "village"),
    }.get(bench.area_length, pgettext("workbench area", "division"))


def workbench_context(request: HttpRequest) -> dict[str, Any]:
    """The template context of the first page for ``request``'s reader (nothing without a jurisdiction)."""
    user = request.user
    if not isinstance(user, User):
        return {}
    bench = workbench_build(user=user)
    if bench is None:
        return {"workbench": None}
    rows = [(figures, _cells(bench, figures)) for figures in bench.areas]
    total_cells = _cells(bench, bench.total)
    scale = max((figures.open for figures in bench.areas), default=0)
    problems_chart = bar_chart(
        title=gettext("Open problems by %(area)s, the overdue part in red") % {"area": _area_label(bench)},
        legend=gettext("open problems (red: overdue)"),
        bars=[
            Bar(
                label=figures.name,
                value=figures.open,
                part=figures.overdue,
                text=gettext("%(open)d open, %(overdue)d overdue")
                % {"open": figures.open, "overdue": figures.overdue},
                href=Links(bench, figures.code).open(),
            )
            for figures in bench.areas
        ],
        scale=float(scale),
    )
    coverage_chart = bar_chart(
        title=gettext("Coverage this year by %(area)s") % {"area": _area_label(bench)},
        legend=gettext("villages inspected this year, of the active villages"),
        bars=[
            Bar(
                label=figures.name,
                value=(figures.coverage or 0.0) * 100,
                text=f"{_rate(figures.coverage)} ({figures.villages_inspected}/{figures.villages})",
                href=Links(bench, figures.code).inspected(),
            )
            for figures in bench.areas
        ],
        scale=100.0,
    )
    return {
        "title": gettext("Workbench"),
        "workbench": bench,
        "workbench_area_label": _area_label(bench),
        "workbench_columns": COLUMNS,
        "workbench_rows": rows,
        "workbench_total": total_cells,
        "workbench_charts": [problems_chart, coverage_chart],
        "workbench_flagged_after_photos": bench.total.flagged_after_photos,
        "workbench_flagged_after_photos_link": Links(bench, bench.total.code).flagged(belongs="case"),
        "workbench_visits_link": _url(
            "admin:inspections_inspection_changelist",
            status__in=f"{Inspection.Status.SCHEDULED},{Inspection.Status.IN_PROGRESS}",
        ),
        "workbench_notices_link": _url("admin:inspections_casenotification_changelist", read_at__isempty="1"),
    }


admin.site.first_page_set(template=TEMPLATE, context=workbench_context)  # type: ignore[attr-defined]
