"""Sampling's refusals: stable codes and statuses, and how the admin shows them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import translation

from inspections.common.errors import DomainError
from inspections.sampling import errors
from inspections.sampling.draw import UnstaffableVillage
from inspections.sampling.services import sampling_plan_commit
from tests.builders import plan, region, roster

# The codes phones and scripts branch on: never renamed, never given another status.
SHIPPED = {
    "window_in_past": 422,
    "team_too_small": 422,
    "no_candidates": 422,
    "sample_exceeds_candidates": 422,
    "minimum_exceeds_sample": 422,
    "unstaffable": 422,
    "already_committed": 409,
    "not_committed": 409,
    "beacon_already_entered": 409,
    "beacon_empty": 400,
    "already_drawn": 409,
    "not_drawn": 409,
    "embargo_active": 409,
    "inspection_closed": 409,
    "reason_required": 400,
    "invalid_team": 422,
    "understaffed": 422,
    "draw_voided": 409,
    "draw_can_be_drawn": 409,
    "unknown_villages": 422,
}


def declared() -> dict[str, int]:
    refusals = [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, errors.SamplingError)
        and value is not errors.SamplingError
    ]
    return {refusal.code: refusal.status for refusal in refusals}


def test_it_declares_each_shipped_code_once_with_its_status() -> None:
    assert declared() == SHIPPED


def test_every_refusal_is_a_domain_error_with_a_default_detail() -> None:
    for refusal in vars(errors).values():
        if isinstance(refusal, type) and issubclass(refusal, errors.SamplingError):
            assert issubclass(refusal, DomainError)
            assert str(refusal()), refusal


def test_it_names_twenty_unstaffable_villages_and_lists_them_all() -> None:
    villages = [
        UnstaffableVillage(code=f"3305211012{n:02d}", eligible=1, reason="1 eligible") for n in range(23)
    ]
    names = {"330521101200": "东村"}

    with translation.override("en"):
        refusal = errors.Unstaffable.of(villages, names=names)

    assert refusal.detail.startswith(
        "These villages cannot be given a team, so nothing was drawn: 东村 (330521101200)"
    )
    assert "330521101219" in refusal.detail and "330521101220" not in refusal.detail
    assert refusal.detail.endswith("and 3 more")
    assert len(refusal.extra["villages"]) == 23
    assert refusal.extra["villages"][0] == {
        "code": "330521101200",
        "name": "东村",
        "eligible": 1,
        "reason": "1 eligible",
    }
    assert refusal.extra["villages"][1]["name"] == ""


def test_the_detail_is_in_the_language_active_when_refused() -> None:
    with translation.override("zh-hans"):
        chinese = errors.AlreadyCommitted()
    with translation.override("en"):
        english = errors.AlreadyCommitted()

    assert english.detail == "This plan is already committed."
    assert chinese.detail == "该计划已经锁定。"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"), [("en", "This plan is already committed."), ("zh-hans", "该计划已经锁定。")]
)
def test_the_admin_shows_a_refusal_in_the_readers_language_never_its_code(
    language: str, message: str
) -> None:
    region()
    roster()
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    client = Client()
    client.force_login(the_plan.created_by)

    refused = client.post(
        f"/admin/inspections/samplingplan/{the_plan.pk}/commit/", HTTP_ACCEPT_LANGUAGE=language
    )

    shown = [str(m) for m in get_messages(refused.wsgi_request)]
    assert refused.status_code == 302
    assert shown == [message]
    assert not any("already_committed" in m for m in shown)
