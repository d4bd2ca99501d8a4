"""The base app: its checks, the host cache's signals, and the job queue's name in the back
office."""

import importlib
from typing import cast

from django.apps import AppConfig, apps
from django.db import models
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        # Connects the host cache to the saves that make it stale (portal.hosts).
        importlib.import_module("portal.hosts")
        # Registers the portal's system checks (portal.checks).
        importlib.import_module("portal.checks")
        _queue_in_our_language()


def _queue_in_our_language() -> None:
    """The job queue (procrastinate's models and admin) in the back office's language, as
    our apps are: its names, its columns and filters, its actions."""
    from procrastinate.contrib.django import admin as queue_admin  # noqa: PLC0415 (ready)
    from procrastinate.contrib.django.models import ProcrastinateJob  # noqa: PLC0415

    queue = apps.get_app_config("procrastinate")
    queue.verbose_name = _("Job queue")
    for model, (one, many) in {
        "procrastinatejob": (_("job"), _("jobs")),
        "procrastinateevent": (_("job event"), _("job events")),
        "procrastinateworker": (_("worker"), _("workers")),
        "procrastinateperiodicdefer": (_("periodic job"), _("periodic jobs")),
    }.items():
        meta = queue.get_model(model)._meta
        meta.verbose_name, meta.verbose_name_plural = one, many
    job = queue.get_model("procrastinatejob")._meta
    event = queue.get_model("procrastinateevent")._meta
    for meta, field, name in [
        (job, "queue_name", _("queue")),
        (job, "task_name", _("task")),
        (job, "priority", _("priority")),
        (job, "lock", _("lock")),
        (job, "queueing_lock", _("queueing lock")),
        (job, "status", _("status")),
        (job, "scheduled_at", _("scheduled for")),
        (job, "attempts", _("attempts")),
        (job, "args", _("arguments")),
        (job, "abort_requested", _("abort requested")),
        (job, "worker", _("worker")),
        (event, "job", _("job")),
        (event, "type", _("event")),
        (event, "at", _("at")),
    ]:
        cast(models.Field, meta.get_field(field)).verbose_name = name
    cast(models.Field, job.get_field("status")).choices = list(JOB_STATES.items())
    cast(models.Field, event.get_field("type")).choices = list(JOB_EVENTS.items())

    jobs = queue_admin.ProcrastinateJobAdmin
    # Its number as ours are shown (ID), not as "Pk".
    jobs.fields = ["id" if name == "pk" else name for name in jobs.fields]
    jobs.list_display = ["id" if name == "pk" else name for name in jobs.list_display]
    shown_args = jobs.pretty_args

    def pretty_status(admin: queue_admin.ProcrastinateJobAdmin, instance: ProcrastinateJob) -> str:
        """A job's state as its list shows it: procrastinate's sign and our word."""
        sign = queue_admin.JOB_STATUS_EMOJI_MAPPING.get(instance.status, "")
        return format_html(
            '<span aria-hidden="true">{}</span> {}', sign, instance.get_status_display()
        )

    def pretty_args(admin: queue_admin.ProcrastinateJobAdmin, instance: ProcrastinateJob) -> str:
        """A job's arguments as procrastinate shows them, without the inline style that
        the back office's content security policy refuses."""
        return mark_safe(shown_args(admin, instance).replace('<pre style="margin: 0">', "<pre>"))

    jobs.pretty_status = pretty_status  # type: ignore[method-assign,assignment]
    jobs.pretty_args = pretty_args  # type: ignore[method-assign,assignment]
    for method, name in {
        "pretty_status": _("status"),
        "short_task_name": _("task"),
        "pretty_args": _("arguments"),
        "summary": _("summary"),
        "retry": _("Retry the job"),
        "cancel": _("Cancel the job (waiting jobs only)"),
        "abort": _("Abort the job (waiting and running jobs)"),
    }.items():
        getattr(jobs, method).short_description = name


# What the queue's states and events are called in the back office.
JOB_STATES = {
    "todo": _("waiting"),
    "doing": _("running"),
    "succeeded": _("succeeded"),
    "failed": _("failed"),
    "cancelled": _("cancelled"),
    "aborted": _("aborted"),
}
JOB_EVENTS = {
    "deferred": pgettext_lazy("job event", "queued"),
    "started": pgettext_lazy("job event", "started"),
    "deferred_for_retry": pgettext_lazy("job event", "queued for a retry"),
    "failed": pgettext_lazy("job event", "failed"),
    "succeeded": pgettext_lazy("job event", "succeeded"),
    "cancelled": pgettext_lazy("job event", "cancelled"),
    "abort_requested": pgettext_lazy("job event", "abort requested"),
    "aborted": pgettext_lazy("job event", "aborted"),
    "scheduled": pgettext_lazy("job event", "scheduled"),
}
