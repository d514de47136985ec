"""The event chain: append-only rows HMAC-chained under the ledger key; verify_case_history reports tampering.

Tampering is simulated as by someone who owns the database: with the
append-only triggers lifted (``ledger_rewrite``), as a DROP TRIGGER would.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inspections.cases.models import CaseAction, CaseEvent, CaseStatus
from inspections.cases.services.status import case_set_status
from inspections.common.ledger import ledger_rewrite
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
    with ledger_rewrite(), connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET note = %s WHERE id = %s", ["改过了", event.pk])

    with pytest.raises(CommandError):
        call_command("verify_case_history")


def test_the_report_names_case_and_event(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    event = case_with_history.events.get(seq=2)
    with ledger_rewrite(), connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET to_status = 'closed' WHERE id = %s", [event.pk])

    _checked, problems = case_history_verify()

    assert problems == [
        f"case {case_with_history.pk}: event {event.pk} (seq 2): content altered (hash mismatch)"
    ]


def test_it_names_the_case_and_event_after_a_deleted_row(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    deleted = case_with_history.events.get(seq=2)
    following = case_with_history.events.get(seq=3)
    with ledger_rewrite(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM inspections_caseevent WHERE id = %s", [deleted.pk])

    _checked, problems = case_history_verify()

    assert any(p.startswith(f"case {case_with_history.pk}: event {following.pk} (seq 3)") for p in problems)
    assert any("seq 2..2 deleted" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("verify_case_history")


def test_it_notices_the_newest_event_deleted(case_with_history, capsys) -> None:  # type: ignore[no-untyped-def]
    newest = case_with_history.events.get(seq=3)
    with ledger_rewrite(), connection.cursor() as cursor:
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


def _rewrite_chain_from(case, seq: int, *, key_id: int, note: str) -> None:  # type: ignore[no-untyped-def]
    """Edit event ``seq`` and recompute every later hash and the case head, as a forger would.

    ``key_id`` 0 recomputes unkeyed SHA-256; another id uses whatever key the
    settings hold for it at the time of the call.
    """
    events = list(case.events.order_by("seq"))
    previous = events[seq - 2].hash if seq > 1 else ""
    with ledger_rewrite():
        for event in events[seq - 1 :]:
            if event.seq == seq:
                event.note = note
            event.key_id = key_id
            event.prev_hash = previous
            event.hash = event.compute_hash()
            CaseEvent.objects.filter(pk=event.pk).update(
                note=event.note, key_id=key_id, prev_hash=previous, hash=event.hash
            )
            previous = event.hash
        type(case).objects.filter(pk=case.pk).update(last_event_hash=previous)


def test_new_events_are_signed_with_the_current_key(case_with_history, settings) -> None:  # type: ignore[no-untyped-def]
    assert set(case_with_history.events.values_list("key_id", flat=True)) == {settings.QINGSHAN_LEDGER_KEY_ID}


def test_an_edit_with_every_later_hash_recomputed_unkeyed_is_caught(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    _rewrite_chain_from(case_with_history, 2, key_id=0, note="改过了")

    _checked, problems = case_history_verify()

    assert any("seq 2): unkeyed (legacy) hash" in p for p in problems)
    assert any("seq 3): unkeyed (legacy) hash" in p for p in problems)


def test_an_edit_resigned_with_a_key_not_the_ledger_key_is_caught(case_with_history, settings) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    real = settings.QINGSHAN_LEDGER_KEY
    settings.QINGSHAN_LEDGER_KEY = "a key the forger guessed"
    _rewrite_chain_from(case_with_history, 2, key_id=settings.QINGSHAN_LEDGER_KEY_ID, note="改过了")
    settings.QINGSHAN_LEDGER_KEY = real

    _checked, problems = case_history_verify()

    assert any("seq 2): content altered (hash mismatch)" in p for p in problems)
    assert any("seq 3): content altered (hash mismatch)" in p for p in problems)


def test_a_rotated_key_verifies_old_events_while_listed_and_resign_retires_it(  # type: ignore[no-untyped-def]
    case_with_history, settings, capsys
) -> None:
    from inspections.cases.history import case_history_verify

    old_id, old_key = settings.QINGSHAN_LEDGER_KEY_ID, settings.QINGSHAN_LEDGER_KEY
    settings.QINGSHAN_LEDGER_KEY_ID, settings.QINGSHAN_LEDGER_KEY = old_id + 1, "the new ledger key"
    settings.QINGSHAN_LEDGER_OLD_KEYS = {str(old_id): old_key}
    assert case_history_verify()[1] == []

    settings.QINGSHAN_LEDGER_OLD_KEYS = {}
    _checked, problems = case_history_verify()
    assert any(f"signed with key {old_id}, which is not configured" in p for p in problems)

    settings.QINGSHAN_LEDGER_OLD_KEYS = {str(old_id): old_key}
    call_command("resign_case_history")
    assert "2 case(s) re-signed with key" in capsys.readouterr().out
    settings.QINGSHAN_LEDGER_OLD_KEYS = {}
    assert case_history_verify()[1] == []
    assert set(CaseEvent.objects.values_list("key_id", flat=True)) == {old_id + 1}


def test_resign_leaves_a_tampered_chain_as_it_is(case_with_history, settings) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_resign

    event = case_with_history.events.get(seq=2)
    with ledger_rewrite(), connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET note = %s WHERE id = %s", ["改过了", event.pk])
    hashes = dict(CaseEvent.objects.filter(case=case_with_history).values_list("pk", "hash"))
    settings.QINGSHAN_LEDGER_OLD_KEYS = {str(settings.QINGSHAN_LEDGER_KEY_ID): settings.QINGSHAN_LEDGER_KEY}
    settings.QINGSHAN_LEDGER_KEY_ID += 1

    resigned, problems = case_history_resign()

    assert resigned == 1  # the other, intact case
    name = f"case {case_with_history.pk}: event {event.pk} (seq 2)"
    assert problems == [f"{name}: content altered (hash mismatch)"]
    assert dict(CaseEvent.objects.filter(case=case_with_history).values_list("pk", "hash")) == hashes


def _make_legacy(case) -> None:  # type: ignore[no-untyped-def]
    """The chain as it was before keying: key id 0, unkeyed SHA-256."""
    _rewrite_chain_from(case, 1, key_id=0, note=case.events.get(seq=1).note)


def test_the_migration_resigns_intact_legacy_chains_and_leaves_broken_ones(case_with_history) -> None:  # type: ignore[no-untyped-def]
    from importlib import import_module

    from django.apps import apps

    from inspections.cases.history import case_history_verify

    migration = import_module("inspections.migrations.0013_keyed_history_append_only")
    broken = open_case()
    for case in (case_with_history, broken):
        _make_legacy(case)
    tampered = broken.events.get(seq=1)
    with ledger_rewrite(), connection.cursor() as cursor:
        cursor.execute("UPDATE inspections_caseevent SET note = %s WHERE id = %s", ["改过了", tampered.pk])

    with ledger_rewrite():
        migration.resign_legacy_chains(apps, None)

    _checked, problems = case_history_verify()
    assert [p for p in problems if not p.startswith(f"case {broken.pk}:")] == []
    name = f"case {broken.pk}: event {tampered.pk} (seq 1)"
    assert f"{name}: unkeyed (legacy) hash: not signed with a ledger key" in problems
    assert case_with_history.events.filter(key_id=0).count() == 0


def test_an_anchor_catches_a_rewrite_by_someone_holding_the_key(case_with_history, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from inspections.cases.history import case_history_verify

    call_command("anchor_case_history", str(tmp_path))
    (anchor,) = tmp_path.glob("case-heads-*.json")
    call_command("verify_case_history", "--anchor", str(anchor))
    assert "every event chain is intact" in capsys.readouterr().out

    _rewrite_chain_from(case_with_history, 2, key_id=CaseEvent.objects.first().key_id, note="改过了")  # type: ignore[union-attr]
    assert case_history_verify()[1] == []  # the key signs the forgery

    with pytest.raises(CommandError):
        call_command("verify_case_history", "--anchor", str(anchor))
    assert (
        f"case {case_with_history.pk}: its first 3 event(s) differ from the anchor" in capsys.readouterr().err
    )


def test_an_anchor_survives_a_key_rotation_and_refuses_being_edited(
    case_with_history, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import json

    from inspections.cases.history import case_history_check_anchor

    call_command("anchor_case_history", str(tmp_path))
    (path,) = tmp_path.glob("case-heads-*.json")
    anchor = json.loads(path.read_text())
    old_id, old_key = settings.QINGSHAN_LEDGER_KEY_ID, settings.QINGSHAN_LEDGER_KEY
    settings.QINGSHAN_LEDGER_KEY_ID, settings.QINGSHAN_LEDGER_KEY = old_id + 1, "the new ledger key"
    settings.QINGSHAN_LEDGER_OLD_KEYS = {str(old_id): old_key}
    call_command("resign_case_history")

    assert case_history_check_anchor(anchor) == []
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("anchor_case_history", str(tmp_path))
    anchor["heads"][str(case_with_history.pk)]["count"] = 2
    assert case_history_check_anchor(anchor) == [
        "the anchor's signature does not match its content (the anchor was altered)"
    ]


def test_the_daily_anchor_task_writes_one_file_a_day(case_with_history, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from json import loads as json_loads

    import time_machine
    from django.utils import timezone

    from inspections.cases.history import case_history_check_anchor
    from inspections.cases.models import CaseEvent
    from inspections.cases.tasks import anchor_history

    settings.QINGSHAN_LEDGER_ANCHOR_DIR = tmp_path / "anchors"

    cases = CaseEvent.objects.values("case_id").distinct().count()
    # Both runs on one China day, whatever the clock says when the test runs (not across midnight).
    with time_machine.travel(timezone.now(), tick=False):
        assert anchor_history.apply().get() == cases > 0
        (path,) = settings.QINGSHAN_LEDGER_ANCHOR_DIR.glob("case-heads-*.json")
        written = path.read_bytes()
        assert case_history_check_anchor(json_loads(written)) == []
        assert anchor_history.apply().get() == 0  # a second run the same day leaves the file as it was
    assert path.read_bytes() == written
