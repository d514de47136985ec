"""The admin module Django's autodiscovery imports: each concern's admin pages, in dependency order."""

from inspections.accounts import admin as accounts_admin  # noqa: F401
from inspections.cases import admin as cases_admin  # noqa: F401
from inspections.checklist import admin as checklist_admin  # noqa: F401
from inspections.complaints import admin as complaints_admin  # noqa: F401
from inspections.digests import admin as digests_admin  # noqa: F401
from inspections.fieldwork import admin as fieldwork_admin  # noqa: F401
from inspections.publication import admin as publication_admin  # noqa: F401
from inspections.sampling import admin as sampling_admin  # noqa: F401
from inspections.workbench import admin as workbench_admin  # noqa: F401
from inspections.workdays import admin as workdays_admin  # noqa: F401
