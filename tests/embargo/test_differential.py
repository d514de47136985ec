"""The structural guard of the embargo (四不两直): a visit must be undetectable, not just unreadable.

Every surface is rendered twice for every account that may not know of a
pending visit: once in a world with an unsubmitted visit drawn by another
organiser, once in the same world without it. The two renderings must be
identical (after masking the ids of rows the reads themselves create).

Surfaces are enumerated, not listed by hand, so that a new one is covered by
construction:

* every URL pattern of the project outside the admin (the API, the public
  pages, the unsubscribe page), with each parameter taken from the rows of the
  model its name says (an unmapped parameter fails the test: map it);
* for every model registered in the admin, every URL its ``ModelAdmin`` serves
  (list, add, change, history, delete, custom views), with each object id
  taken from the baseline and from the visit's rows; each list also searched
  for the visit's village by name and by code and opened with each of its
  filter links; every autocomplete field searched for the village;
* the admin's site-level pages (index, each app, "view on site");
* every query parameter of each API list the schema declares (each value of
  an enum; the village's code or name otherwise);
* every periodic task run as beat would run it (digests, escalation, public
  warnings, …): the emails it sends.

The pending visits, all someone else's and all at once (one rendering of the
site is costly): another organiser's drawn plan of three visits — the first
under way (checked in, a finding, a photo of a scene the village photographs
again after rectification, a photo duplicating a visible one), the others
before their window —, another organiser's targeted 暗访 of three villages,
a look-back visit (回头看) of a closed case, and another organiser's 核查 visit of a
complaint recorded by the prefecture's intake desk (whose account reads too).

The world is rendered with the visits in it first, inside a savepoint that is
then rolled back, and then without them, with the same URLs: an id of the
visits' rows then names a row that does not exist, which must look the same.
Time stands still (``time_machine``) so that "now" is one moment in both.

Readers: every account that is neither a superuser nor an organiser of the
hidden plan — supervisors of the province, the prefecture and each county,
responsible parties of each township, every inspector on the roster (those
drawn onto a team before its window opens too; the team of the visit under
way is left out, since it knows), an account without a role — and the
anonymous public.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.urls.resolvers import RoutePattern
from drf_spectacular.generators import SchemaGenerator

from inspections.accounts.models import Inspector, Role, User
from inspections.cases.models import CaseStatus, FollowUp
from inspections.cases.services.follow_ups import follow_up_schedule
from inspections.cases.services.ladder import bulletin_compile, bulletin_jurisdictions
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.complaints.models import Complaint
from inspections.complaints.services import complaint_order_check
from inspections.evidence.models import Photo, Upload
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from inspections.fieldwork.services import check_in_record, finding_record
from inspections.publication.models import Publication, PublicImage, TypicalCase
from inspections.sampling.models import Assignment, Draw, TargetedVisit
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from inspections.sampling.targeted import targeted_visit_order
from tests.builders import (
    ANJI,
    COUNTIES,
    DEQING,
    HUZHOU,
    YUCUN_WGS84,
    ProblemCategoryFactory,
    at,
    camera_jpeg,
    division,
    photo,
    plan,
    process_all,
    recipient,
    region,
    responsible_party,
    roster,
    submitted_inspection,
    supervisor,
    user,
)
from tests.builders import (
    case as closed_case,
)
from tests.conftest import client_for
from villages.models import Village

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Tuesday 7 January 2025, 09:00 China time: yesterday and last week are complete periods.
NOW = at(2025, 1, 7, 9)

# Rows that a read itself writes (the embargo access log): their ids are not the visit's.
READ_WRITTEN = re.compile(r"(/embargoaccesslog/)\d+/")
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|\["X-CSRFTOKEN"\] = ")[^"]+"')
SORT_LINK = re.compile(r"[?&]o=")

# API and public URL names with an object parameter, and the model whose rows fill it.
PARAMETER_MODELS: dict[tuple[str, str], type[models.Model]] = {
    ("assignment-detail", "pk"): Inspection,
    ("inspection-detail", "pk"): Inspection,
    ("inspection-check-in", "pk"): Inspection,
    ("inspection-submit", "pk"): Inspection,
    ("photo-detail", "client_uuid"): Photo,
    ("photo-file", "client_uuid"): Photo,
    ("upload-detail", "pk"): Upload,
    ("case-detail", "pk"): apps.get_model("inspections", "Case"),
    ("case-acknowledge", "pk"): apps.get_model("inspections", "Case"),
    ("case-rectify", "pk"): apps.get_model("inspections", "Case"),
    ("case-verification", "pk"): apps.get_model("inspections", "Case"),
    ("case-look-back", "pk"): apps.get_model("inspections", "Case"),
    ("case-extension", "pk"): apps.get_model("inspections", "Case"),
    ("case-handover-sheet", "pk"): apps.get_model("inspections", "Case"),
    ("case-rectification-sheet", "pk"): apps.get_model("inspections", "Case"),
    ("case-receipt", "pk"): apps.get_model("inspections", "Case"),
    ("case-measures", "pk"): apps.get_model("inspections", "Case"),
    ("case-stage-complete", "pk"): apps.get_model("inspections", "Case"),
    ("case-stage-complete", "seq"): apps.get_model("inspections", "CaseStage"),
    ("public-draw", "pk"): Draw,
    ("public-targeted-visit", "pk"): TargetedVisit,
    ("targeted-visit-detail", "pk"): TargetedVisit,
    ("complaint-detail", "pk"): Complaint,
    ("complaint-check", "pk"): Complaint,
    ("public-result-detail", "pk"): Publication,
    ("public-typical-detail", "pk"): TypicalCase,
    ("public-image", "uuid"): PublicImage,
    ("public-result", "pk"): Publication,
    ("public-typical-case", "pk"): TypicalCase,
    ("public-bulletin", "pk"): apps.get_model("inspections", "Bulletin"),
    ("public-bulletin-pdf", "pk"): apps.get_model("inspections", "Bulletin"),
    # Admin views beyond a model's own rows.
    ("finding-photo-drop", "client_uuid"): Finding,
    ("finding-photo-drop", "photo_uuid"): Photo,
    ("admin:inspections_photo_file", "client_uuid"): Photo,
    ("admin:inspections_samplingplan_reassign", "assignment_id"): Assignment,
    ("admin:inspections_case_export_status", "key"): apps.get_model("inspections", "LedgerExport"),
    ("admin:inspections_case_export_file", "key"): apps.get_model("inspections", "LedgerExport"),
    ("admin:inspections_samplingplan_cancel_visit", "assignment_id"): Assignment,
}
# Pages that describe the API and read no rows: the same for everyone, whatever the data.
DESCRIPTIONS = {"schema", "docs", "redoc"}
# Parameters that are not rows.
PARAMETER_VALUES: dict[str, list[str]] = {
    "kind": ["original", "preview", "thumbnail"],
    "lang": ["zh-hans", "en"],
    # An unsubscribe token is a signed value no reader can make for someone else.
    "token": ["not-a-token"],
}
# How a row is named in a URL where it is not named by its primary key.
URL_KEYS: dict[type[models.Model], str] = {
    Photo: "client_uuid",
    PublicImage: "uuid",
    Finding: "client_uuid",
    apps.get_model("inspections", "LedgerExport"): "uuid",
    apps.get_model("inspections", "CaseStage"): "seq",  # a stage is named by its number within its problem
}
# At most this many rows of the hidden visit per model (the first ones are enough to vary ids).
HIDDEN_PER_MODEL = 3


# --- The world -----------------------------------------------------------------------------


@dataclass
class World:
    readers: list[User]
    hidden_organiser: User
    hidden: dict[type[models.Model], list[Any]] = field(default_factory=dict)
    hidden_village_names: list[str] = field(default_factory=list)
    hidden_village_codes: list[str] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)
    township_party: str = ""


def _scene(seed: int = 7, quality: int = 90) -> bytes:
    """A photo of one scene: the visible visit's (seed 7), which the hidden visit photographs again,
    and a scene only the hidden visit photographs (seed 8), which the village photographs after."""
    return camera_jpeg(seed=seed, gps=YUCUN_WGS84, taken_at=at(2025, 1, 5, 10), quality=quality)


def _baseline() -> tuple[list[User], User]:
    """Visible work of the region: a submitted visit with a case and a photo, a county's own draft plan."""
    region()
    roster()
    ProblemCategoryFactory(code="garbage-pile", name_zh_hans="垃圾乱堆")
    province = recipient("33", username="sup-zhejiang")
    prefecture = recipient(HUZHOU, username="sup-huzhou")
    counties = [recipient(code, username=f"sup-{code}") for code in COUNTIES]
    townships = [responsible_party(f"{code}101", username=f"party-{code}101") for code in COUNTIES]
    nobody = user(username="no-role")

    visit = submitted_inspection(
        village_code=f"{ANJI}101201", submitted_at=at(2025, 1, 6, 10), status=Inspection.Status.IN_PROGRESS
    )
    photo(inspection=visit, content=_scene(), by=visit.team.get())
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=at(2025, 1, 6, 10)
    )
    visit.refresh_from_db()
    cases_open_for_inspection(inspection=visit, now=at(2025, 1, 6, 10), hand_over=True)
    plan(by=counties[2], name="安吉县自己的草稿", scope=division(ANJI), sample_size=2)
    # A case of Deqing closed last month: what a look-back visit comes back to.
    closed_case(
        f"{DEQING}101202",
        opened_at=at(2024, 12, 2, 10),
        deadline=dt.date(2024, 12, 16),
        status=CaseStatus.CLOSED,
        closed_at=at(2024, 12, 12, 10),
    )

    # A complaint about an Anji village, recorded by the prefecture's intake desk: its 核查 visit
    # is one of the pending visits.
    intake = supervisor(HUZHOU, username="intake-huzhou")
    intake.groups.add(Group.objects.get(name=Role.COMPLAINT_INTAKE))
    Complaint.objects.create(
        source=Complaint.Source.HOTLINE_12369,
        ticket_number="12369-20250106-0007",
        received_at=at(2025, 1, 6, 9),
        content="村口池塘发黑发臭",
        village=Village.objects.get(code=f"{ANJI}101203"),
        reporter_name="张某某",
        reporter_contact="13800138000",
        reply_due=dt.date(2025, 1, 20),
        recorded_by=intake,
    )

    hidden_organiser = supervisor(HUZHOU, username="hidden-organiser")
    readers = [province, prefecture, *counties, *townships, nobody, intake]
    readers += [inspector.user for inspector in Inspector.objects.select_related("user").order_by("pk")]
    return readers, hidden_organiser


