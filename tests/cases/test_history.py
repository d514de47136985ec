"""The event chain: append-only rows whose tampering verify_case_history reports."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inspections.cases.models import CaseAction, CaseEvent, CaseStatus
from inspections.cases.services.status import case_set_status
from tests.builders import open_case, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_with_history():  # type: ignore[no-untyped-def]
    case = open_case()
    admin = user(is_superuser=True)
    case_set_status(
        case=case,
        to_status=CaseStatus.RECTIFYING,
        action=CaseAction.START_RECTIFYING,
        actor=admin,
        note="开始整改",
    )
    case_set_status(
        case=case,
        to_status=CaseStatus.AWAITING_VERIFICATION,
        action=CaseAction.RECTIFY,
        actor=admin,
        note="已整改",
    )
    open_case()  # another case, untouched
    return case


def test_it_passes_an_intact_history(case_with_history, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("verify_case_history")

    assert "2 case(s): every event chain is intact" in capsys.readouterr().out


def test_it_names_the_case_and_event_whose_row_was_altered(case_with_history) -> None:  # type: ignore[no-untyped-def]
    event = case_with_history.events.get(seq=2)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET note = %s WHERE id = %s", ["改过了", event.pk])

    with pytest.raises(CommandError):
        call_command("verify_case_history")


def test_the_report_names_case_and_event(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    event = case_with_history.events.get(seq=2)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET to_status = 'closed' WHERE id = %s", [event.pk])

    _checked, problems = case_history_verify()

    assert problems == [
        f"case {case_with_history.pk}: event {event.pk} (seq 2): content altered (hash mismatch)"
    ]


def test_it_names_the_case_and_event_after_a_deleted_row(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    deleted = case_with_history.events.get(seq=2)
    following = case_with_history.events.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inspections_caseevent WHERE id = %s", [deleted.pk])

    _checked, problems = case_history_verify()

    assert any(p.startswith(f"case {case_with_history.pk}: event {following.pk} (seq 3)") for p in problems)
    assert any("seq 2..2 deleted" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("verify_case_history")


def test_it_notices_the_newest_event_deleted(case_with_history, capsys) -> None:  # type: ignore[no-untyped-def]
    newest = case_with_history.events.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inspections_caseevent WHERE id = %s", [newest.pk])

    with pytest.raises(CommandError):
        call_command("verify_case_history")

    assert f"case {case_with_history.pk}: the case records 3 event(s)" in capsys.readouterr().err


def test_events_refuse_updates_and_deletes_through_the_orm(case_with_history) -> None:  # type: ignore[no-untyped-def]
    event = case_with_history.events.first()

    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert CaseEvent.objects.count() == 4
