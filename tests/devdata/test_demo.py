from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from inspections.accounts.models import User
from inspections.checklist.models import ProblemCategory
from villages.models import Division, Village


@pytest.mark.django_db(transaction=True)
def test_load_demo_loads_anji_the_checklist_and_the_accounts_and_is_idempotent() -> None:
    call_command("load_demo", stdout=StringIO())

    anji = Village.objects.within("330523")
    assert anji.count() == 218
    # 168 villagers' committees by their codes (200-399, 三官村 among them), 49 residents'
    # committees, and 南湖林场生活区 (500, a forest farm's living area) as "other"
    assert {k: anji.filter(kind=k).count() for k in ("villagers", "residents", "other")} == {
        "villagers": 168,
        "residents": 49,
        "other": 1,
    }
    assert Division.objects.within("330523").filter(level=4).count() == 15
    assert Village.objects.get(code="330523108204").name == "余村村委会"
    # every Anji village has a derived GCJ-02 location near the county point
    assert not anji.filter(longitude__isnull=True).exists()
    assert set(anji.values_list("location_source", "datum").distinct()) == {("derived", "gcj02")}
    assert all(119.3 < v.longitude < 120.1 and 30.3 < v.latitude < 31.0 for v in anji)  # type: ignore[operator]
    assert ProblemCategory.objects.filter(domain="sewage").count() >= 4
    # django-axes needs the request a login comes with
    supervisor = authenticate(
        RequestFactory().post("/"), username="supervisor-anji", password="qingshan-demo"
    )
    assert isinstance(supervisor, User)
    assert supervisor.scope_prefix() == "330523"
    assert supervisor.roles == {"supervisor"}
    assert User.objects.get(username="inspector-deqing").inspector_profile.home_division.code == "330521"

    before = list(Village.objects.values_list("code", "longitude", "latitude"))
    out = StringIO()
    call_command("load_demo", stdout=out)

    assert "no changes" in out.getvalue()
    assert list(Village.objects.values_list("code", "longitude", "latitude")) == before
    assert User.objects.filter(username__startswith="inspector-").count() == 6


@pytest.mark.django_db
def test_the_checklist_covers_every_domain_with_both_languages() -> None:
    call_command("load_demo", stdout=StringIO())

    domains = set(ProblemCategory.objects.values_list("domain", flat=True))
    assert domains == {"sewage", "black_odorous_water", "garbage", "toilets", "appearance"}
    for category in ProblemCategory.objects.all():
        assert category.name_zh_hans and category.name_en and category.rectification_days > 0
