"""Targeted visits: ordered for named villages, team drawn or named, embargoed, public after the fact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Inspector, InspectorConflict
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.sampling.models import TargetedVisit
from inspections.sampling.targeted import targeted_visit_order, targeted_visit_team_verify
from tests.builders import ANJI, HUZHOU, division, inspector, region, responsible_party, roster, supervisor

pytestmark = pytest.mark.django_db


def refuse(code: str, action: Any) -> DomainError:
    before = (TargetedVisit.objects.count(), Inspection.objects.count())
    with pytest.raises(DomainError) as refusal:
        action()
    assert refusal.value.code == code, refusal.value.detail
    assert (TargetedVisit.objects.count(), Inspection.objects.count()) == before
    return refusal.value


def order(by: Any, codes: list[str], **fields: Any) -> TargetedVisit:
    start = timezone.now() + timedelta(days=2)
    values: dict[str, Any] = {
        "user": by,
        "mode": Inspection.Mode.UNANNOUNCED,
        "village_codes": codes,
        "window_start": start,
        "window_end": start + timedelta(days=1),
        "basis": "2025年第3号交办",
        **fields,
    }
    return targeted_visit_order(**values)


def test_an_unannounced_visit_draws_a_team_without_a_conflict_and_stays_embargoed() -> None:
    codes = region()
    roster(per_county=2)
    by = supervisor(HUZHOU)
    anji = [c for c in codes if c.startswith(ANJI)][:2]

    visit = order(by, anji)

    inspections = list(visit.inspections.prefetch_related("team__home_division"))
    assert sorted(i.village.code for i in inspections) == anji
    for inspection in inspections:
        assert inspection.mode == Inspection.Mode.UNANNOUNCED
        team = list(inspection.team.all())
        assert len(team) == 2
        assert all(not inspection.village.code.startswith(m.home_division.code) for m in team)
        # The embargo: the organiser sees it, the team not before the window, Anji not until submitted.
        assert inspection_list(user=by).filter(pk=inspection.pk).exists()
        assert not inspection_list(user=team[0].user).filter(pk=inspection.pk).exists()
        assert not inspection_list(user=responsible_party(ANJI)).filter(pk=inspection.pk).exists()
        assert not inspection_list(user=supervisor(HUZHOU)).filter(pk=inspection.pk).exists()
    assert visit.team_choice == TargetedVisit.Choice.DRAWN and len(visit.seed_commitment) == 64


def test_its_record_is_public_only_once_every_visit_is_closed_and_its_team_verifies() -> None:
    codes = region()
    roster(per_county=2)
    by = supervisor(HUZHOU)
    visit = order(by, codes[:2], mode=Inspection.Mode.SPECIAL)
    url = f"/api/v1/public/targeted-visits/{visit.pk}/"

    assert Client().get(url).status_code == 404
    first, second = visit.inspections.order_by("pk")
    first.close(to_status=Inspection.Status.SUBMITTED, now=timezone.now())
    assert Client().get(url).status_code == 404
    second.close(to_status=Inspection.Status.CANCELLED, now=timezone.now())

    record = Client().get(url).json()
    assert record["mode"] == "special" and record["basis"] == "2025年第3号交办"
    assert record["revealed_seed"]
    assert targeted_visit_team_verify(record)
    forged = {**record, "result": {code: list(reversed(team)) for code, team in record["result"].items()}}
    forged["result"][codes[0]] = ["ZJ-330521-0", "ZJ-330522-0"]
    assert not targeted_visit_team_verify(forged)


def test_a_named_team_needs_a_reason_and_respects_recusal() -> None:
    codes = region()
    roster(per_county=2)
    by = supervisor(HUZHOU)
    anji = [c for c in codes if c.startswith(ANJI)][:1]
    deqing = list(Inspector.objects.filter(home_division__code="330521"))
    anji_people = list(Inspector.objects.filter(home_division__code=ANJI))

    refuse("reason_required", lambda: order(by, anji, named_team=deqing, named_reason=""))
    refusal = refuse(
        "invalid_team", lambda: order(by, anji, named_team=anji_people, named_reason="熟悉情况的人员")
    )
    assert "home county" in refusal.detail or "籍贯县" in refusal.detail
    InspectorConflict.objects.create(
        inspector=deqing[0], kind=InspectorConflict.Kind.RELATED, division=division(anji[0][:9])
    )
    refuse("invalid_team", lambda: order(by, anji, named_team=deqing, named_reason="专项督办指定人员"))

    changxing = list(Inspector.objects.filter(home_division__code="330522"))
    visit = order(
        by,
        anji,
        mode=Inspection.Mode.SUPERVISION_CHECK,
        named_team=changxing,
        named_reason="专项督办指定人员",
    )
    assert visit.team_choice == TargetedVisit.Choice.NAMED and visit.named_reason == "专项督办指定人员"
    assert visit.seed == ""
    inspection = visit.inspections.get()
    assert sorted(inspection.team.values_list("credential_number", flat=True)) == sorted(
        i.credential_number for i in changxing
    )


def test_villages_outside_the_jurisdiction_or_unknown_are_refused() -> None:
    region()
    roster()
    by = supervisor(ANJI)

    refusal = refuse("unknown_villages", lambda: order(by, ["330521101200", "330523101200"]))
    assert refusal.extra["codes"] == ["330521101200"]
    refuse("unknown_villages", lambda: order(by, []))
    refuse("window_in_past", lambda: order(by, ["330523101200"], window_start=timezone.now()))


def test_the_admin_orders_a_visit_and_only_its_organiser_sees_it() -> None:
    region()
    roster(per_county=2)
    by = supervisor(HUZHOU)
    client = Client()
    client.force_login(by)
    start = timezone.localtime(timezone.now() + timedelta(days=2))

    done = client.post(
        "/admin/inspections/targetedvisit/add/",
        {
            "mode": "report",
            "village_codes": "330523101200, 330523101201",
            "basis": "12345-20250101-0001",
            "window_start": f"{start:%Y-%m-%d %H:%M}",
            "window_end": f"{start + timedelta(days=1):%Y-%m-%d %H:%M}",
            "team_size": "2",
        },
    )

    assert done.status_code == 302, done.content.decode()[:2000]
    visit = TargetedVisit.objects.get()
    assert visit.inspections.count() == 2 and visit.mode == "report"
    assert "12345-20250101-0001" in client.get("/admin/inspections/targetedvisit/").content.decode()
    other = Client()
    other.force_login(supervisor(HUZHOU))
    assert "12345-20250101-0001" not in other.get("/admin/inspections/targetedvisit/").content.decode()
    assert other.get(f"/admin/inspections/targetedvisit/{visit.pk}/change/").status_code in (302, 404)


def test_an_inspector_far_away_can_be_drawn() -> None:
    region()
    for n in range(2):
        inspector(credential_number=f"ZJ-P-{n}", home_division=division("33"), home_county=division("330102"))
    visit = order(supervisor(HUZHOU), ["330523101200"])
    assert sorted(visit.result["330523101200"]) == ["ZJ-P-0", "ZJ-P-1"]
