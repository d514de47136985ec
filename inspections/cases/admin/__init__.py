"""Cases in the admin, one module per page or concern; nothing edits a status directly.

``changelist`` the problems' list, ``problem_list`` the 问题清单 fields of a problem's page and
its PDFs, ``problem_page`` the page's evidence and decisions and the one registered
:class:`~inspections.cases.admin.problem_page.CaseAdmin`; beside them the ladder (督办),
extensions, follow-ups, the jurisdiction's rules and the reader's notifications.
"""

from inspections.cases.admin import (  # noqa: F401 - each registers its pages
    extensions,
    follow_ups,
    ladder,
    notifications,
    problem_page,
    rules,
)
