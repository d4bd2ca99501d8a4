"""The job queue's wiring: where a queued job is written (in the caller's transaction, or
after it commits inside a worker), emails through the queue, and the public schema around
every task a worker runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import translation
from procrastinate.contrib.django import app
from procrastinate.testing import InMemoryConnector

from portal.emails import send_after_commit
from portal.queue import defer_with_transaction, public_schema_around_task
from portal.tasks import send_email
from portal.tenancy import current_schema, on_public_schema, use_tenant
from tests.conftest import Site, queued_emails, send_queued_emails

EMAIL = {"subject": "Hello", "body": "Body", "to": ["someone@example.test"]}


class Rollback(Exception):
    pass


def test_in_the_web_process_a_job_is_written_in_the_current_transaction(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(Rollback), transaction.atomic():
            defer_with_transaction(send_email, **EMAIL)
            assert queued_emails() == [EMAIL]  # already in the transaction's rows
            raise Rollback
        assert queued_emails() == []  # and gone with it
    assert callbacks == []


def test_inside_a_worker_a_job_is_queued_once_the_transaction_commits(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A worker queues through its own pool, outside Django's transaction: the job must
    wait for the commit (here an in-memory connector stands in for the pool)."""
    connector = InMemoryConnector()
    with app.replace_connector(connector):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            defer_with_transaction(send_email, **EMAIL)
            assert connector.jobs == {}
        [after_commit] = callbacks
        after_commit()
    [job] = connector.jobs.values()
    assert (job["task_name"], job["args"], job["queue_name"]) == (send_email.name, EMAIL, "emails")
    assert queued_emails() == []


def test_an_email_is_rendered_in_the_active_language_and_queued(northwind: Site) -> None:
    context = {"organisation": northwind.organisation, "user": None, "inviter": None, "link": "x"}
    with translation.override("ja"):
        send_after_commit("accounts/email/invitation", ["", "new@northwind.test"], context)
    [queued] = queued_emails()
    assert queued["subject"] == "Northwind Inc.のヘルプデスクに追加されました"
    assert queued["to"] == ["new@northwind.test"]  # empty addresses dropped
    assert mail.outbox == []
    [message] = send_queued_emails()
    assert (message.subject, message.to) == (queued["subject"], ["new@northwind.test"])
    assert queued_emails() == []


def test_a_rolled_back_change_queues_no_email(northwind: Site) -> None:
    context = {"organisation": northwind.organisation, "user": None, "inviter": None, "link": "x"}
    with pytest.raises(Rollback), transaction.atomic():
        send_after_commit("accounts/email/invitation", ["new@northwind.test"], context)
        assert len(queued_emails()) == 1
        raise Rollback
    assert queued_emails() == []
    assert send_queued_emails() == []


def test_no_recipient_queues_nothing(northwind: Site) -> None:
    send_after_commit("accounts/email/invitation", [""], {"organisation": northwind.organisation})
    assert queued_emails() == []


# --- The public schema around every task ------------------------------------------------


def test_every_worker_task_runs_inside_the_public_schema_middleware() -> None:
    assert public_schema_around_task in app.worker_defaults["task_middleware"]


def _task_switching_to(site: Site, *, fails: bool) -> Callable[[], str]:
    def task() -> str:
        assert on_public_schema()  # whatever the previous task left
        use_tenant(site.organisation)
        if fails:
            raise RuntimeError("the task failed on the organisation's schema")
        return current_schema()

    return task


def test_a_task_starts_on_public_and_leaves_the_connection_there(
    northwind: Site, contoso: Site
) -> None:
    use_tenant(contoso.organisation)  # as an earlier task that did not clean up would
    result = public_schema_around_task(_task_switching_to(northwind, fails=False), None, None)
    assert result == northwind.organisation.schema_name
    assert on_public_schema()


def test_a_failing_task_leaves_the_connection_on_public_too(northwind: Site) -> None:
    with pytest.raises(RuntimeError):
        public_schema_around_task(_task_switching_to(northwind, fails=True), None, None)
    assert on_public_schema()
