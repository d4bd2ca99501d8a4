"""The accounts app's configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users")

    def ready(self) -> None:
        # allauth's tables exist only in organisation schemas, and the admin lives on the
        # public site: its registrations there would only say "not available".
        from allauth.account.models import EmailAddress  # noqa: PLC0415
        from allauth.mfa.models import Authenticator  # noqa: PLC0415
        from django.contrib import admin  # noqa: PLC0415

        for tenant_only in (EmailAddress, Authenticator):
            if admin.site.is_registered(tenant_only):
                admin.site.unregister(tenant_only)
