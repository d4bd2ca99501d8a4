"""allauth's hooks: organisation sites have no open sign-up (admins add users); a sign-in
lands on the site it happened on (the dashboard, or the admin for vendor staff on the public
site) and follows a ``next`` only on that same host; allauth's emails (password reset) leave
through the job queue like every other email, their links on the portal's configured
address (never the request's ``Host`` port).

Rate limits count the real client (``portal.clients.client_ip``, behind the TLS proxy too).
Failed sign-ins are limited per account *and client* (a browser that signed in to the account
before, else an IP address): a stranger's wrong passwords lock out only the stranger. Beyond
that, every client not known to the account shares one budget per account
(``login_failed_strangers``), against guessing from many addresses; a known browser still
gets in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core import ratelimit
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.clients import client_ip, known_browser, remember_browser
from portal.queue import defer_with_transaction
from portal.selectors import organisation_url, public_url
from portal.tasks import send_email


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        if getattr(request, "organisation", None) is None:  # the public site
            return reverse("admin:index" if request.user.is_staff else "landing")
        return reverse("dashboard")

    def is_safe_url(self, url: str | None) -> bool:
        """Relative, or absolute on this very host (allauth's own check accepts every host
        of ALLOWED_HOSTS, which covers every organisation's subdomain)."""
        request = allauth_context.request
        return url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _on_the_portals_address(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return _on_the_portals_address(
            super().get_email_confirmation_url(request, emailconfirmation)
        )

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth's key for failed sign-ins (and for clearing them after a password
        reset): the account on this site, and who is trying."""
        login = str(credentials.get("email", "")).strip().lower()
        browser = known_browser(request, login)
        who = f"browser:{browser}" if browser else f"ip:{client_ip(request)}"
        return f"{request.get_host().lower()}:{login}:{who}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        login = str(credentials.get("email", "")).strip().lower()
        if known_browser(request, login) is None and not ratelimit.consume(
            request,
            action="login_failed_strangers",
            key=f"{request.get_host().lower()}:{login}",
        ):
            raise self.validation_error("too_many_login_attempts")

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        remember_browser(request, response, str(getattr(user, "email", "")))
        return response

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render as allauth does (in the request's language), then queue it: a worker
        sends it and retries while SMTP is down."""
        request = allauth_context.request
        site = get_current_site(request)
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": site, **context},
        )
        defer_with_transaction(
            send_email, subject=message.subject, body=str(message.body), to=list(message.to)
        )


def _on_the_portals_address(url: str) -> str:
    """``url``'s path on this site as the portal names it (scheme, host and port from the
    settings), not as the request's ``Host`` header said."""
    path = urlsplit(url).path
    organisation = getattr(allauth_context.request, "organisation", None)
    return organisation_url(organisation, path) if organisation else public_url(path)
