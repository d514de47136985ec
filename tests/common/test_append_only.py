"""The append-only tables refuse UPDATE and DELETE in the database itself, on SQLite and PostgreSQL.

Only ``ledger_rewrite`` (the flush of a whole database, the re-signing of the
case history) lifts the triggers, for one connection and one block.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from inspections.cases.models import CaseEvent
from inspections.common.ledger import ledger_rewrite
from inspections.sampling.models import Assignment, DrawInputs, EmbargoAccessLog, Reassignment, SamplingPlan
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from tests.builders import open_case, organiser, plan, region, roster

pytestmark = pytest.mark.django_db


@dataclass
class Ledgers:
    plan: SamplingPlan
    draft: SamplingPlan


@pytest.fixture
def ledgers() -> Ledgers:
    roster()
    region()
    boss = organiser()
    committed = plan(by=boss)
    sampling_plan_commit(plan=committed, user=boss)
    sampling_plan_draw(plan=committed, user=boss)
    assignment = Assignment.objects.filter(draw__plan=committed).first()
    assert assignment is not None
    Reassignment.objects.create(
        assignment=assignment,
        actor=boss,
        at=timezone.now(),
        reason="王某因病不能出行",
        team_before=[],
        team_after=[],
    )
    EmbargoAccessLog.objects.create(at=timezone.now(), user=boss, action="admin:plan:view", plan=committed)
    open_case()
    return Ledgers(plan=committed, draft=plan(by=boss))


def refused(sql: str, params: list[str] | None = None) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params or [])
    except DatabaseError:
        return True
    return False


TABLES = [
    "inspections_caseevent",
    "inspections_embargoaccesslog",
    "inspections_reassignment",
    "inspections_drawinputs",
]


@pytest.mark.parametrize("table", TABLES)
def test_the_database_refuses_a_delete_of_a_ledger_row(ledgers: Ledgers, table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - a fixed table name
        (before,) = cursor.fetchone()

    assert before >= 1
    assert refused(f"DELETE FROM {table}")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone() == (before,)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("inspections_caseevent", "note"),
        ("inspections_embargoaccesslog", "action"),
        ("inspections_reassignment", "reason"),
        ("inspections_drawinputs", "candidates"),
    ],
)
def test_the_database_refuses_an_update_of_a_ledger_row(ledgers: Ledgers, table: str, column: str) -> None:
    assert refused(f"UPDATE {table} SET {column} = %s", ["改过了，改过了"])  # noqa: S608


def test_the_orm_delete_of_ledger_rows_is_refused_too(ledgers: Ledgers) -> None:
    for queryset in (EmbargoAccessLog.objects.all(), Reassignment.objects.all(), DrawInputs.objects.all()):
        with pytest.raises(DatabaseError), transaction.atomic():
            queryset.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.all()._raw_delete(CaseEvent.objects.db)

    assert EmbargoAccessLog.objects.count() == 1 and Reassignment.objects.count() == 1


def test_the_organisers_of_a_committed_plan_cannot_be_removed_but_a_drafts_can(ledgers: Ledgers) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        ledgers.plan.organisers.clear()
    assert ledgers.plan.organisers.count() == 1
    assert refused("UPDATE inspections_samplingplan_organisers SET user_id = user_id")

    ledgers.draft.organisers.clear()

    assert ledgers.draft.organisers.count() == 0


def test_ledger_rewrite_lifts_the_triggers_for_its_block_only(ledgers: Ledgers) -> None:
    with ledger_rewrite():
        assert not refused("DELETE FROM inspections_embargoaccesslog")

    assert EmbargoAccessLog.objects.count() == 0
    assert refused("DELETE FROM inspections_reassignment")


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_ledgers_and_leaves_the_triggers_armed(ledgers: Ledgers) -> None:
    call_command("flush", interactive=False, verbosity=0)

    assert CaseEvent.objects.count() == 0 and EmbargoAccessLog.objects.count() == 0
    ledgers = Ledgers(plan=plan(), draft=plan())
    EmbargoAccessLog.objects.create(
        at=timezone.now(), user=ledgers.plan.created_by, action="admin:plan:view", plan=ledgers.plan
    )
    assert refused("DELETE FROM inspections_embargoaccesslog")
