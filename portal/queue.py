"""The job queue: procrastinate, with its tables in the public schema.

Two places queue jobs, and they reach the database differently:

* the web process and management commands use procrastinate's ``DjangoConnector``, which
  queues through Django's connection: the job is written in the current transaction and
  exists only if that transaction commits (a transactional outbox);
* a worker (``manage.py worker``) swaps in a connector with its own connection pool, so a
  task that queues a follow-up job would write it at once, committed even if the task's own
  transaction then rolls back.

``defer_with_transaction`` hides the difference. Tasks run in a worker thread whose Django
connection outlives the task, so every task starts and ends on the public schema
(``public_schema_around_task``): a task that switched to an organisation cannot leave the
next task on that organisation's schema. Tasks take ids and choose their organisation
themselves with ``tenant_context``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from procrastinate import App
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.job_context import JobContext
from procrastinate.tasks import Task
from procrastinate.worker import Worker

from portal.tenancy import use_public_schema


def public_schema_around_task(
    call_next: Any, context: JobContext | None, worker: Worker | None
) -> Any:
    """A worker's task middleware: the task starts on the public schema, and whatever
    schema it switched to, the connection is back on public when it ends."""
    use_public_schema()
    try:
        return call_next()
    finally:
        use_public_schema()


def on_app_ready(queue_app: App) -> None:
    """``PROCRASTINATE_ON_APP_READY``: add the middleware to every worker's tasks (after
    procrastinate's own, which closes Django's stale connections around each task)."""
    middleware = list(queue_app.worker_defaults.get("task_middleware") or [])
    queue_app.worker_defaults["task_middleware"] = [*middleware, public_schema_around_task]


def joins_django_transaction() -> bool:
    """Whether a job queued now is written through Django's connection, in its current
    transaction (the web process, commands), rather than through a worker's own pool."""
    return isinstance(app.connector, DjangoConnector)


def defer_with_transaction(task: Task[Any, Any, Any], **task_kwargs: Any) -> None:
    """Queue ``task`` so that the job exists only if the current transaction commits.

    Through Django's connection the job is written in that transaction; inside a worker
    it is written once the transaction commits (``on_commit``; at once outside one)."""
    if joins_django_transaction():
        task.defer(**task_kwargs)
    else:
        transaction.on_commit(lambda: task.defer(**task_kwargs))
