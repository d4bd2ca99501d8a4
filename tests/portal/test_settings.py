"""Settings come from the environment (read with django-environ); production variables pass
Django's deploy checks, and debugging is off unless DJANGO_DEBUG=1.

Each case runs `manage.py` in a new process with the variables given, so what is checked is
what the settings module makes of them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from portal.env import development_port
from tests.conftest import database_urls, owner_role

# The processes these tests start read this run's database (the deploy checks query it):
# it must exist, migrated.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Variables the settings read: a process gets none of this test run's, only the test's own.
SETTINGS_VARIABLES = ("DJANGO_", "DATABASE_", "EMAIL_URL", "REDIS_URL", "PORTAL_", "SUBSCRIPTIONS_")
EMAIL_SETTINGS = (
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_SSL",
    "EMAIL_USE_TLS",
)
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    base.update(database_urls())
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _settings(*names: str, **env: str) -> dict[str, Any]:
    """The settings ``names`` as a process started with the variables ``env`` has them."""
    show = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = _manage("shell", "-c", show, **env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_database_url_is_parsed() -> None:
    database = _settings(
        "DATABASES",
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://app:s%40cret@db.internal:6543/portal?sslmode=require",
    )["DATABASES"]["default"]
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    assert {key: database[key] for key in keys} == {
        "NAME": "portal",
        "USER": "app",
        "PASSWORD": "s@cret",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }
    # The URL never picks the engine: the tenants' backend stays.
    assert database["ENGINE"] == settings.DATABASES["default"]["ENGINE"]

    socket = _settings(
        "DATABASES", DJANGO_DEBUG="1", DATABASE_URL="postgresql://u@/portal?host=/run/pg&port=6000"
    )["DATABASES"]["default"]
    assert (socket["NAME"], socket["HOST"], socket["PORT"], socket["OPTIONS"]) == (
        "portal",
        "/run/pg",
        "6000",
        {},
    )

    encoded = _settings(
        "DATABASES", DJANGO_DEBUG="1", DATABASE_URL="postgres://u@%2Frun%2Fpostgresql/my+db"
    )["DATABASES"]["default"]
    assert (encoded["HOST"], encoded["NAME"]) == ("/run/postgresql", "my+db")

    for url in ("mysql://u@h/db", "pgsql://u@h/db"):
        refused = _manage("check", DJANGO_DEBUG="1", DATABASE_URL=url)
        assert refused.returncode != 0, url
        assert "DATABASE_URL must start with postgres:// or postgresql://" in refused.stderr


def test_email_url_is_parsed() -> None:
    smtp = _settings(
        *EMAIL_SETTINGS,
        DJANGO_DEBUG="1",
        EMAIL_URL="smtp://mailer:pw@smtp.example.com:587?tls=1",
    )
    assert smtp == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "pw",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": True,
    }
    console = _settings("EMAIL_BACKEND", DJANGO_DEBUG="1", EMAIL_URL="console://")
    assert console["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert _settings("EMAIL_BACKEND", DJANGO_DEBUG="1") == console  # the default

    refused = _manage("check", DJANGO_DEBUG="1", EMAIL_URL="carrier-pigeon://")
    assert refused.returncode != 0
    assert "EMAIL_URL must start with console://, smtp:// or smtps://" in refused.stderr


def test_smtps_is_smtp_over_tls_and_locmem_is_the_in_memory_backend() -> None:
    """The URL forms the portal documented before django-environ keep their meaning
    (django-environ itself reads smtps:// as STARTTLS and has no locmem://)."""
    smtps = _settings(
        *EMAIL_SETTINGS, DJANGO_DEBUG="1", EMAIL_URL="smtps://mailer:p%40ss@smtp.example.com"
    )
    assert smtps == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 465,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_SSL": True,
        "EMAIL_USE_TLS": False,
    }
    plain = _settings(*EMAIL_SETTINGS, DJANGO_DEBUG="1", EMAIL_URL="smtp://mx.internal?tls=false")
    assert plain == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mx.internal",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": False,
    }
    assert _settings("EMAIL_BACKEND", DJANGO_DEBUG="1", EMAIL_URL="locmem://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"
    }


