"""The admin site: every model admin checks permission before it looks an object up."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from inspections.common.admin_site import PermissionBeforeLookup
from tests.builders import supervisor

pytestmark = pytest.mark.django_db


def test_every_registered_admin_checks_permission_before_lookup() -> None:
    assert all(
        isinstance(model_admin, PermissionBeforeLookup) for model_admin in admin.site._registry.values()
    )


@pytest.mark.parametrize("object_id", ["1", "999999"], ids=["existing", "missing"])
def test_a_history_page_of_a_model_one_may_not_view_is_refused_whether_the_row_exists(object_id: str) -> None:
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(pk=1).exists()  # written after migrate
    browser = Client()
    browser.force_login(supervisor("3305"))

    response = browser.get(f"/admin/django_celery_beat/periodictask/{object_id}/history/")

    assert response.status_code == 403


def test_the_site_is_named_in_chinese(client: Client) -> None:
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "青山" in response.content.decode()
