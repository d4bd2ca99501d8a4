"""The base app: its checks, the host cache's signals, and the job queue's name in the back
office."""

import importlib
from typing import cast

from django.apps import AppConfig, apps
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    for field, name in {
        "queue_name": _("queue"),
        "task_name": _("task"),
        "priority": _("priority"),
        "lock": _("lock"),
        "queueing_lock": _("queueing lock"),
        "status": _("status"),
        "scheduled_at": _("scheduled for"),
        "attempts": _("attempts"),
        "args": _("arguments"),
    }.items():
        cast(models.Field, job.get_field(field)).verbose_name = name
    jobs = queue_admin.ProcrastinateJobAdmin
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
