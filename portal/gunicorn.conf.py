"""gunicorn's configuration for the production server: ``make serve``, or
``gunicorn --config portal/gunicorn.conf.py --bind HOST:PORT`` with DJANGO_DEBUG=0 and the
production variables in the environment (README.md, "Production").

Before any worker starts, the master runs the preflight (``python -m portal.production``)
in a process of its own: it refuses to start, with one message naming what is missing,
without a secret key, a shared cache, a mail server or a payment gateway; runs the deploy
checks; collects the static files. The master itself never loads Django, so no database
connection it opened is shared by the forked workers (without DATABASE_URL it holds the
embedded server, whose address the workers inherit). Each worker loads the portal and
keeps one database connection open across requests (DATABASE_CONN_MAX_AGE).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

wsgi_app = "portal.wsgi:application"
chdir = str(BASE_DIR)
# Sync workers: one request at a time each, so one database connection each.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
accesslog = "-"  # stdout; errors go to stderr
# The control socket (gunicornc) is not used; its default path is shared by every gunicorn
# of the user, so a second server (a test's) would take it over.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Stop before serving anything unless the preflight passes (its output says why).
    Without DATABASE_URL, the master starts the embedded server first and holds it; the
    preflight and the workers inherit its address."""
    from portal import embedded_postgres  # noqa: PLC0415 - imports no Django

    embedded_postgres.start_for_environment(BASE_DIR / ".data")
    preflight = subprocess.run(
        [sys.executable, "-m", "portal.production"], cwd=BASE_DIR, check=False
    )
    if preflight.returncode:
        raise SystemExit(preflight.returncode)
