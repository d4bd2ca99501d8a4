"""A real worker, on committed data, sending an email through an SMTP outage: the
change is kept, the email waits and is retried, and it leaves once when SMTP is back; an
email a killed worker left running is queued again and sent; and ``manage.py worker``
outlives the database going away (a restart) and goes on with the jobs after.

The SMTP server is the test double ``tests.portal.smtp`` (``EMAIL_BACKEND``); everything
else is real: the plan change, the queue tables, procrastinate's worker with its own
connection pool, its retry strategy and task middleware."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

from accounts.models import User
from portal.models import Organisation
from portal.tasks import retry_stalled_jobs, send_email
from portal.tenancy import use_public_schema
from subscriptions.models import PlanChange, Subscription
from subscriptions.services import plan_changes
from tests.conftest import database_urls, drop_schemas, owner_role
from tests.portal.smtp import BACKEND, SMTPOutage
from tests.subscriptions.conftest import make_organisation

# The queue puts a retry off by the worker's clock and finds it due by the database's.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]


@pytest.fixture
def customer(catalogue: None, settings: Any) -> Iterator[tuple[Organisation, User]]:
    settings.EMAIL_BACKEND = BACKEND
    organisation, owner = make_organisation("enterprise", seats=5, slug="smtp-outage")
    yield organisation, owner
    SMTPOutage.down = False
    use_public_schema()
    drop_schemas("org_smtp_outage")


def _run_worker(queues: list[str] | None = None) -> None:
    """Run a worker until no job is ready, as ``manage.py worker --one-shot`` would."""
    assert isinstance(app.connector, DjangoConnector)
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(
            queues=queues or ["emails"],
            wait=False,
            install_signal_handlers=False,
            listen_notify=False,
        )


def _time_passes(job: ProcrastinateJob) -> None:
    """The retry's time comes (the job was put off by minutes)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", [job.pk])


def test_an_email_rides_out_an_smtp_outage_and_leaves_once(
    customer: tuple[Organisation, User],
) -> None:
    organisation, owner = customer
    SMTPOutage.down = True
    change = plan_changes.change_plan(organisation, "professional", acting_user=owner)
    [job] = ProcrastinateJob.objects.filter(task_name=send_email.name)
    assert job.args["to"] == [owner.email]

    _run_worker()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("todo", 1)  # failed, put off for a retry
    assert mail.outbox == []
    assert PlanChange.objects.filter(pk=change.pk).exists()  # the change is kept
    assert Subscription.objects.get(organisation=organisation).plan.code == "professional"

    _time_passes(job)
    _run_worker()  # still down
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("todo", 2)
    events = ProcrastinateEvent.objects.filter(job_id=job.pk)
    assert (
        list(events.filter(type="deferred_for_retry").values_list("type", flat=True))
        == ["deferred_for_retry"] * 2
    )
    assert mail.outbox == []

    SMTPOutage.down = False
    _time_passes(job)
    _run_worker()
    [message] = mail.outbox
    assert message.to == [owner.email] and "Professional" in message.subject
    assert not ProcrastinateJob.objects.filter(pk=job.pk).exists()  # done, and deleted

    _run_worker()  # nothing left to send
    assert len(mail.outbox) == 1


def test_a_job_left_running_by_a_vanished_worker_is_queued_again(
    customer: tuple[Organisation, User],
) -> None:
    organisation, owner = customer
    plan_changes.change_plan(organisation, "professional", acting_user=owner)
    [job] = ProcrastinateJob.objects.filter(task_name=send_email.name)
    with connection.cursor() as cursor:  # a worker took it, then was killed
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour') RETURNING id"
        )
        [worker_id] = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            [worker_id, job.pk],
        )
    retry_stalled_jobs.defer()
    _run_worker(queues=["emails"])
    assert mail.outbox == []  # not ready: it is still "doing"
    _run_worker(queues=["maintenance"])
    job.refresh_from_db()
    assert job.status == "todo"
    _run_worker(queues=["emails"])
    [message] = mail.outbox
    assert message.to == [owner.email]


ROOT = Path(__file__).resolve().parents[2]


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(found: queue.Queue[str], text: str, process: subprocess.Popen[str]) -> bool:
    """Whether ``process`` writes a line with ``text`` within a minute (False once it
    exits without)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if text in found.get(timeout=0.5):
                return True
        except queue.Empty:
            if process.poll() is not None:
                return False
    return False


def _database_takes_connections(allowed: bool) -> None:
    """The app role may (again) connect, or may not and its connections are cut: what the
    worker sees of a restart."""
    name, app_role = connection.settings_dict["NAME"], settings.PORTAL_DATABASE_APP_ROLE
    with owner_role(), connection.cursor() as cursor:
        for grantee in ("PUBLIC", f'"{app_role}"'):
            cursor.execute(
                f'GRANT CONNECT ON DATABASE "{name}" TO {grantee}'
                if allowed
                else f'REVOKE CONNECT ON DATABASE "{name}" FROM {grantee}'
            )
        if not allowed:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND usename = %s",
                [name, app_role],
            )


def test_the_worker_outlives_the_database_going_away(catalogue: None) -> None:
    environment = {
        **os.environ,
        **database_urls(application_name="worker-under-test"),
        "DJANGO_DEBUG": "1",
        "EMAIL_URL": "console://",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--queues", "emails"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(worker.stdout, output), daemon=True).start()
    try:
        assert _wait_for(output, "Ctrl-C stops it", worker)
        _database_takes_connections(False)
        try:  # procrastinate's worker gives up (its pool waits 30 s); ours starts it again
            assert _wait_for(output, "starting it again", worker), "the worker exited"
        finally:
            _database_takes_connections(True)

        send_email.defer(subject="After the restart", body="Still here.", to=["x@example.test"])
        assert _wait_for(output, "Subject: After the restart", worker)
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
