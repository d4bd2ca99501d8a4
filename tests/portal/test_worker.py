"""A real worker, on committed data, sending an email through an SMTP outage: the
change is kept, the email waits and is retried, and it leaves once when SMTP is back; and
an email a killed worker left running is queued again and sent.

The SMTP server is the test double ``tests.portal.smtp`` (``EMAIL_BACKEND``); everything
else is real: the plan change, the queue tables, procrastinate's worker with its own
connection pool, its retry strategy and task middleware."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
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
from tests.conftest import drop_schemas
from tests.portal.smtp import BACKEND, SMTPOutage
from tests.subscriptions.conftest import make_organisation

pytestmark = pytest.mark.django_db(transaction=True)


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
