"""Builders for every test: one function per thing, keyword arguments, real rows.

Each builder makes the smallest valid record and says what it chose; a test
passes what it cares about and nothing else. Builders write rows the way the
workflow leaves them (a submitted inspection has a submission time, a case
belongs to a finding of a submitted inspection); :func:`open_case` is the one
that goes through the service, for tests of what the service does next.

Moments are aware and given in China time (:func:`at`). Villages get short
names (``村204``) that never contain their code, so an assertion that a code
appears in some output cannot pass because of a name.

Photos are either real camera files (``tests/fixtures/photos/``, see its
README) or generated here with chosen EXIF: position, capture time and offset,
software. Generated pictures are random shapes from a seed, so two seeds give
perceptually different photos and one seed re-encoded gives a near duplicate.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from pathlib import Path
from typing import Any, cast

import factory
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from inspections.accounts.models import Inspector, Language, Role, User
from inspections.cases.models import Case, CaseStatus
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.checklist.models import ProblemCategory
from inspections.common.china_time import SHANGHAI
from inspections.evidence import services as evidence_services
from inspections.evidence.models import Photo
from inspections.fieldwork.models import CoverageTally, Finding, Inspection
from inspections.sampling.models import SamplingPlan
from tests.conftest import client_for
from villages.geo import wgs84_to_gcj02
from villages.models import Division, Village, village_kind_for

# --- Places --------------------------------------------------------------------------------

HUZHOU = "3305"  # 湖州市
ANJI = "330523"  # 安吉县
DEQING = "330521"  # 德清县
WUXING = "330502"  # 吴兴区: the inspectors' home by default, outside Anji
COUNTIES = ["330521", "330522", "330523"]  # Huzhou's three counties of the sampling region
YUCUN = "330523108204"  # 余村, 天荒坪镇, 安吉县
YUCUN_WGS84 = (119.6353, 30.5370)  # a point to put test villages on (WGS-84)
ANJI_OTHER = "330523101201"
DEQING_VILLAGE = "330521100201"

# A Monday and the week around it (Monday 6 January 2025, an ordinary week).
MONDAY = dt.date(2025, 1, 6)

PHOTOS = Path(__file__).parent / "fixtures" / "photos"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware moment, given in China time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def division(code: str, name: str | None = None) -> Division:
    """The division with this code, creating it and its ancestors as needed."""
    level = {2: 1, 4: 2, 6: 3, 9: 4}[len(code)]
    parent = None
    if level > 1:
        parent = division(code[: {2: 0, 4: 2, 6: 4, 9: 6}[len(code)]])
    obj, _ = Division.objects.get_or_create(
        code=code, defaults={"name": name or f"区划{code}", "level": level, "parent": parent}
    )
    return obj


def village(code: str, name: str | None = None, **fields: object) -> Village:
    """The village with this code (its township and ancestors created as needed).

    The name defaults to ``村`` and the code's last three digits.
    """
    name = name or f"村{code[-3:]}"
    obj, _ = Village.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "township": division(code[:9]),
            "kind": village_kind_for(code, name),
            **fields,
        },
    )
    return obj


# Inside builders whose keyword argument has the same name as the builder.
_village_builder = village


def confirmed_village(
    code: str = YUCUN, *, datum: str = "gcj02", point: tuple[float, float] | None = None
) -> Village:
    """A village with a confirmed location at ``point`` (WGS-84, Yucun by default), stored in ``datum``."""
    lon, lat = point or YUCUN_WGS84
    if datum == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return village(
        code, longitude=lon, latitude=lat, datum=datum, location_source=Village.LocationSource.CONFIRMED
    )


def region() -> list[str]:
    """Huzhou's three counties, four villagers' committees each (returned) and one residents' committee."""
    codes = []
    for county in COUNTIES:
        for n in range(4):
            codes.append(village(f"{county}101{200 + n:03d}").code)
        village(f"{county}101001")  # a residents' committee
    return codes


