"""The case history keyed with the ledger key; the append-only tables refuse UPDATE and DELETE.

1. Case events record the id of the key that signed them (0: unkeyed legacy).
2. Every existing chain that verifies as it was (unkeyed SHA-256) is re-signed
   with the current ledger key; a chain that does not verify is left as it is,
   so ``verify_case_history`` goes on reporting it (and its unkeyed events).
3. Database triggers, on PostgreSQL and SQLite, refuse UPDATE and DELETE of
   case events, the embargo access log, the reassignment log, draw inputs and
   the organisers of a plan that has a draw (PostgreSQL also TRUNCATE), unless
   the connection has lifted them with ``inspections.common.ledger.ledger_rewrite``
   (the test flush and ``resign_case_history`` only).
"""

import json

from django.db import migrations, models

from inspections.common.ledger import (
    LEGACY_KEY_ID,
    PG_SETTING,
    SQLITE_FUNCTION,
    ledger_current_key_id,
    ledger_hash,
    register_sqlite_function,
)


def _hash(content, key_id):
    if key_id != LEGACY_KEY_ID:
        content = {**content, "key_id": key_id}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return ledger_hash(canonical.encode(), key_id=key_id)


def _content(event, prev_hash):
    return {
        "case": event.case_id,
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor_id,
        "created_at": event.created_at.isoformat(),
        "from": event.from_status,
        "to": event.to_status,
        "escalation_level": event.escalation_level,
        "note": event.note,
        "evidence": event.evidence,
        "prev_hash": prev_hash,
    }


def resign_legacy_chains(apps, schema_editor):
    Case = apps.get_model("inspections", "Case")
    CaseEvent = apps.get_model("inspections", "CaseEvent")
    key_id = ledger_current_key_id()
    for case in Case.objects.order_by("id").only("id", "event_count", "last_event_hash").iterator():
        events = list(CaseEvent.objects.filter(case_id=case.pk).order_by("seq"))
        previous = ""
        intact = len(events) == case.event_count
        for expected_seq, event in enumerate(events, start=1):
            if (
                event.seq != expected_seq
                or event.prev_hash != previous
                or _hash(_content(event, event.prev_hash), LEGACY_KEY_ID) != event.hash
            ):
                intact = False
                break
            previous = event.hash
        if not intact or previous != case.last_event_hash:
            continue
        previous = ""
        for event in events:
            signed = _hash(_content(event, previous), key_id)
            CaseEvent.objects.filter(pk=event.pk).update(key_id=key_id, prev_hash=previous, hash=signed)
            previous = signed
        Case.objects.filter(pk=case.pk).update(last_event_hash=previous)


APPEND_ONLY = {
    "inspections_caseevent": "case events are append-only",
    "inspections_embargoaccesslog": "the access log is append-only",
    "inspections_reassignment": "the reassignment log is append-only",
    "inspections_drawinputs": "a committed draw is immutable",
}
ORGANISERS = "inspections_samplingplan_organisers"
ORGANISERS_MESSAGE = "the organisers of a committed plan are immutable"
PLAN_HAS_DRAW = "EXISTS (SELECT 1 FROM inspections_draw d WHERE d.plan_id = OLD.samplingplan_id)"


def _sqlite_statements():
    allowed = f"{SQLITE_FUNCTION}()"
    statements = []
    for table, message in APPEND_ONLY.items():
        for op in ("UPDATE", "DELETE"):
            if op == "UPDATE" and table != "inspections_caseevent":
                continue  # 0002 refuses their updates already
            statements.append(
                f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
                    WHEN NOT {allowed}
                    BEGIN SELECT RAISE(ABORT, '{message}'); END"""
            )
    for op in ("UPDATE", "DELETE"):
        statements.append(
            f"""CREATE TRIGGER {ORGANISERS}_no_{op.lower()} BEFORE {op} ON {ORGANISERS}
                WHEN NOT {allowed} AND {PLAN_HAS_DRAW}
                BEGIN SELECT RAISE(ABORT, '{ORGANISERS_MESSAGE}'); END"""
        )
    return statements


def _pg_statements():
    lifted = f"coalesce(current_setting('{PG_SETTING}', true), '') = 'on'"
    statements = [
        f"""CREATE FUNCTION inspections_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT {lifted} THEN
                    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END $$""",
        f"""CREATE FUNCTION inspections_ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT {lifted} THEN
                    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NULL;
            END $$""",
        f"""CREATE FUNCTION inspections_organisers_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT {lifted} AND {PLAN_HAS_DRAW} THEN
                    RAISE EXCEPTION '{ORGANISERS_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END $$""",
    ]
    for table, message in APPEND_ONLY.items():
        ops = "UPDATE OR DELETE" if table == "inspections_caseevent" else "DELETE"
        statements += [
            f"""CREATE TRIGGER {table}_no_delete BEFORE {ops} ON {table}
                FOR EACH ROW EXECUTE FUNCTION inspections_ledger_append_only('{message}')""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION inspections_ledger_no_truncate('{message}')""",
        ]
    statements.append(
        f"""CREATE TRIGGER {ORGANISERS}_frozen BEFORE UPDATE OR DELETE ON {ORGANISERS}
            FOR EACH ROW EXECUTE FUNCTION inspections_organisers_frozen()"""
    )
    return statements


def create_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        register_sqlite_function(None, connection)
        statements = _sqlite_statements()
    elif connection.vendor == "postgresql":
        statements = _pg_statements()
    else:  # pragma: no cover - other backends rely on the services alone
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drop_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in [*APPEND_ONLY, ORGANISERS]:
                for op in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        elif connection.vendor == "postgresql":
            for table in APPEND_ONLY:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {ORGANISERS}_frozen ON {ORGANISERS}")
            for function in (
                "inspections_ledger_append_only",
                "inspections_ledger_no_truncate",
                "inspections_organisers_frozen",
            ):
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0012_photo_recovery_and_mail_ledger"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="key_id",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Which ledger key signed the hash; 0 for the unkeyed hash of a legacy event.",
                verbose_name="key",
            ),
        ),
        migrations.RunPython(resign_legacy_chains, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
