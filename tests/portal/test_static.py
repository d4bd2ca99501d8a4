"""Production serves static files itself (WhiteNoise), from collectstatic's output."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_static_files_are_collected_and_fingerprinted(tmp_path: Path) -> None:
    script = (
        "import django, sys; django.setup();"
        "from django.core.management import call_command;"
        "call_command('collectstatic', '--noinput', verbosity=0);"
        "from django.templatetags.static import static; print(static('portal/portal.css'))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
        "DJANGO_STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert (
        url.startswith("/static/portal/portal.")
        and url.endswith(".css")
        and url != "/static/portal/portal.css"
    )
    name = url.removeprefix("/static/")
    assert (tmp_path / name).exists() and (tmp_path / (name + ".gz")).exists()
