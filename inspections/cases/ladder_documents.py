"""The printable documents of the 督办 ladder: the 督办单 of one problem and the monthly 通报.

Both are drawn with :mod:`inspections.common.pdf` in the active language. A
bulletin is drawn from its snapshot (:attr:`~inspections.cases.models.Bulletin.content`)
by :func:`bulletin_sections`, the same rows its HTML pages show; the public
copy leaves out the problems' numbers (the snapshot names no person anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language, gettext
from reportlab.lib.units import mm

from inspections.cases.models import Bulletin, LadderStep
from inspections.common import pdf


def supervision_pdf(*, step: LadderStep) -> bytes:
    """The one-page 督办单 of a ladder step: the problem, the deadline missed, the reply due."""
    case = step.case
    english = (get_language() or "").startswith("en")
    category = case.category.name_en if english and case.category.name_en else case.category.name_zh_hans
    rows = [
        [gettext("Problem"), f"#{case.pk} {category}"],
        [gettext("Village"), f"{case.village.name} ({case.village.code})"],
        [gettext("Deadline"), f"{step.deadline:%Y-%m-%d}"],
        [gettext("Reply due"), f"{step.reply_due:%Y-%m-%d}" if step.reply_due else "—"],
        [gettext("Issued"), f"{timezone.localtime(step.issued_at):%Y-%m-%d}"],
    ]
    story = [
        pdf.table(rows, col_widths=[35 * mm, 140 * mm]),
        pdf.spacer(),
        pdf.paragraph(
            gettext(
                "The problem above was not rectified by its deadline. The responsible unit reports "
                "in writing on the rectification, its measures and its new schedule by the reply date."
            )
        ),
    ]
    return pdf.render(story, title=gettext("Supervision notice (督办单)"), produced_at=step.issued_at)


@dataclass
class Section:
    """One county of a bulletin: its lists, each row ready to show."""

    code: str
    name: str
    lists: list[tuple[str, list[list[str]]]] = field(default_factory=list)


def bulletin_sections(bulletin: Bulletin, *, public: bool) -> tuple[list[str], list[Section]]:
    """``(headers, sections)`` of a bulletin in the active language; ``public`` leaves out problem numbers."""
    english = (get_language() or "").startswith("en")
    titles = {
        "overdue": gettext("Overdue"),
        "relapsed": gettext("Relapsed (返黑返臭)"),
        "false_rectification": gettext("False rectification (虚假整改)"),
    }
    headers = [gettext("Village"), gettext("Problem"), gettext("Deadline"), gettext("Working days overdue")]
    if not public:
        headers = ["#", *headers]
    sections = []
    for county in bulletin.content.get("counties", []):
        section = Section(code=county["code"], name=county["name"])
        for name, title in titles.items():
            rows = []
            for row in county.get(name, []):
                category = row["category_en"] if english and row["category_en"] else row["category_zh_hans"]
                cells = [
                    f"{row['village_name']} ({row['village_code']})",
                    category,
                    row["deadline"],
                    str(row["working_days_overdue"]),
                ]
                rows.append(cells if public else [str(row["case"]), *cells])
            if rows:
                section.lists.append((f"{title}: {len(rows)}", rows))
        sections.append(section)
    return headers, sections


def bulletin_title(bulletin: Bulletin) -> str:
    return gettext("Bulletin (通报) of %(division)s, %(month)s") % {
        "division": bulletin.division.name,
        "month": f"{bulletin.month:%Y-%m}",
    }


def bulletin_totals(bulletin: Bulletin) -> list[tuple[str, Any]]:
    totals = bulletin.content.get("totals", {})
    return [
        (gettext("Overdue"), totals.get("overdue", 0)),
        (gettext("Relapsed (返黑返臭)"), totals.get("relapsed", 0)),
        (gettext("False rectification (虚假整改)"), totals.get("false_rectification", 0)),
    ]


def bulletin_pdf(bulletin: Bulletin, *, public: bool) -> bytes:
    """The bulletin as a PDF: the totals, then each county's lists."""
    headers, sections = bulletin_sections(bulletin, public=public)
    story: list[Any] = [pdf.table([[label, str(value)] for label, value in bulletin_totals(bulletin)])]
    if not sections:
        story += [pdf.spacer(), pdf.paragraph(gettext("No problem to report this month."))]
    for section in sections:
        story += [pdf.paragraph(f"{section.name} ({section.code})", "heading")]
        for title, rows in section.lists:
            story += [pdf.paragraph(title), pdf.table([headers, *rows]), pdf.spacer()]
    return pdf.render(story, title=bulletin_title(bulletin), produced_at=bulletin.compiled_at)
