"""Logging filters (see LOGGING in portal/settings.py)."""

from __future__ import annotations

import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A refused request (a 4xx: a 403 page, a form sent back, a CSRF failure) is expected:
    Django logs it with the exception that made it, which would print a traceback for
    every refusal. It stays one line; a server error (5xx) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
