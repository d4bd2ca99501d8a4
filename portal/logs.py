"""The portal's logging: ``logging_config`` is LOGGING (portal/settings.py), and its filter."""

from __future__ import annotations

import logging
from typing import Any


def logging_config(level: str) -> dict[str, Any]:
    """One console handler, the root's: a refused request is one line without a traceback
    (``RefusalsWithoutTraceback``); Django's own console handler is dropped, or every line
    would show twice when debugging. ``level`` (LOG_LEVEL) sets everything; unset (""), the
    root logs warnings and the tasks' loggers say what they did. Not procrastinate's INFO
    lines: they print each job's arguments, and an email's body may hold a set-password
    link."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"refusals": {"()": "portal.logs.RefusalsWithoutTraceback"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals"]}},
        "root": {"handlers": ["console"], "level": level or "WARNING"},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            **{
                name: {"level": level or "INFO"}
                for name in ("portal.tasks", "subscriptions.tasks", "organisations.tasks")
            },
        },
    }


class RefusalsWithoutTraceback(logging.Filter):
    """A refused request (a 4xx: a 403 page, a form sent back, a CSRF failure) is expected:
    Django logs it with the exception that made it, which would print a traceback for
    every refusal. It stays one line; a server error (5xx) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
