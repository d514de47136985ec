"""The plan pages as a supervisor reads them: names not codes, the creator an organiser, the reassign form."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.accounts.models import Inspector, InspectorConflict
from inspections.common.china_time import display
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import (
    EMBARGO_READ_NAMES,
    Assignment,
    Draw,
    EmbargoAccessLog,
    Reassignment,
    SamplingPlan,
)
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from tests.builders import (
    ANJI,
    DEQING,
    HUZHOU,
    WUXING,
    division,
    inspector,
    plan,
    region,
    roster,
    supervisor,
)

pytestmark = pytest.mark.django_db

PLANS = "/admin/inspections/samplingplan/"


@pytest.fixture(autouse=True)
def _admin_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def browser(account: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(account)
    return client


def drawn_plan(**fields: Any) -> Draw:
    region()
    roster(per_county=3)
    the_plan = plan(**fields)
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    return sampling_plan_draw(plan=the_plan, user=the_plan.created_by)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", html, re.S)]


# --- Names, not codes -------------------------------------------------------------------------


def test_the_drawn_plan_names_its_strata_and_lists_never_their_codes() -> None:
    draw = drawn_plan(key_rate="0.5", key_village_codes=[f"{ANJI}101200"], sample_size=3)
    plan_page = browser(draw.plan.created_by).get(f"{PLANS}{draw.plan.pk}/change/")
    assert plan_page.status_code == 200
    html = plan_page.content.decode()
    shown = cells(html)

    strata = set(Assignment.objects.filter(draw=draw).values_list("stratum", flat=True))
    assert "key" in strata and len(strata) >= 2  # the key stratum, and the counties' strata
    # Each stratum by its name in the results: 重点村 for the key one, the county's name for the others.
    assert "重点村" in shown
    for code in strata - {"key"}:
        assert f"区划{code}" in shown and code not in shown
    assert "key" not in shown
    # The locked plan's lists by name: the classes left out, and the key village named.
    assert "居民委员会" in html and '["residents"]' not in html
    assert f"村200 ({ANJI}101200)" in html and f'["{ANJI}101200"]' not in html
    # The draw's times in China time, never as stored.
    assert display(draw.committed_at) in shown and draw.committed_at.isoformat(" ") not in html


def test_the_access_log_names_each_read_not_its_code() -> None:
    draw = drawn_plan()
    client = browser(draw.plan.created_by)
    client.get(f"{PLANS}{draw.plan.pk}/change/")

    html = client.get("/admin/inspections/embargoaccesslog/").content.decode()

    assert EmbargoAccessLog.objects.filter(action="admin:plan:view").exists()
    assert "admin:plan:view" not in html
    assert str(EMBARGO_READ_NAMES["admin:plan:view"]) in html


# --- The creator is an organiser ----------------------------------------------------------------


def test_whoever_creates_a_plan_is_its_organiser_without_picking_themselves() -> None:
    region()
    creator = supervisor(HUZHOU, username="creator")
    colleague = supervisor(ANJI, username="colleague")
    start = timezone.localtime(timezone.now() + dt.timedelta(days=5))
    end = start + dt.timedelta(days=3)
    form = {
        "name": "2025年第二批双随机抽查",
        "scope": division(HUZHOU).pk,
        "window_start_0": start.strftime("%Y-%m-%d"),
        "window_start_1": start.strftime("%H:%M:%S"),
        "window_end_0": end.strftime("%Y-%m-%d"),
        "window_end_1": end.strftime("%H:%M:%S"),
        "sample_size": 3,
        "stratum_level": 6,
        "min_per_stratum": 1,
        "exclude_inspected_days": 0,
        "excluded_kinds": ["residents"],
        "base_weight": "1",
        "open_cases_weight": "0.5",
        "overdue_cases_weight": "1",
        "staleness_weight": "1",
        "staleness_cap_days": 365,
        "unvisited_weight": "0",
        "key_village_codes": "[]",
        "team_size": 2,
        "team_pool": 2,
        "recusal_level": 6,
    }
    client = browser(creator)

    alone = client.post(f"{PLANS}add/", form)
    assert alone.status_code == 302, alone.context["adminform"].form.errors if alone.context else alone
    with_colleague = client.post(f"{PLANS}add/", {**form, "name": "第三批", "organisers": [colleague.pk]})
    assert with_colleague.status_code == 302

    first, second = SamplingPlan.objects.order_by("pk")
    assert set(first.organisers.all()) == {creator} and first.created_by == creator
    assert set(second.organisers.all()) == {creator, colleague}
    assert browser(creator).get(f"{PLANS}{first.pk}/change/").status_code == 200
    assert browser(colleague).get(f"{PLANS}{first.pk}/change/").status_code == 302  # not theirs


# --- The reassign form ----------------------------------------------------------------------------


@pytest.fixture
def reassigning() -> dict[str, Any]:
    draw = drawn_plan(sample_size=3)
    assignment = (
        Assignment.objects.filter(draw=draw)
        .select_related("inspection__village")
        .order_by("stratum", "rank")
        .first()
    )
    assert assignment is not None
    county = assignment.inspection.village.code[:6]
    # Three inspectors to choose from besides the roster: one at home in the village's county,
    # one with a declared conflict there, one free (from 吴兴区, not on the frozen roster).
    local = inspector(home_division=division(county), credential_number="ZJ-LOCAL")
    conflicted = inspector(home_division=division(WUXING), credential_number="ZJ-CONFLICT")
    InspectorConflict.objects.create(
        inspector=conflicted, village=assignment.inspection.village, kind=InspectorConflict.Kind.RELATED
    )
    free = inspector(home_division=division(WUXING), credential_number="ZJ-FREE")
    return {
        "draw": draw,
        "assignment": assignment,
        "url": f"{PLANS}assignment/{assignment.pk}/reassign/",
        "local": local,
        "conflicted": conflicted,
        "free": free,
    }


def option(html: str, member: Inspector) -> str:
    """The label of ``member``'s checkbox on the reassign form."""
    found = re.search(rf'value="{member.pk}"[^>]*>\s*([^<]*)</label>', html)
    assert found is not None, member
    return found.group(1)


