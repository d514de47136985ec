"""Side effects by name: the only way domain code reaches Celery.

Domain code never imports a tasks module (that would make services and tasks
import each other). It names the task, and the message is sent once the
current transaction commits, so a worker never sees a row that a rollback
removed. Which queue a task goes to is decided in one place only:
``CELERY_TASK_ROUTES`` in the settings.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


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


def task_send_bounded(task_name: str, *args: Any, **kwargs: Any) -> bool:
    """Send ``task_name`` if the broker takes it within ``QINGSHAN_PUBLISH_TIMEOUT_SECONDS``; whether it did.

    One connection attempt with a timeout, then one publish without retries
    (the socket timeouts of the transport bound it): a broker that refuses,
    or drops every packet, costs at most a few seconds and never an error.
    Only for tasks that a sweeper re-sends when they were not sent.
    """
    task = current_app.tasks[task_name]
    if current_app.conf.task_always_eager:
        task.apply_async(args=args, kwargs=kwargs)
        return True
    timeout = settings.QINGSHAN_PUBLISH_TIMEOUT_SECONDS
    try:
        # Redis reads its socket timeouts from the transport options; other transports ignore them.
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        with current_app.connection_for_write(
            connect_timeout=timeout, transport_options=options
        ) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            task.apply_async(args=args, kwargs=kwargs, connection=connection, retry=False)
    except Exception as exc:  # the broker's errors are of many kinds (kombu, redis, amqp, socket)
        logger.warning("broker did not take %s%r (left to the sweeper): %s", task_name, args, exc)
        return False
    return True


def enqueue_on_commit_or_sweep(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Like :func:`enqueue_on_commit`, but a broker that is down or slow delays nobody.

    The message is published after the commit with :func:`task_send_bounded`;
    if the broker does not take it, the task's sweeper sends it later (the
    rows it works on say by themselves that they are not done).
    """
    transaction.on_commit(lambda: task_send_bounded(task_name, *args, **kwargs))


def mail_retry(task: Any, exc: BaseException, **options: Any) -> BaseException:
    """The retry of a bound task whose email met a transient SMTP error (raise what it returns).

    Delays double from ``QINGSHAN_MAIL_RETRY_SECONDS``; at most ``QINGSHAN_MAIL_MAX_ATTEMPTS``.
    """
    return task.retry(  # type: ignore[no-any-return]
        exc=exc,
        countdown=settings.QINGSHAN_MAIL_RETRY_SECONDS * 2**task.request.retries,
        max_retries=settings.QINGSHAN_MAIL_MAX_ATTEMPTS,
        **options,
    )
