"""Who is asking: the client's IP address as the nearest trusted proxy saw it, and the
browsers that signed in to an account before (for sign-in limits that strangers cannot use
to lock an account out).

Behind the documented TLS proxy every request arrives from the proxy's address: rate limits
per IP would count every client as one. The proxy appends the address it saw to
``X-Forwarded-For``; that entry is believed when the request came through a proxy: from an
address of ``FORWARDED_ALLOW_IPS`` (gunicorn's own setting and default, the proxy on the same
machine) or from anyone with ``PORTAL_BEHIND_PROXY`` (nothing reaches the server but the
proxy). ``PORTAL_PROXY_COUNT`` proxies in a row (1) each append one entry; what the client
wrote itself stands further left and is never read.
"""

from __future__ import annotations

import ipaddress
import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

# A browser that signed in to an account carries this cookie (host-only, signed with the
# account's email address): failed sign-ins from it are counted apart from strangers'.
KNOWN_BROWSER_COOKIE = "portal_known_browser"
KNOWN_BROWSER_DAYS = 365
_SALT = "portal.clients.known_browser"


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: the one the nearest trusted proxy appended to
    ``X-Forwarded-For``, else the peer's."""
    peer = str(request.META.get("REMOTE_ADDR") or "")
    trusted = settings.PORTAL_FORWARDED_ALLOW_IPS
    if settings.PORTAL_BEHIND_PROXY or "*" in trusted or peer in trusted:
        hops = [
            hop.strip()
            for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if hop.strip()
        ]
        count = settings.PORTAL_PROXY_COUNT
        if count and len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:  # not an address: the proxy is not the one documented
                pass
    return peer


def _cookie_salt(request: HttpRequest) -> str:
    return f"{_SALT}:{request.get_host().lower()}"


def known_browser(request: HttpRequest, login: str) -> str | None:
    """An id of this browser if it signed in to the account ``login`` on this site before
    (its signed cookie), else None."""
    value = request.COOKIES.get(KNOWN_BROWSER_COOKIE, "")
    try:
        claim = signing.loads(value, salt=_cookie_salt(request), max_age=KNOWN_BROWSER_DAYS * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(claim, dict) or claim.get("login") != login.strip().lower():
        return None
    return str(claim.get("browser") or "") or None


def remember_browser(request: HttpRequest, response: HttpResponseBase, login: str) -> None:
    """After a sign-in: this browser is known to the account ``login`` on this site."""
    browser = known_browser(request, login) or secrets.token_urlsafe(12)
    value = signing.dumps(
        {"login": login.strip().lower(), "browser": browser}, salt=_cookie_salt(request)
    )
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        value,
        max_age=KNOWN_BROWSER_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
