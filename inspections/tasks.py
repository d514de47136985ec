"""The tasks module Celery's autodiscovery imports: each concern's tasks, registered by name."""

from inspections.accounts import tasks as accounts_tasks  # noqa: F401
from inspections.cases import tasks as cases_tasks  # noqa: F401
from inspections.digests import tasks as digests_tasks  # noqa: F401
from inspections.evidence import tasks as evidence_tasks  # noqa: F401
from inspections.fieldwork import tasks as fieldwork_tasks  # noqa: F401
from inspections.publication import tasks as publication_tasks  # noqa: F401