def test_cache_url_lists_numbers_and_booleans_are_read() -> None:
    read = _settings(
        "CACHES",
        "ALLOWED_HOSTS",
        "PORTAL_STAFF_MFA",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "DATABASES",
        DJANGO_DEBUG="1",
        REDIS_URL="redis://:pw@redis.internal:6379/1",
        DJANGO_ALLOWED_HOSTS="portal.example.org, www.portal.example.org",
        PORTAL_STAFF_MFA="yes",
        DJANGO_SECURE_SSL_REDIRECT="on",
        DJANGO_HSTS_SECONDS="60",
        DATABASE_CONN_MAX_AGE="30",
    )
    assert read["CACHES"] == {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": "redis://:pw@redis.internal:6379/1",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
        },
        # Host names and entitlement keys carry the organisation themselves, not the
        # connection's schema.
        "hosts": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": "redis://:pw@redis.internal:6379/1",
            "KEY_PREFIX": "hosts",
        },
        "entitlements": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": "redis://:pw@redis.internal:6379/1",
            "KEY_PREFIX": "entitlements",
        },
    }
    assert read["ALLOWED_HOSTS"] == [
        "localhost",
        ".localhost",
        "portal.example.org",
        "www.portal.example.org",
    ]
    assert (read["PORTAL_STAFF_MFA"], read["SECURE_SSL_REDIRECT"]) == (True, True)
    assert read["SECURE_HSTS_SECONDS"] == 60
    assert read["DATABASES"]["default"]["CONN_MAX_AGE"] == 30


def test_an_empty_variable_counts_as_unset() -> None:
    """As a compose file leaves them: every setting keeps its default."""
    names = ("PORTAL_BASE_DOMAIN", "DEFAULT_FROM_EMAIL", "PAYMENTS_CONTACT_EMAIL")
    empty = {name: "" for name in (*names, "SUBSCRIPTIONS_PAYMENT_GATEWAY", "PORTAL_STAFF_MFA")}
    shown = _settings(
        *names, "SUBSCRIPTIONS_PAYMENT_GATEWAY", "ALLOWED_HOSTS", DJANGO_DEBUG="1", **empty
    )
    assert shown == _settings(
        *names, "SUBSCRIPTIONS_PAYMENT_GATEWAY", "ALLOWED_HOSTS", DJANGO_DEBUG="1"
    )
    assert shown["PORTAL_BASE_DOMAIN"] == "localhost"
    assert shown["ALLOWED_HOSTS"][:2] == ["localhost", ".localhost"]


def test_a_boolean_that_is_not_one_of_the_documented_spellings_is_refused() -> None:
    """A typo must not switch a safeguard off silently."""
    refused = _manage("check", DJANGO_DEBUG="1", PORTAL_STAFF_MFA="ture")
    assert refused.returncode != 0
    assert "PORTAL_STAFF_MFA must be 1/0, true/false, yes/no or on/off" in refused.stderr
    for spelling, expected in (("Yes", True), ("off", False), ("0", False), ("TRUE", True)):
        shown = _settings("PORTAL_STAFF_MFA", DJANGO_DEBUG="1", PORTAL_STAFF_MFA=spelling)
        assert shown["PORTAL_STAFF_MFA"] is expected, spelling


def test_debug_is_off_unless_asked_for() -> None:
    production = _settings(
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "LANGUAGE_COOKIE_SECURE",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert production == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SECURE": True,  # the language switch's cookie too
    }
    # Without DJANGO_DEBUG nor a secret key the settings refuse to load.
    refused = _manage("check")
    assert refused.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in refused.stderr
    assert _settings("DEBUG", DJANGO_DEBUG="1") == {"DEBUG": True}


class ProcessorGateway:
    """Stands for a gateway that takes money, as production configures one (the check
    only looks at which class is configured; nothing is charged here)."""

    def charge(self, **_: Any) -> Any:
        raise NotImplementedError


def _production(**env: str) -> dict[str, str]:
    """Production variables: a real gateway, no debugging, a secret key, a domain, a shared
    cache and a mail server."""
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_BASE_DOMAIN": "helpdesk.example.com",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "EMAIL_URL": "smtp://mailer:pw@smtp.example.com:587?tls=1",
        "SUBSCRIPTIONS_PAYMENT_GATEWAY": f"{__name__}.ProcessorGateway",
        "PORTAL_INVOICE_REGISTRATION_NUMBER": "T7123456789012",
        **env,
    }


def test_production_settings_pass_the_deploy_checks() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_refuses_an_app_that_connects_as_the_owner() -> None:
    owner = database_urls()["DATABASE_OWNER_URL"]
    refused = _manage("check", "--deploy", **_production(DATABASE_URL=owner))
    assert refused.returncode != 0
    assert "(portal.E004)" in refused.stderr
    assert "(portal.E004)" not in _manage("check", "--deploy", **_production()).stderr


@pytest.mark.django_db(transaction=True)
def test_the_deploy_check_refuses_an_app_role_that_may_create_temporary_tables() -> None:
    """A database whose owner never took TEMPORARY back from PUBLIC (portal/migrations/0005
    could not, run by another role): production's check says what to do."""
    assert "(portal.E005)" not in _manage("check", "--deploy", **_production()).stderr
    grant = f'ON DATABASE "{connection.settings_dict["NAME"]}" TO PUBLIC'
    with owner_role(), connection.cursor() as cursor:
        cursor.execute(f"GRANT TEMPORARY {grant}")
    try:
        refused = _manage("check", "--deploy", **_production())
    finally:
        with owner_role(), connection.cursor() as cursor:
            cursor.execute(f"REVOKE TEMPORARY {grant.replace(' TO ', ' FROM ')}")
    assert refused.returncode != 0
    assert "(portal.E005)" in refused.stderr
    assert "REVOKE TEMPORARY" in refused.stderr


