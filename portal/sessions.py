"""Django's database sessions, read through the cache (``cached_db``), with the session key
checked for its shape before it is looked up: a cookie that Django could not have issued (a
NUL byte, which PostgreSQL text cannot hold, or any other character) is no session rather
than a failed query.

Every page of a signed-in user reads its session: from the shared cache, one GET and no
decoding, where the database costs a query and the signature's check (about a tenth of a
dashboard's CPU, measured with ``bench/http.py``). Each schema keeps its own sessions, and
so does the cache: the ``default`` alias's keys carry the connection's schema
(``django_tenants.cache.make_key``), which the organisation's host chose before any session
is read, so a cookie from one site finds nothing on another. Sessions end only through
their store (signing out, a new key at sign-in, their expiry, which the cache's entries
share); a deactivated user's through the ``session_epoch`` in the session's hash, which
every request checks against the user's row, not the cache."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import cached_db

# What django.contrib.sessions issues: 32 of a-z and 0-9.
SESSION_KEY = re.compile(r"[a-z0-9]{32}")


# The sign-in backends' names before accounts/backends.py (December 2026): a session made
# then still names one, and stays signed in. Sessions last two weeks (SESSION_COOKIE_AGE).
RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": (
        "accounts.backends.AuthenticationBackend"
    ),
}


class SessionStore(cached_db.SessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return key is not None and SESSION_KEY.fullmatch(key) is not None

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        renamed = RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY, ""))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data
