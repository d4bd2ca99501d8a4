"""Django's database sessions, with the session key checked for its shape before it is
looked up: a cookie that Django could not have issued (a NUL byte, which PostgreSQL text
cannot hold, or any other character) is no session rather than a failed query."""

from __future__ import annotations

import re

from django.contrib.sessions.backends import db

# What django.contrib.sessions issues: 32 of a-z and 0-9.
SESSION_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return key is not None and SESSION_KEY.fullmatch(key) is not None
