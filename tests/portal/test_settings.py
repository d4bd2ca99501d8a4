"""Settings come from the environment; production variables pass Django's deploy checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.settings import database_from_url, email_from_url

ROOT = Path(__file__).resolve().parents[2]


def test_database_url_is_parsed() -> None:
    parsed = database_from_url("postgres://app:s%40cret@db.internal:6543/portal?sslmode=require")
    assert parsed == {
        "NAME": "portal",
        "USER": "app",
        "PASSWORD": "s@cret",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }
    assert database_from_url("postgresql://u@/portal?host=/run/pg")["HOST"] == "/run/pg"
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://u@h/db")


def test_email_url_is_parsed() -> None:
    smtp = email_from_url("smtp://mailer:pw@smtp.example.com:587?tls=1")
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert str(email_from_url("console://")["EMAIL_BACKEND"]).endswith("console.EmailBackend")
    with pytest.raises(ImproperlyConfigured):
        email_from_url("carrier-pigeon://")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    database = settings.DATABASES["default"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    base["DATABASE_URL"] = (
        f"postgres://{database['USER']}@/{database['NAME']}?host={database['HOST']}&port={database['PORT']}"
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_the_deploy_checks() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PORTAL_BASE_DOMAIN="helpdesk.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_production_requires_a_second_factor_for_staff_and_the_demo_does_not() -> None:
    show = "from django.conf import settings; print(settings.PORTAL_STAFF_MFA)"
    production = _manage(
        "shell", "-c", show, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50)
    )
    assert production.stdout.strip().endswith("True"), production.stderr
    assert _manage("shell", "-c", show, DJANGO_DEBUG="1").stdout.strip().endswith("False")
