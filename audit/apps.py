"""The audit app's configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The append-only audit log: what every app records of the changes it makes."""

    name = "audit"
    verbose_name = _("Audit log")
