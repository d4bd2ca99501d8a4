"""The subscriptions app's configuration: its checks, and its catch-up when a worker starts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        # Importing the module registers its system checks (models are loaded by now).
        from portal.signals import worker_starting  # noqa: PLC0415
        from subscriptions import checks, tasks  # noqa: F401, PLC0415

        # A worker starting catches up on the billing runs missed while none ran.
        worker_starting.connect(tasks.catch_up_billing, dispatch_uid="subscriptions.catch_up")