# --- People --------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=extracted)
            obj.groups.add(group)


class InspectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspector

    user = factory.SubFactory(UserFactory, role=Role.INSPECTOR)
    credential_number = factory.Sequence(lambda n: f"ZJ-{n:05d}")
    unit = "生态环境局"
    home_division = factory.LazyFunction(lambda: division(WUXING))


def user(**fields: Any) -> User:
    """An account (password ``pw-for-tests-only``); ``role=`` puts it in that role's group."""
    return cast(User, UserFactory(**fields))


def supervisor(jurisdiction: str, **fields: Any) -> User:
    """A supervisor (staff) over the division ``jurisdiction``."""
    return user(role=Role.SUPERVISOR, jurisdiction=division(jurisdiction), is_staff=True, **fields)


def responsible_party(jurisdiction: str, **fields: Any) -> User:
    """The responsible party (责任单位) of the division ``jurisdiction``."""
    return user(role=Role.RESPONSIBLE_PARTY, jurisdiction=division(jurisdiction), **fields)


def recipient(jurisdiction: str, *, language: str = Language.ZH_HANS, **fields: Any) -> User:
    """A supervisor with an email address: who receives digests (``<username>@example.cn``)."""
    fields.setdefault("email", f"{fields.get('username', 'sup' + jurisdiction)}@example.cn")
    return supervisor(jurisdiction, language=language, **fields)


def organiser() -> User:
    """The supervisor of Huzhou who plans the sampling draws."""
    return supervisor(HUZHOU)


def inspector(**fields: Any) -> Inspector:
    """An inspector (吴兴区 by default, so eligible for Anji's villages)."""
    return cast(Inspector, InspectorFactory(**fields))


def verifiers(count: int = 3, home: str = WUXING) -> list[Inspector]:
    """Inspectors from outside Anji (吴兴区 by default): eligible to verify Anji's cases."""
    return [inspector(home_division=division(home)) for _ in range(count)]


def roster(per_county: int = 2, **fields: Any) -> list[Inspector]:
    """``per_county`` inspectors at home in each of the region's counties."""
    return [
        inspector(home_division=division(county), credential_number=f"ZJ-{county}-{n}", **fields)
        for county in COUNTIES
        for n in range(per_county)
    ]


# --- Checklist, inspections, findings -----------------------------------------------------


class ProblemCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProblemCategory
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"category-{n}")
    name_zh_hans = factory.Sequence(lambda n: f"问题{n}")
    name_en = factory.Sequence(lambda n: f"Problem {n}")
    domain = "garbage"
    default_severity = "moderate"
    rectification_days = 10


# The two categories tests name, with the checklist's wording.
KNOWN_CATEGORIES: dict[str, dict[str, str]] = {
    "garbage-pile": {"name_zh_hans": "生活垃圾乱堆乱放", "name_en": "Garbage piled up", "domain": "garbage"},
    "sewage-idle": {"name_zh_hans": "污水设施闲置", "name_en": "Sewage facility idle", "domain": "sewage"},
}


def category(code: str = "garbage-pile", **fields: Any) -> ProblemCategory:
    """The problem category with this code (created on first use; 10 days to rectify)."""
    values = {**KNOWN_CATEGORIES.get(code, {}), **fields}
    return cast(ProblemCategory, ProblemCategoryFactory(code=code, **values))


_category_builder = category


