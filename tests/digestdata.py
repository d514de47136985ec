"""Builders for the digest tests: inspections and cases written directly, in China time.

The digest reads records, not workflows, so the rows are made as the
workflow leaves them (a case exists only for a submitted inspection).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from inspections.accounts.models import Language, User
from inspections.cases.models import Case, CaseStatus
from inspections.checklist.models import ProblemCategory
from inspections.fieldwork.models import Finding, Inspection
from tests.factories import ProblemCategoryFactory, supervisor, user, village

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

ANJI = "330523"  # 安吉县
DEQING = "330521"  # 德清县
HUZHOU = "3305"
YUCUN = "330523108204"  # 余村, 安吉县
ANJI_OTHER = "330523101201"
DEQING_VILLAGE = "330521100201"

# A Monday and the week around it (Monday 6 January 2025, an ordinary week).
MONDAY = dt.date(2025, 1, 6)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def category(code: str = "garbage-pile", **kwargs: Any) -> ProblemCategory:
    defaults = {
        "name_zh_hans": {"garbage-pile": "生活垃圾乱堆乱放", "sewage-idle": "污水设施闲置"}.get(code, code),
        "name_en": {"garbage-pile": "Garbage piled up", "sewage-idle": "Sewage facility idle"}.get(
            code, code
        ),
        "domain": {"sewage-idle": "sewage"}.get(code, "garbage"),
    }
    return cast(ProblemCategory, ProblemCategoryFactory(code=code, **{**defaults, **kwargs}))


def inspection(
    village_code: str,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime | None = None,
    status: str = Inspection.Status.SUBMITTED,
    submitted_at: dt.datetime | None = None,
) -> Inspection:
    window_end = window_end or window_start + dt.timedelta(days=1)
    if status == Inspection.Status.SUBMITTED and submitted_at is None:
        submitted_at = window_end - dt.timedelta(hours=2)
    return Inspection.objects.create(
        mode=Inspection.Mode.RANDOM,
        village=village(village_code, name=f"村{village_code[-3:]}"),
        window_start=window_start,
        window_end=window_end,
        status=status,
        submitted_at=submitted_at if status == Inspection.Status.SUBMITTED else None,
    )


_author: dict[str, User] = {}


def case(
    village_code: str,
    *,
    opened_at: dt.datetime,
    deadline: dt.date,
    status: str = CaseStatus.OPEN,
    closed_at: dt.datetime | None = None,
    severity: str = "moderate",
    kind: ProblemCategory | None = None,
    escalation_level: int = 0,
) -> Case:
    kind = kind or category()
    visit = inspection(
        village_code,
        window_start=opened_at - dt.timedelta(days=1),
        window_end=opened_at + dt.timedelta(hours=1),
    )
    author = User.objects.filter(username="digest-test-inspector").first() or user(
        username="digest-test-inspector"
    )
    finding = Finding.objects.create(
        inspection=visit, category=kind, severity=severity, created_by=author, description="问题"
    )
    if status == CaseStatus.CLOSED and closed_at is None:
        closed_at = opened_at + dt.timedelta(days=3)
    return Case.objects.create(
        finding=finding,
        inspection=visit,
        village=visit.village,
        category=kind,
        severity=severity,
        status=status,
        opened_at=opened_at,
        deadline=deadline,
        deadline_from=opened_at.date(),
        deadline_working_days=10,
        closed_at=closed_at,
        escalation_level=escalation_level,
    )


def recipient(jurisdiction: str, *, language: str = Language.ZH_HANS, **kwargs: Any) -> User:
    kwargs.setdefault("email", f"{kwargs.get('username', 'sup' + jurisdiction)}@example.cn")
    return supervisor(jurisdiction, language=language, **kwargs)


def county_activity(county_village: str, *, scale: int = 1) -> None:
    """A week of activity around MONDAY in one village, ``scale`` times over."""
    garbage, sewage = category("garbage-pile"), category("sewage-idle")
    for _ in range(scale):
        # planned and done in the week; one not submitted after its window closed
        inspection(county_village, window_start=at(2025, 1, 6, 9), window_end=at(2025, 1, 7, 18))
        inspection(
            county_village,
            window_start=at(2025, 1, 8, 9),
            window_end=at(2025, 1, 9, 18),
            status=Inspection.Status.SCHEDULED,
        )
        # new this week, overdue at the end of the week (escalated once)
        case(
            county_village,
            opened_at=at(2025, 1, 7, 10),
            deadline=dt.date(2025, 1, 10),
            kind=garbage,
            severity="serious",
            escalation_level=1,
        )
        # new this week, due on Tuesday 14 January
        case(county_village, opened_at=at(2025, 1, 8, 10), deadline=dt.date(2025, 1, 14), kind=sewage)
        # opened the week before, closed this week
        case(
            county_village,
            opened_at=at(2024, 12, 31, 10),
            deadline=dt.date(2025, 1, 20),
            status=CaseStatus.CLOSED,
            closed_at=at(2025, 1, 9, 15),
            kind=garbage,
        )
