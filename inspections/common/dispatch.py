"""Side effects by name: the only way domain code reaches Celery.

Domain code never imports a tasks module (that would make services and tasks
import each other). It names the task, and the message is sent once the
current transaction commits, so a worker never sees a row that a rollback
removed. Which queue a task goes to is decided in one place only:
``CELERY_TASK_ROUTES`` in the settings.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def task_send(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send the registered task ``task_name`` now (routed by ``CELERY_TASK_ROUTES``).

    Goes through the task object, not ``send_task``, so that eager mode in
    tests runs it in-process. An unknown name raises ``KeyError``: a typo
    must fail loudly, not queue a message no worker will ever take.
    """
    current_app.tasks[task_name].apply_async(args=args, kwargs=kwargs)


def enqueue_on_commit(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send ``task_name(*args, **kwargs)`` once the current transaction commits.

    Outside a transaction (autocommit) it is sent at once. Arguments must be
    JSON-serialisable: ids and plain values, never model instances.
    """
    transaction.on_commit(lambda: task_send(task_name, *args, **kwargs))
