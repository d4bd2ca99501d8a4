"""The organisations app's configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationsConfig(AppConfig):
    """The top floor: creating an organisation (its schema, subscription and primary
    contact), self-service sign-up, the demo, and the organisations' admin pages."""

    name = "organisations"
    verbose_name = _("Organisations")