def inspection(
    *,
    village: Village | str | None = None,
    team: list[Inspector] | None = None,
    mode: str = Inspection.Mode.UNANNOUNCED,
    status: str = Inspection.Status.SCHEDULED,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    hours: int = 8,
    submitted_at: dt.datetime | None = None,
    **fields: Any,
) -> Inspection:
    """An inspection of ``village`` (a code or a village; Yucun with a confirmed location by default).

    The window opens an hour ago and lasts ``hours`` unless given. A submitted
    inspection is submitted two hours before its window closes (or now, if
    that is still to come) unless ``submitted_at`` says when.
    """
    if village is None:
        village = confirmed_village()
    elif isinstance(village, str):
        village = _village_builder(village)
    window_start = window_start or timezone.now() - dt.timedelta(hours=1)
    window_end = window_end or window_start + dt.timedelta(hours=hours)
    if status == Inspection.Status.SUBMITTED and submitted_at is None:
        submitted_at = min(window_end - dt.timedelta(hours=2), timezone.now())
    visit = Inspection.objects.create(
        mode=mode,
        village=village,
        window_start=window_start,
        window_end=window_end,
        status=status,
        submitted_at=submitted_at,
        **fields,
    )
    if team:
        visit.team.set(team)
    if status == Inspection.Status.SUBMITTED:
        CoverageTally.objects.count_visit(visit)  # as Inspection.submit does
    return visit


def digest_inspection(
    village_code: str,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime | None = None,
    status: str = Inspection.Status.SUBMITTED,
    submitted_at: dt.datetime | None = None,
) -> Inspection:
    """An inspection as the digests count it: a drawn visit of a day, submitted unless ``status`` says."""
    return inspection(
        village=village_code,
        mode=Inspection.Mode.RANDOM,
        status=status,
        window_start=window_start,
        window_end=window_end or window_start + dt.timedelta(days=1),
        submitted_at=submitted_at if status == Inspection.Status.SUBMITTED else None,
    )


def finding_author() -> User:
    """The account that records findings when the inspection has no team."""
    return User.objects.filter(username="finding-author").first() or user(username="finding-author")


def finding(
    *,
    inspection: Inspection,
    category: ProblemCategory | None = None,
    severity: str = "moderate",
    description: str = "问题",
    created_by: User | None = None,
    **fields: Any,
) -> Finding:
    """A finding of ``inspection`` (garbage piled up, moderate), recorded by its first team member."""
    if created_by is None:
        member = inspection.team.order_by("pk").first()
        created_by = member.user if member is not None else finding_author()
    return Finding.objects.create(
        inspection=inspection,
        category=category or _category_builder(),
        severity=severity,
        description=description,
        created_by=created_by,
        **fields,
    )


def submitted_inspection(
    *,
    village_code: str = YUCUN,
    findings: int = 1,
    team: list[Inspector] | None = None,
    submitted_at: dt.datetime | None = None,
    category_days: int = 10,
    status: str = Inspection.Status.SUBMITTED,
    photos_per_finding: int = 0,
) -> Inspection:
    """A random-draw visit submitted at ``submitted_at`` (now) with ``findings`` findings and no cases yet.

    Its window opened two days before; each finding is in a category of
    ``category_days`` working days and names ``photos_per_finding`` photo UUIDs.
    """
    submitted_at = submitted_at or timezone.now()
    team = team if team is not None else [inspector()]
    visit = inspection(
        village=village_code,
        team=team,
        mode=Inspection.Mode.RANDOM,
        status=status,
        window_start=submitted_at - dt.timedelta(days=2),
        window_end=submitted_at + dt.timedelta(hours=1),
        submitted_at=submitted_at if status == Inspection.Status.SUBMITTED else None,
    )
    kind = category(code=f"garbage-pile-{category_days}", rectification_days=category_days)
    for n in range(findings):
        finding(
            inspection=visit,
            category=kind,
            description=f"垃圾堆放 {n}",
            longitude=119.68,
            latitude=30.52,
            datum="wgs84",
            photo_uuids=[f"00000000-0000-4000-8000-{n:06d}{p:06d}" for p in range(photos_per_finding)],
            created_by=team[0].user,
        )
    return visit


