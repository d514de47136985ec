"""The inspections app: registers every task by name and runs one hook after migrate."""

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from inspections.common.ledger import register_sqlite_function


def _after_migrate(**kwargs: Any) -> None:
    """Groups need the permission rows, and beat entries their tables: both exist only after migrate."""
    from inspections.accounts.roles import sync_role_groups
    from inspections.accounts.schedules import ENTRIES as ACCOUNTS
    from inspections.cases.schedules import ENTRIES as CASES
    from inspections.common.schedules import ensure
    from inspections.digests.schedules import ENTRIES as DIGESTS
    from inspections.evidence.schedules import ENTRIES as EVIDENCE
    from inspections.fieldwork.schedules import ENTRIES as FIELDWORK
    from inspections.publication.schedules import ENTRIES as PUBLICATION

    sync_role_groups()
    ensure([*ACCOUNTS, *CASES, *EVIDENCE, *FIELDWORK, *PUBLICATION, *DIGESTS])


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("Inspections")

    def ready(self) -> None:
        # Register every task by name, in every process: domain code dispatches by name.
        from inspections import tasks  # noqa: F401

        post_migrate.connect(_after_migrate, sender=self)
        # SQLite's append-only triggers ask each connection whether it lifted them.
        connection_created.connect(register_sqlite_function, dispatch_uid="qingshan-ledger-rewrite")
