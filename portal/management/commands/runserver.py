"""manage.py runserver: Django's development server (with the static files), each request's
database connection closed when the request ends.

The development server serves every request in a new thread, and a thread's connection
outlives the thread for ``DATABASE_CONN_MAX_AGE`` seconds: thirty requests at once left
thirty connections open, and a crawl filled the embedded server's hundred. Persistent
connections pay off only in servers that keep their threads (gunicorn's workers)."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.management.commands.runserver import (
    Command as StaticFilesRunserver,
)
from django.db import connections


class Command(StaticFilesRunserver):
    def inner_run(self, *args: Any, **options: Any) -> None:
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = 0
        super().inner_run(*args, **options)