# --- Cases -------------------------------------------------------------------------------


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
    """A case row as the workflow leaves it, without going through it (for tests that read cases).

    Its inspection, a random draw, closed an hour after ``opened_at``; a
    closed case closed three days after it opened unless ``closed_at`` says when.
    """
    kind = kind or category()
    visit = inspection(
        village=village_code,
        mode=Inspection.Mode.RANDOM,
        status=Inspection.Status.SUBMITTED,
        window_start=opened_at - dt.timedelta(days=1),
        window_end=opened_at + dt.timedelta(hours=1),
    )
    found = finding(inspection=visit, category=kind, severity=severity)
    if status == CaseStatus.CLOSED and closed_at is None:
        closed_at = opened_at + dt.timedelta(days=3)
    return Case.objects.create(
        finding=found,
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


def open_case(
    *, now: dt.datetime | None = None, hand_over: bool | None = True, **inspection_fields: Any
) -> Case:
    """One case, opened by the service from a freshly submitted inspection (:func:`submitted_inspection`).

    Handed over at once (the automatic 交办) unless ``hand_over=False`` (it awaits review)
    or ``None`` (the jurisdiction's choice).
    """
    visit = submitted_inspection(**inspection_fields)
    return cases_open_for_inspection(inspection=visit, now=now, hand_over=hand_over)[0]


def force_status(case: Case, status: str, **fields: Any) -> Case:
    """Test set-up only: put a case in a status without going through the workflow."""
    if status == CaseStatus.CLOSED:
        fields.setdefault("closed_at", timezone.now())
    Case.objects.filter(pk=case.pk).update(status=status, **fields)
    case.refresh_from_db()
    return case


def events_of(case: Case) -> list[str]:
    """The kinds of a case's events, in chain order."""
    return list(case.events.order_by("seq").values_list("kind", flat=True))


def county_activity(county_village: str, *, scale: int = 1) -> None:
    """A week of activity around MONDAY in one village, ``scale`` times over."""
    garbage, sewage = category("garbage-pile"), category("sewage-idle")
    for _ in range(scale):
        # planned and done in the week; one not submitted after its window closed
        inspection(
            village=county_village,
            mode=Inspection.Mode.RANDOM,
            status=Inspection.Status.SUBMITTED,
            window_start=at(2025, 1, 6, 9),
            window_end=at(2025, 1, 7, 18),
        )
        inspection(
            village=county_village,
            mode=Inspection.Mode.RANDOM,
            window_start=at(2025, 1, 8, 9),
            window_end=at(2025, 1, 9, 18),
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


# --- Sampling ------------------------------------------------------------------------------


def plan(by: User | None = None, **fields: Any) -> SamplingPlan:
    """A sampling plan over Huzhou, drawing 3 villagers' committees for a window opening in 3 days."""
    by = by or organiser()
    start = timezone.now() + dt.timedelta(days=3)
    values: dict[str, Any] = {
        "name": "2025年第一批双随机抽查",
        "scope": division(HUZHOU),
        "window_start": start,
        "window_end": start + dt.timedelta(days=5),
        "sample_size": 3,
        "excluded_kinds": ["residents"],
        "created_by": by,
        **fields,
    }
    created = SamplingPlan.objects.create(**values)
    created.organisers.add(by)
    return created


# --- Photos --------------------------------------------------------------------------------


def dms(value: float) -> tuple[float, float, float]:
    """Degrees, minutes and seconds as a camera writes them (seconds to 1/10,000)."""
    total = round(value * 3600, 4)
    degrees, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return (int(degrees), int(minutes), round(seconds, 4))


def picture(seed: int = 0, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A picture of random shapes: the same seed draws the same picture."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1 = x0 + rng.randrange(size[0] // 16 + 1, size[0] // 2 + 2)
        y1 = y0 + rng.randrange(size[1] // 16 + 1, size[1] // 2 + 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image


def camera_jpeg(
    *,
    seed: int = 0,
    gps: tuple[float, float] | None = None,
    gps_accuracy_m: float | None = 5.0,
    taken_at: dt.datetime | None = None,
    offset: str | None = "+08:00",
    software: str | None = None,
    make: str = "Xiaomi",
    model: str = "23127PN0CC",
    exif: bool = True,
    quality: int = 90,
    size: tuple[int, int] = (640, 480),
    resize_to: tuple[int, int] | None = None,
) -> bytes:
    """A JPEG as a phone would write it, with exactly the EXIF asked for.

    ``taken_at`` is written as local time in ``offset`` (or in China time
    without an offset tag when ``offset`` is None).
    """
    image = picture(seed, size)
    if resize_to is not None:
        image = image.resize(resize_to, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if not exif:
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()
    tags = Image.Exif()
    tags[271] = make
    tags[272] = model
    if software:
        tags[305] = software
    sub = tags.get_ifd(0x8769)
    if taken_at is not None:
        hours, minutes = (8, 0) if offset is None else (int(offset[1:3]), int(offset[4:6]))
        sign = -1 if offset is not None and offset.startswith("-") else 1
        local = taken_at.astimezone(timezone.get_fixed_timezone(sign * (hours * 60 + minutes)))
        sub[36867] = local.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            sub[36881] = offset
    if gps is not None:
        lon, lat = gps
        gps_ifd = tags.get_ifd(0x8825)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = dms(abs(lat))
        gps_ifd[3] = "E" if lon >= 0 else "W"
        gps_ifd[4] = dms(abs(lon))
        if gps_accuracy_m is not None:
            gps_ifd[31] = gps_accuracy_m
    image.save(out, "JPEG", quality=quality, exif=tags.tobytes())
    return out.getvalue()


def fixture_bytes(name: str) -> bytes:
    """A real camera file from ``tests/fixtures/photos/``."""
    return (PHOTOS / name).read_bytes()


def upload(
    client: Any,
    inspection: Inspection,
    content: bytes,
    *,
    client_uuid: uuid.UUID | str | None = None,
    name: str = "photo.jpg",
    **fields: Any,
) -> Any:
    """POST photos/ (multipart) as the phone does; the response."""
    data = {
        "file": SimpleUploadedFile(name, content, content_type="application/octet-stream"),
        "client_uuid": str(client_uuid or uuid.uuid4()),
        "inspection": inspection.pk,
        **{key: value for key, value in fields.items() if value is not None},
    }
    return client.post("/api/v1/photos/", data, format="multipart")


def process_all() -> list[Photo]:
    """Run the processing task's service on every waiting photo, oldest first (as one worker would)."""
    done = []
    for photo_id in (
        Photo.objects.filter(status=Photo.Status.RECEIVED).order_by("pk").values_list("pk", flat=True)
    ):
        processed = evidence_services.photo_process(photo_id=photo_id)
        assert processed is not None
        done.append(processed)
    return done


def photo(
    *,
    inspection: Inspection,
    content: bytes | None = None,
    by: Inspector | None = None,
    process: bool = True,
    **fields: Any,
) -> Photo:
    """A photo of ``inspection`` uploaded by a team member as the phone does, then processed.

    ``content`` defaults to :func:`camera_jpeg` taken at Yucun; ``process=False``
    leaves it received (waiting for the worker).
    """
    member = by or inspection.team.order_by("pk").first()
    assert member is not None, "the photo's inspection needs a team (or pass by=)"
    content = content if content is not None else camera_jpeg(gps=YUCUN_WGS84)
    response = upload(client_for(member.user), inspection, content, **fields)
    assert response.status_code == 201, response.content
    received = Photo.objects.get(client_uuid=response.json()["client_uuid"])
    if not process:
        return received
    processed = evidence_services.photo_process(photo_id=received.pk)
    assert processed is not None
    return processed


def flag_codes(photo: Photo) -> set[str]:
    """The photo's evidence flag codes, as stored now."""
    photo.refresh_from_db()
    return set(photo.flag_codes)


def fresh_uuid() -> str:
    return str(uuid.uuid4())