def test_two_roles_from_two_urls() -> None:
    shown = _settings(
        "DATABASES",
        "PORTAL_DATABASE_OWNER",
        "PORTAL_DATABASE_APP_ROLE",
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://app:a@db.internal/portal",
        DATABASE_OWNER_URL="postgres://boss:b@db.internal/portal",
    )
    assert (shown["DATABASES"]["default"]["USER"], shown["PORTAL_DATABASE_APP_ROLE"]) == (
        "app",
        "app",
    )
    owner = shown["PORTAL_DATABASE_OWNER"]
    assert (owner["USER"], owner["PASSWORD"], owner["NAME"]) == ("boss", "b", "portal")


def test_the_deploy_check_refuses_truncate_allowed_in_production() -> None:
    refused = _manage("check", "--deploy", **_production(PORTAL_ALLOW_TRUNCATE="1"))
    assert refused.returncode != 0
    assert "(subscriptions.E002)" in refused.stderr
    shown = _settings("DATABASES", DJANGO_DEBUG="1", PORTAL_ALLOW_TRUNCATE="1")["DATABASES"]
    assert "-c portal.allow_truncate=on" in shown["default"]["OPTIONS"]["options"]
    assert "options" not in _settings("DATABASES", DJANGO_DEBUG="1")["DATABASES"]["default"].get(
        "OPTIONS", {}
    )


def test_the_deploy_check_warns_without_an_invoice_registration_number() -> None:
    warned = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **_production(PORTAL_INVOICE_REGISTRATION_NUMBER=""),
    )
    assert warned.returncode != 0
    assert "(subscriptions.W002)" in warned.stderr
    malformed = _manage("check", **_production(PORTAL_INVOICE_REGISTRATION_NUMBER="1234"))
    assert malformed.returncode != 0
    assert "“1234” is not T followed by 13 digits" in malformed.stderr
    # The right shape with a wrong check digit is no registration number either.
    wrong = _manage("check", **_production(PORTAL_INVOICE_REGISTRATION_NUMBER="T1234567890123"))
    assert wrong.returncode != 0
    assert "has a wrong check digit" in wrong.stderr


def test_the_deploy_check_warns_about_the_record_only_gateway_with_debug_off() -> None:
    for gateway in ("", "subscriptions.payments.RecordOnlyGateway"):  # the default, named
        warned = _manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            **_production(SUBSCRIPTIONS_PAYMENT_GATEWAY=gateway),
        )
        assert warned.returncode != 0, gateway or "(the default)"
        assert "(subscriptions.W001)" in warned.stderr
        assert "no money is taken" in warned.stderr
    # While debugging, the record-only gateway is what is wanted: no warning (the deploy
    # checks did run: Django's own warns about DEBUG).
    debugging = _manage(
        "check", "--deploy", **_production(DJANGO_DEBUG="1", SUBSCRIPTIONS_PAYMENT_GATEWAY="")
    )
    output = debugging.stdout + debugging.stderr
    assert debugging.returncode == 0, output
    assert "(security.W018)" in output
    assert "subscriptions.W001" not in output


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
    # An empty variable (`PORTAL_STAFF_MFA=` in a compose file) is unset, not "off".
    emptied = _manage(
        "shell",
        "-c",
        show,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PORTAL_STAFF_MFA="",
    )
    assert emptied.stdout.strip().endswith("True"), emptied.stderr


def test_x_forwarded_proto_is_trusted_only_behind_a_proxy_that_says_so() -> None:
    assert _settings("SECURE_PROXY_SSL_HEADER", DJANGO_DEBUG="1") == {
        "SECURE_PROXY_SSL_HEADER": None
    }
    behind = _settings("SECURE_PROXY_SSL_HEADER", DJANGO_DEBUG="1", PORTAL_BEHIND_PROXY="1")
    assert behind == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_a_client_cannot_claim_https_with_the_header() -> None:
    response = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https").get("/")
    assert response.status_code == 200
    assert not response.wsgi_request.is_secure()


def test_links_follow_the_port_make_run_serves_on(tmp_path: Path) -> None:
    """`make run PORT=8101` writes .data/port: commands run beside it link to 8101."""
    assert development_port(tmp_path) == "8000"  # never run
    (tmp_path / "port").write_text("8101\n")
    assert development_port(tmp_path) == "8101"
