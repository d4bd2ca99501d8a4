"""The base app: its checks and the host cache's signals."""

import importlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        # Connects the host cache to the saves that make it stale (portal.hosts).
        importlib.import_module("portal.hosts")
        # Registers the portal's system checks (portal.checks).
        importlib.import_module("portal.checks")
