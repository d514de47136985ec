"""Side effects by name: the only way domain code reaches Celery.

Domain code never imports a tasks module (that would make services and tasks
import each other). It names the task, and the message is sent once the
current transaction commits, so a worker never sees a row that a rollback
removed. Which queue a task goes to is decided in one place only:
``CELERY_TASK_ROUTES`` in the settings.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
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

    The message goes over a connection kept for bounded publishes (one per
    thread at a time, :func:`_bounded_connections`): a connection attempt and
    every socket operation have the timeout, and a publish is never retried
    by the transport, so a broker that refuses, or drops every packet, costs
    at most a few seconds and never an error. A kept connection the broker
    has since closed (a restart, an idle cut) fails at once or within the
    timeout: the message is then tried once more on a new connection. Only
    for tasks that a sweeper re-sends when they were not sent.
    """
    task = current_app.tasks[task_name]
    if current_app.conf.task_always_eager:
        task.apply_async(args=args, kwargs=kwargs)
        return True
    timeout = settings.QINGSHAN_PUBLISH_TIMEOUT_SECONDS
    try:
        pool = _bounded_connections(timeout)
        for attempt in (1, 2):
            with pool.acquire(block=False) as connection:
                producer = getattr(connection, _PRODUCER, None)
                try:
                    connection.ensure_connection(max_retries=1, timeout=timeout)
                    if producer is None:
                        producer = current_app.amqp.Producer(connection, auto_declare=False)
                    task.apply_async(args=args, kwargs=kwargs, producer=producer, retry=False)
                except Exception:
                    # A connection in an unknown state is closed: its next use connects anew.
                    setattr(connection, _PRODUCER, None)
                    with contextlib.suppress(Exception):
                        connection.close()
                    if producer is not None and attempt == 1:
                        continue  # perhaps only stale: once more, on a new connection
                    raise
                setattr(connection, _PRODUCER, producer)
                return True
    except Exception as exc:  # the broker's errors are of many kinds (kombu, redis, amqp, socket)
        logger.warning("broker did not take %s%r (left to the sweeper): %s", task_name, args, exc)
    return False


# The producer kept on a connection once a message went through it (a failure then may be a
# stale socket).
_PRODUCER = "qingshan_producer"
# At most this many publishing at once per process (a web process has 8 places by default).
BOUNDED_CONNECTIONS = 32
_pools: dict[tuple[int, str, float], Any] = {}
_pools_lock = threading.Lock()


def _bounded_connections(timeout: float) -> Any:
    """This process's pool of broker connections with ``timeout`` on connecting and on every socket.

    Keyed by process (a forked child never shares its parent's sockets), broker
    address and timeout (both settings may change while a process runs: tests do).
    One connection per thread publishing at once, kept for the next, at most
    ``BOUNDED_CONNECTIONS`` (past them a publish is left to the sweeper).
    """
    key = (os.getpid(), current_app.conf.broker_write_url, timeout)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                # Redis reads its socket timeouts from the transport options; others ignore them.
                options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
                connection = current_app.connection_for_write(
                    key[1], connect_timeout=timeout, transport_options=options
                )
                pool = _pools[key] = connection.Pool(limit=BOUNDED_CONNECTIONS)
    return pool


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