def _after(world: World) -> None:
    """Visible work done after the visit was drawn: the village's after-photo of the same scene.

    Done in both worlds (after the visit in one of them), so that whatever the
    visit's photos would add to later evidence (duplicate flags) is compared.
    """
    case = apps.get_model("inspections", "Case").objects.get(village__code=f"{ANJI}101201")
    party = next(reader for reader in world.readers if reader.username == world.township_party)
    response = client_for(party).post(
        "/api/v1/photos/",
        {
            "file": SimpleUploadedFile("after.jpg", _scene(seed=8, quality=80), content_type="image/jpeg"),
            "client_uuid": str(uuid.UUID(int=42)),
            "case": case.pk,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    process_all()
    # The month's bulletins (通报) so far, shown on the public pages: compiled with the visits pending.
    for jurisdiction in bulletin_jurisdictions():
        bulletin = bulletin_compile(division=jurisdiction, month=NOW.date())
        assert bulletin is not None
        type(bulletin).objects.filter(pk=bulletin.pk).update(is_public=True)


def _reset_sequences() -> None:
    """After a rollback, let ids continue where they were (PostgreSQL's sequences do not roll back)."""
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _pks() -> dict[type[models.Model], set[Any]]:
    return {
        model: set(model._default_manager.values_list("pk", flat=True))
        for model in apps.get_models()
        if model._meta.app_label in {"inspections", "villages", "auth"}
    }


def _hide_look_back(world: World) -> None:
    """A look-back visit drawn for the closed case (回头看): embargoed like any visit, no organiser."""
    before = _pks()
    case = apps.get_model("inspections", "Case").objects.get(status=CaseStatus.CLOSED)
    follow_up = follow_up_schedule(case=case, kind=FollowUp.Kind.LOOK_BACK, now=NOW)
    assert follow_up is not None
    visit = follow_up.inspection
    world.hidden_village_names = [visit.village.name]
    world.hidden_village_codes = [visit.village.code]  # (_hide_visits keeps the plan's too)
    if visit.window_start <= NOW:
        world.excluded |= {inspector.user_id for inspector in visit.team.all()}
    after = _pks()
    world.hidden = {
        model: sorted(after[model] - before[model])[:HIDDEN_PER_MODEL]
        for model in after
        if after[model] - before[model]
    }


def _hide_complaint_check(world: World) -> None:
    """Another organiser's 核查 visit of the complaint (a targeted 举报核查), its team drawn."""
    before = _pks()
    complaint = Complaint.objects.get()
    complaint = complaint_order_check(
        complaint=complaint,
        user=world.hidden_organiser,
        window_start=NOW + dt.timedelta(days=2),
        window_end=NOW + dt.timedelta(days=3),
        now=NOW,
    )
    assert complaint.check_visit is not None
    visits = list(complaint.check_visit.inspections.select_related("village"))
    world.hidden_village_names = [visit.village.name for visit in visits]
    world.hidden_village_codes = [visit.village.code for visit in visits]
    after = _pks()
    world.hidden = {
        model: sorted(after[model] - before[model])[:HIDDEN_PER_MODEL]
        for model in after
        if after[model] - before[model]
    }


def _hide_visit(world: World, *, under_way: bool, kind: str = "draw") -> None:
    """Another organiser's plan, committed and drawn: its visits are embargoed.

    ``kind="targeted"``: instead, another organiser's targeted 暗访 of three of
    Anji's villages, its team drawn by the keyed-hash team draw.

    ``under_way``: the window has opened and the team has checked in, recorded a
    finding and uploaded a photo that duplicates the visible one (so flags and
    duplicates are tried too); the team then knows of the visit.
    """
    before = _pks()
    if kind == "targeted":
        anji = Village.objects.filter(code__startswith=ANJI, kind=Village.Kind.VILLAGERS).order_by("code")
        order = targeted_visit_order(
            user=world.hidden_organiser,
            mode=Inspection.Mode.UNANNOUNCED,
            village_codes=[v.code for v in anji[:3]],
            window_start=NOW + dt.timedelta(days=3),
            window_end=NOW + dt.timedelta(days=5),
            basis="市级暗访第二批",
            now=NOW,
        )
        visits = list(order.inspections.select_related("village").order_by("pk"))
    else:
        hidden = plan(by=world.hidden_organiser, name="市级暗访第二批", sample_size=3)
        sampling_plan_commit(plan=hidden, user=world.hidden_organiser, now=NOW)
        draw = sampling_plan_draw(plan=hidden, user=world.hidden_organiser, now=NOW)
        visits = list(
            Inspection.objects.filter(assignment__draw=draw).select_related("village").order_by("pk")
        )
    world.hidden_village_names = [visit.village.name for visit in visits]
    world.hidden_village_codes = [visit.village.code for visit in visits]
    if under_way:
        first = visits[0]
        Inspection.objects.filter(pk=first.pk).update(window_start=NOW - dt.timedelta(hours=1))
        first.refresh_from_db()
        member = first.team.select_related("user").order_by("pk")[0]
        world.excluded |= {inspector.user_id for inspector in first.team.all()}
        check_in_record(
            inspection=first,
            user=member.user,
            client_uuid=uuid.uuid4(),
            longitude=YUCUN_WGS84[0],
            latitude=YUCUN_WGS84[1],
            accuracy_m=5.0,
            device_time=NOW,
            now=NOW,
        )
        duplicate = photo(
            inspection=first,
            content=_scene(),
            by=member,
        )
        only_here = photo(inspection=first, content=_scene(seed=8), by=member)
        finding_record(
            inspection=first,
            user=member.user,
            client_uuid=uuid.uuid4(),
            category=ProblemCategoryFactory._meta.model.objects.get(code="garbage-pile"),
            severity="moderate",
            description="黑臭水体",
            longitude=YUCUN_WGS84[0],
            latitude=YUCUN_WGS84[1],
            datum="wgs84",
            photo_uuids=[duplicate.client_uuid, only_here.client_uuid],
        )
    after = _pks()
    world.hidden = {
        model: sorted(after[model] - before[model])[:HIDDEN_PER_MODEL]
        for model in after
        if after[model] - before[model]
    }
    for model in (CheckIn, Finding):
        assert world.hidden.get(model) or not under_way


# --- Surfaces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    url: str
    staff_only: bool = False


def _visible_pks(world: World, model: type[models.Model]) -> list[Any]:
    """The first and the last rows of ``model`` that are not the visit's (both worlds have them)."""
    hidden = world.hidden.get(model, [])
    pks = list(model._default_manager.exclude(pk__in=hidden).order_by("pk").values_list("pk", flat=True))
    return sorted(set(pks[:2] + pks[-2:]))


def _baseline_keys(world: World, model: type[models.Model]) -> list[Any]:
    key = URL_KEYS.get(model, "pk")
    pks = _visible_pks(world, model)
    if key == "pk":
        return pks
    return list(model._default_manager.filter(pk__in=pks).order_by("pk").values_list(key, flat=True))


def _hidden_keys(world: World, model: type[models.Model]) -> list[Any]:
    pks = world.hidden.get(model, [])
    key = URL_KEYS.get(model, "pk")
    if key == "pk":
        return list(pks)
    return list(model._default_manager.filter(pk__in=pks).order_by("pk").values_list(key, flat=True))


def _no_row(model: type[models.Model]) -> str:
    """A key that names no row of ``model`` (where it has none yet)."""
    key = model._meta.get_field(URL_KEYS.get(model, model._meta.pk.name))  # type: ignore[union-attr]
    return str(uuid.UUID(int=0)) if isinstance(key, models.UUIDField) else "0"


def _keys(world: World, model: type[models.Model]) -> list[str]:
    return [str(key) for key in _baseline_keys(world, model) + _hidden_keys(world, model)]


def _params(entry: URLPattern | URLResolver) -> tuple[str, ...]:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)


def _walk(
    resolver: URLResolver, namespace: str = "", params: tuple[str, ...] = ()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        names = _params(entry)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the admin is walked model by model
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner, params + names)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"every URL pattern is named (so that it can be reached): {pattern}"
            yield f"{namespace}{entry.name}", params + names


def _fill(
    name: str, params: tuple[str, ...], world: World, own: type[models.Model] | None = None
) -> list[str]:
    """Every URL of ``name`` with its parameters taken from the rows (or values) they name.

    ``own``: the model of an admin whose ``object_id`` (or ``id``) the URL takes.
    """
    choices: list[list[tuple[str, str]]] = []
    for param in params:
        if own is not None and param in {"object_id", "id"}:
            values = [str(pk) for pk in _visible_pks(world, own) + world.hidden.get(own, [])] or ["0"]
        elif param in PARAMETER_VALUES:
            values = PARAMETER_VALUES[param]
        else:
            model = PARAMETER_MODELS.get((name, param))
            assert model is not None, f"map the parameter {param!r} of the URL {name!r} to its model"
            values = _keys(world, model) or [_no_row(model)]
        choices.append([(param, value) for value in values])
    combos: list[dict[str, str]] = [{}]
    for options in choices:
        combos = [{**combo, key: value} for combo in combos for key, value in options]
    return [reverse(name, kwargs=combo) for combo in combos]


def _schema_queries(world: World) -> dict[str, list[str]]:
    """For each API path without parameters: its list queries, one per declared query value."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    queries: dict[str, list[str]] = {}
    for route, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None or "{" in route:
            continue
        variants: list[str] = []
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            name = parameter["name"]
            declared = parameter.get("schema", {})
            if "enum" in declared:
                variants += [f"{name}={value}" for value in declared["enum"]]
            elif declared.get("type") == "integer":
                variants += [f"{name}=1", f"{name}=2"]
            else:
                variants += [f"{name}={code}" for code in world.hidden_village_codes[:1]]
                variants += [f"{name}={village_name}" for village_name in world.hidden_village_names[:1]]
        queries[route] = variants
    return queries


def _site_requests(world: World) -> list[Request]:
    requests: list[Request] = []
    queries = _schema_queries(world)
    for name, params in _walk(get_resolver()):
        if name in DESCRIPTIONS:
            continue
        for url in _fill(name, params, world):
            requests.append(Request(url))
            for query in queries.get(url, []):
                requests.append(Request(f"{url}?{query}"))
    return requests


def _admin_requests(world: World) -> list[Request]:
    requests = [Request(reverse("admin:index"), staff_only=True)]
    requests += [
        Request(reverse("admin:app_list", kwargs={"app_label": label}), staff_only=True)
        for label in sorted({model._meta.app_label for model in admin.site._registry})
    ]
    for model, model_admin in admin.site._registry.items():
        for entry in model_admin.get_urls():
            if not isinstance(entry, URLPattern) or not entry.name:
                continue  # the bare "<id>/" pattern redirects to the change page
            name = f"admin:{entry.name}"
            for url in _fill(name, _params(entry), world, own=model):
                requests.append(Request(url, staff_only=True))
        content_type = ContentType.objects.get_for_model(model)
        for key in world.hidden.get(model, []):
            requests.append(
                Request(
                    reverse(
                        "admin:view_on_site", kwargs={"content_type_id": content_type.pk, "object_id": key}
                    ),
                    staff_only=True,
                )
            )
        for field_name in model_admin.get_autocomplete_fields(None):  # type: ignore[arg-type]
            related = model._meta.get_field(field_name)
            for term in ["", *world.hidden_village_names[:1], *world.hidden_village_codes[:1]]:
                query = (
                    f"app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                    f"&field_name={related.name}&term={term}"
                )
                requests.append(Request(f"{reverse('admin:autocomplete')}?{query}", staff_only=True))
    return requests


def _changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


# --- Rendering -----------------------------------------------------------------------------


def _normalise(content: bytes, content_type: str) -> str:
    if not (content_type.startswith("text/") or "json" in content_type or "javascript" in content_type):
        return f"<{len(content)} bytes: {hash(content)}>"
    text = content.decode("utf-8", errors="replace")
    text = CSRF.sub(r"\1…", text)
    return READ_WRITTEN.sub(r"\1…/", text)


def _render(client: Client, url: str) -> tuple[int, str, str, str]:
    # Throttle budgets live in the cache and count by the clock: every reader here is the same
    # address, and a rendering takes minutes, so a budget that runs out would run out at a
    # different URL in each world. Each request starts with full budgets instead.
    cache.clear()
    response = client.get(url)
    content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    content_type = response.get("Content-Type", "")
    return response.status_code, response.get("Location", ""), content_type, _normalise(content, content_type)


def _filter_links(html: str) -> list[str]:
    """The query strings of a changelist's filter, search and date links (not its sort links)."""
    links = {match.replace("&amp;", "&") for match in re.findall(r'href="(\?[^"]*)"', html)}
    return sorted(link for link in links if link != "?" and not SORT_LINK.search(link))


def _clients(readers: list[User]) -> dict[str, tuple[Client, Client, bool]]:
    """Per reader: a browser session (admin, public pages) and a token client (API), and whether staff."""
    clients: dict[str, tuple[Client, Client, bool]] = {"anonymous": (Client(), Client(), False)}
    for reader in readers:
        browser = Client()
        browser.force_login(reader)
        clients[reader.username] = (browser, client_for(reader), reader.is_staff)
    return clients


def _render_all(
    world: World, requests: list[Request], readers: list[User], *, changelists: bool = True
) -> dict[tuple[str, str], Any]:
    rendered: dict[tuple[str, str], Any] = {}
    for username, (browser, api, staff) in _clients(readers).items():
        for request in requests:
            if request.staff_only and not staff and username != "anonymous":
                # A non-staff account meets the login page: tried once, by the first such URL.
                if (username, "admin") in rendered:
                    continue
                rendered[(username, "admin")] = _render(browser, request.url)
                continue
            client = api if request.url.startswith("/api/") else browser
            rendered[(username, request.url)] = _render(client, request.url)
        if staff and changelists:
            for changelist in _changelists():
                status, _, _, html = rendered[(username, changelist)]
                queries = [
                    f"q={term}" for term in world.hidden_village_names[:1] + world.hidden_village_codes[:1]
                ]
                queries += [link[1:] for link in _filter_links(html)] if status == 200 else []
                for query in queries:
                    url = f"{changelist}?{query}"
                    rendered[(username, url)] = _render(browser, url)
    return rendered


def _emails(capture: Any) -> list[dict[str, Any]]:
    """Run every periodic task of beat's table, as beat would; the emails they sent."""
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    mail.outbox.clear()
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        for entry in PeriodicTask.objects.filter(enabled=True).order_by("name"):
            with capture(execute=True):
                app.tasks[entry.task].apply(
                    args=json.loads(entry.args or "[]"), kwargs=json.loads(entry.kwargs or "{}")
                ).get()
    finally:
        app.conf.task_always_eager = False
    sent = [
        {
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "alternatives": [str(content) for content, _ in getattr(message, "alternatives", [])],
            "attachments": [repr(attachment) for attachment in message.attachments],
        }
        for message in mail.outbox
    ]
    return sorted(sent, key=lambda item: json.dumps(item, ensure_ascii=False, sort_keys=True))


# --- The guard -----------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _hide_visits(world: World) -> None:
    """Every kind of pending visit at once, each someone else's: a drawn plan's three visits (the
    first under way, the others before their window), a targeted 暗访 of three villages, a
    look-back visit of a closed case and a complaint's 核查 visit."""
    names: list[str] = []
    codes: list[str] = []
    hidden: dict[type[models.Model], list[Any]] = {}
    steps = [
        lambda: _hide_visit(world, under_way=True),
        lambda: _hide_visit(world, under_way=False, kind="targeted"),
        lambda: _hide_look_back(world),
        lambda: _hide_complaint_check(world),
    ]
    for step in steps:  # each sets the rows it made (a few per model) and its villages
        step()
        names += world.hidden_village_names
        codes += world.hidden_village_codes
        for model, pks in world.hidden.items():
            hidden[model] = sorted(set(hidden.get(model, [])) | set(pks))
    world.hidden_village_names, world.hidden_village_codes, world.hidden = names, codes, hidden


def differences(*, capture: Any, only: str | None = None) -> tuple[int, list[str]]:
    """How many renderings were compared, and those that differ with and without the pending visit."""
    readers, hidden_organiser = _baseline()
    # Both worlds start from the same ids: earlier tests on this database have moved
    # PostgreSQL's sequences (they do not roll back), and the rows made in both worlds
    # (the bulletins, the after-photo) are named by their ids on the pages compared.
    _reset_sequences()
    world = World(readers=readers, hidden_organiser=hidden_organiser, township_party=f"party-{ANJI}101")
    with_visit: dict[tuple[str, str], Any] = {}
    emails_with: list[dict[str, Any]] = []
    requests: list[Request] = []
    try:
        with transaction.atomic():
            _hide_visits(world)
            _after(world)
            readers = [reader for reader in world.readers if reader.pk not in world.excluded]
            requests = _site_requests(world) + _admin_requests(world)
            if only is not None:
                requests = [request for request in requests if request.url.startswith(only)]
            with_visit = _render_all(world, requests, readers, changelists=only is None)
            if only is None:
                excluded = _addresses_of_excluded(world)
                emails_with = [email for email in _emails(capture) if not set(email["to"]) & excluded]
            raise _Rollback
    except _Rollback:
        pass
    assert not Draw.objects.filter(plan__created_by=hidden_organiser).exists(), "the visit was rolled back"
    assert not TargetedVisit.objects.filter(ordered_by=hidden_organiser).exists(), "the order was rolled back"
    _reset_sequences()
    _after(world)
    without_visit = _render_all(world, requests, readers, changelists=only is None)
    emails_without = _emails(capture) if only is None else []

    assert any(rendering[0] == 200 for rendering in without_visit.values()), "something was readable"
    differing = [
        f"{username} GET {url}: {_difference(seen, without_visit.get((username, url)))}"
        for (username, url), seen in sorted(with_visit.items())
        if with_visit[(username, url)] != without_visit.get((username, url))
    ]
    differing += [
        f"rendered only without the visit: {key}" for key in sorted(set(without_visit) - set(with_visit))
    ]
    if emails_with != emails_without:
        differing.append(f"emails: {emails_with!r:.2000} vs {emails_without!r:.2000}")
    return len(with_visit), differing


def _difference(seen: Any, unseen: Any) -> str:
    """What differs between two renderings: status and headers, then the first lines that differ."""
    if unseen is None:
        return "not rendered without the visit"
    if seen[:3] != unseen[:3]:
        return f"{seen[:3]} with the visit, {unseen[:3]} without"
    lines = difflib.unified_diff(
        unseen[3].splitlines(), seen[3].splitlines(), "without", "with", n=0, lineterm=""
    )
    return "\n    " + "\n    ".join(list(lines)[:12])


def _addresses_of_excluded(world: World) -> set[str]:
    return set(
        User.objects.filter(pk__in=world.excluded | {world.hidden_organiser.pk}).values_list(
            "email", flat=True
        )
    )


def test_pending_visits_are_undetectable(django_capture_on_commit_callbacks: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        compared, differing = differences(capture=django_capture_on_commit_callbacks)
    assert compared > 1_000, "the surfaces were enumerated"
    assert not differing, "the pending visits show:\n" + "\n".join(differing[:40])


def leaky_count(request: HttpRequest) -> HttpResponse:
    """A page that counts every unsubmitted inspection: what the guard must catch."""
    return HttpResponse(str(Inspection.objects.exclude(status=Inspection.Status.SUBMITTED).count()))


urlpatterns = [path("leaky/", leaky_count, name="leaky"), path("", include(settings.ROOT_URLCONF))]


@override_settings(ROOT_URLCONF=__name__)
def test_the_guard_catches_a_leak(django_capture_on_commit_callbacks: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        compared, differing = differences(capture=django_capture_on_commit_callbacks, only="/leaky/")
    assert compared > 10, "every reader read the page"
    assert len(differing) == compared, differing
