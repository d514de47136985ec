"""Publication's refusals: stable codes and statuses, and how the admin shows them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.publication import errors
from inspections.publication.services import publication_create
from tests.builders import submitted_inspection, user

SHIPPED = {
    "publication_empty": 400,
    "publication_exists": 409,
    "publication_has_unsubmitted": 409,
    "already_published": 409,
    "typical_case_summary_missing": 409,
    "inspection_not_submitted": 409,
    "typical_case_photo_not_allowed": 422,
}


def test_it_declares_each_shipped_code_once_with_its_status() -> None:
    refusals = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.PublicationError)
        if value is not errors.PublicationError
    ]

    assert {refusal.code: refusal.status for refusal in refusals} == SHIPPED
    assert all(issubclass(refusal, DomainError) and str(refusal()) for refusal in refusals)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "Every inspection must be submitted before its results are published."),
        ("zh-hans", "所有检查提交后才能公开结果。"),
    ],
)
def test_the_admin_names_the_refused_publication_in_the_readers_language_never_the_code(
    language: str, reason: str
) -> None:
    upcoming = submitted_inspection(status=Inspection.Status.SCHEDULED)
    publication = publication_create(title_zh_hans="三月抽查结果", inspections=[upcoming])
    client = Client()
    client.force_login(user(is_staff=True, is_superuser=True))

    refused = client.post(
        "/admin/inspections/publication/",
        {"action": "action_publish", "_selected_action": [publication.pk]},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    shown = [str(m) for m in get_messages(refused.wsgi_request)]
    (message,) = shown
    assert message.startswith("三月抽查结果") and message.endswith(reason)
    assert "publication_has_unsubmitted" not in message
    publication.refresh_from_db()
    assert publication.published_at is None