def test_the_reassign_form_shows_the_team_each_ones_load_and_capacity_and_recusal(
    reassigning: dict[str, Any],
) -> None:
    assignment = reassigning["assignment"]
    response = browser(reassigning["draw"].plan.created_by).get(reassigning["url"])

    assert response.status_code == 200
    html = response.content.decode()
    team = list(assignment.inspection.team.all())
    assert len(team) == 2
    for member in team:
        # The team as it stands: ticked, each with their capacity frozen in the draw (3 visits).
        assert re.search(rf'value="{member.pk}"[^>]*checked', html), member
        who, load, _recusal = option(html, member).split(" · ")
        others = member.inspections.filter(assignment__draw=reassigning["draw"]).exclude(
            pk=assignment.inspection_id
        )
        assert member.credential_number in who
        assert re.findall(r"\d+", load) == [str(others.count()), "3"]
    # The village, its stratum by name, and the recusal the draw applies, for each offered inspector.
    assert assignment.inspection.village.name in html
    assert f"区划{assignment.stratum} #{assignment.rank}" in html
    local, conflicted, free = (reassigning[k] for k in ("local", "conflicted", "free"))
    assert "ZJ-LOCAL" in option(html, local) and "ZJ-CONFLICT" in option(html, conflicted)
    labels = {option(html, m).split(" · ")[-1] for m in (local, conflicted, free)}
    assert len(labels) == 3  # home county, a declared conflict, none
    assert 'type="checkbox"' in html


def test_the_reassign_forms_queries_do_not_grow_with_the_roster(reassigning: dict[str, Any]) -> None:
    client = browser(reassigning["draw"].plan.created_by)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reassigning["url"]).status_code == 200
        return len(captured)

    before = queries()
    for n in range(10):
        inspector(home_division=division(WUXING), credential_number=f"ZJ-MORE-{n}")
    assert queries() == before


def test_a_refused_reassignment_keeps_the_reason_typed_and_says_why(reassigning: dict[str, Any]) -> None:
    assignment = reassigning["assignment"]
    client = browser(reassigning["draw"].plan.created_by)
    before = sorted(assignment.inspection.team.values_list("pk", flat=True))

    response = client.post(
        reassigning["url"],
        {"team": [reassigning["local"].pk, reassigning["free"].pk], "reason": "原定人员因病无法出行"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "原定人员因病无法出行" in html  # the reason typed is still in the form
    assert "ZJ-LOCAL" in html and "需回避" in html  # the refusal, in Chinese, names who and why
    assert 'class="errorlist nonfield"' in html
    assert [str(m) for m in response.context["messages"]]  # and as the admin's error message
    assert not Reassignment.objects.exists()
    assert sorted(assignment.inspection.team.values_list("pk", flat=True)) == before


def test_a_reassignment_the_rules_allow_goes_through_the_form(reassigning: dict[str, Any]) -> None:
    assignment = reassigning["assignment"]
    staying = assignment.inspection.team.order_by("credential_number").first()
    assert staying is not None

    response = browser(reassigning["draw"].plan.created_by).post(
        reassigning["url"], {"team": [staying.pk, reassigning["free"].pk], "reason": "原定人员因病无法出行"}
    )

    assert response.status_code == 302
    change = Reassignment.objects.get()
    assert set(change.team_after) == {staying.credential_number, "ZJ-FREE"}


def test_bad_input_to_the_reassign_form_is_an_answer_not_an_error(reassigning: dict[str, Any]) -> None:
    client = browser(reassigning["draw"].plan.created_by)
    for data in (
        {"team": ["x"], "reason": "原定人员因病无法出行"},
        {"team": [999999], "reason": "原定人员因病无法出行"},
        {"team": [reassigning["free"].pk], "reason": ""},
        {},
    ):
        assert client.post(reassigning["url"], data).status_code == 200, data
    assert client.get(f"{PLANS}assignment/999999/reassign/").status_code == 404
    assert not Reassignment.objects.exists()


def test_another_countys_supervisor_can_neither_see_nor_post_the_reassign_form(
    reassigning: dict[str, Any],
) -> None:
    assignment = reassigning["assignment"]
    before = sorted(assignment.inspection.team.values_list("pk", flat=True))
    for outsider in (supervisor(DEQING, username="deqing"), supervisor(HUZHOU, username="huzhou2")):
        client = browser(outsider)
        assert client.get(reassigning["url"]).status_code == 404
        posted = client.post(
            reassigning["url"],
            {"team": [reassigning["free"].pk, reassigning["local"].pk], "reason": "原定人员因病无法出行"},
        )
        assert posted.status_code == 404
        assert assignment.inspection.village.name not in posted.content.decode()
    assert not Reassignment.objects.exists()
    assert sorted(assignment.inspection.team.values_list("pk", flat=True)) == before
    assert Inspection.objects.get(pk=assignment.inspection_id).status == Inspection.Status.SCHEDULED
