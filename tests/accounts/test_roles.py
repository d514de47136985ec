from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from inspections.accounts.roles import ROLE_PERMISSIONS, sync_role_groups
from tests.builders import inspector, responsible_party, supervisor, user


@pytest.mark.django_db
def test_migrate_creates_each_role_group_with_exactly_its_permissions() -> None:
    for role, expected in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(expected), role


@pytest.mark.django_db
def test_syncing_again_removes_permissions_granted_by_hand() -> None:
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name="inspector")
    group.permissions.add(Permission.objects.get(codename="delete_village"))

    sync_role_groups()

    assert not group.permissions.filter(codename="delete_village").exists()


@pytest.mark.django_db
def test_each_account_sees_its_own_scope() -> None:
    assert supervisor("330523").scope_prefix() == "330523"
    assert responsible_party("330523108").scope_prefix() == "330523108"
    assert inspector().user.scope_prefix() is None
    assert user(is_superuser=True).scope_prefix() == ""
    assert user().scope_prefix() is None


@pytest.mark.django_db
def test_a_supervisor_may_view_but_not_delete_villages() -> None:
    account = supervisor("330523")

    assert account.has_perm("villages.view_village")
    assert account.has_perm("villages.change_village")
    assert not account.has_perm("villages.delete_village")
    assert not account.has_perm("inspections.change_problemcategory")
