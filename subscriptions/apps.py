from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        # Importing the module registers its system checks (models are loaded by now).
        from subscriptions import checks  # noqa: F401, PLC0415
