"""Verification and look-back visits go in teams of at least two (QINGSHAN_FOLLOW_UP_TEAM_SIZE)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from inspections.cases.models import FollowUp
from tests.builders import division, inspector, open_case, responsible_party, verifiers
from tests.cases.test_workflow import rectify
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_one_eligible_inspector_is_not_a_team_so_no_visit_is_scheduled() -> None:
    verifiers(1)
    case = open_case(team=[inspector(home_division=division("330523"))])

    assert rectify(client_for(responsible_party("330523108")), case).status_code == 201

    assert not FollowUp.objects.filter(case=case).exists()


@override_settings(QINGSHAN_FOLLOW_UP_TEAM_SIZE=3)
def test_a_larger_team_is_drawn_when_configured() -> None:
    outside = verifiers(4)
    case = open_case(team=[inspector(home_division=division("330523"))])

    rectify(client_for(responsible_party("330523108")), case)

    follow_up = FollowUp.objects.get(case=case)
    team = set(follow_up.inspection.team.all())
    assert len(team) == 3 and team <= set(outside)
    assert follow_up.draw.parameters["team_size"] == 3 and follow_up.inspector in team


@override_settings(QINGSHAN_FOLLOW_UP_TEAM_SIZE=1)
def test_the_team_is_never_smaller_than_two() -> None:
    verifiers(2)
    case = open_case(team=[inspector(home_division=division("330523"))])

    rectify(client_for(responsible_party("330523108")), case)

    assert FollowUp.objects.get(case=case).inspection.team.count() == 2
