"""The base app: its checks, the host cache's signals, and the job queue's name in the back
office."""

import importlib

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        # Connects the host cache to the saves that make it stale (portal.hosts).
        importlib.import_module("portal.hosts")
        # Registers the portal's system checks (portal.checks).
        importlib.import_module("portal.checks")
        # The job queue (procrastinate) in the back office's language, as our apps are.
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
