"""allauth's hooks: organisation sites have no open sign-up (admins add users); a sign-in
lands on the site it happened on (the dashboard, or the admin for vendor staff on the public
site) and follows a ``next`` only on that same host; allauth's emails (password reset) leave
through the job queue like every other email."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.queue import defer_with_transaction
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
