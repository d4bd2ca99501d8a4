"""The production server: it refuses to start without what production needs (one message
naming each need unmet), keeps its database connections across requests, and every request
is served on its own schema whatever the connection served before.

The preflight and gunicorn run in their own processes with the variables given (none of
this test run's), as `make serve` starts them."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client

from tests.conftest import PASSWORD, Site, database_urls, signed_in

ROOT = Path(__file__).resolve().parents[2]
# Variables the settings read: a process gets none of this test run's, only the test's own.
SETTINGS_VARIABLES = (
    "DJANGO_",
    "DATABASE_",
    "EMAIL_URL",
    "REDIS_URL",
    "PORTAL_",
    "SUBSCRIPTIONS_",
    "WEB_CONCURRENCY",
)
NEEDS = ("DJANGO_SECRET_KEY", "REDIS_URL", "EMAIL_URL", "SUBSCRIPTIONS_PAYMENT_GATEWAY")

# The processes these tests start read this run's database (the deploy checks query it):
# it must exist, migrated.
pytestmark = pytest.mark.django_db


class ProcessorGateway:
    """Stands for a gateway that takes money (only which class is configured matters)."""

    def charge(self, **_: Any) -> Any:
        raise NotImplementedError


def _environment(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    return {**database_urls(), **base, **env}


def _production(static_root: Path, **env: str) -> dict[str, str]:
    """Everything production needs, and where the static files go."""
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "REDIS_URL": "redis://redis.internal:6379/0",
        "EMAIL_URL": "smtp://mailer:pw@smtp.example.com:587?tls=1",
        "SUBSCRIPTIONS_PAYMENT_GATEWAY": f"{__name__}.ProcessorGateway",
        "PORTAL_INVOICE_REGISTRATION_NUMBER": "T7123456789012",
        "DJANGO_STATIC_ROOT": str(static_root),
        **env,
    }


def _run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=ROOT,
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _preflight(**env: str) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "portal.production", **env)


def _named(stderr: str) -> set[str]:
    """The variables the refusal lists, one a line."""
    return set(re.findall(r"^  - ([A-Z_]+): ", stderr, flags=re.MULTILINE))


# --- The refusal -------------------------------------------------------------------------


def test_without_anything_the_server_refuses_naming_each_need() -> None:
    refused = _preflight(DJANGO_DEBUG="0")
    assert refused.returncode != 0
    assert "The production server will not start" in refused.stderr
    assert _named(refused.stderr) == set(NEEDS)
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_SECRET_KEY", ""),
        ("REDIS_URL", ""),
        ("EMAIL_URL", ""),
        ("EMAIL_URL", "console://"),
        ("EMAIL_URL", "locmem://"),
        ("SUBSCRIPTIONS_PAYMENT_GATEWAY", ""),
        ("SUBSCRIPTIONS_PAYMENT_GATEWAY", "subscriptions.payments.RecordOnlyGateway"),
        ("SUBSCRIPTIONS_PAYMENT_GATEWAY", "payments.NoSuchGateway"),
    ],
)
def test_each_need_unmet_alone_is_named_alone(tmp_path: Path, variable: str, value: str) -> None:
    refused = _preflight(**_production(tmp_path, **{variable: value}))
    assert refused.returncode != 0, refused.stderr
    assert _named(refused.stderr) == {variable}
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "staticfiles.json").exists()  # stopped before collecting


def test_with_everything_set_the_preflight_passes_and_collects_the_static_files(
    tmp_path: Path,
) -> None:
    started = _preflight(**_production(tmp_path))
    assert started.returncode == 0, started.stderr
    assert "System check identified no issues" in started.stdout
    assert (tmp_path / "staticfiles.json").exists()  # WhiteNoise's manifest


def test_a_demo_says_it_takes_no_money(tmp_path: Path) -> None:
    demo = _production(
        tmp_path,
        SUBSCRIPTIONS_PAYMENT_GATEWAY="subscriptions.payments.RecordOnlyGateway",
        SUBSCRIPTIONS_DEMO="1",
    )
    started = _preflight(**demo)
    assert started.returncode == 0, started.stderr
    assert "(subscriptions.W001)" in started.stderr  # still said, as a warning


def test_stripe_starts_with_its_secret_key_and_is_refused_without(tmp_path: Path) -> None:
    stripe = "subscriptions.stripe_gateway.StripeGateway"
    refused = _preflight(**_production(tmp_path, SUBSCRIPTIONS_PAYMENT_GATEWAY=stripe))
    assert refused.returncode != 0, refused.stderr
    assert _named(refused.stderr) == {"STRIPE_SECRET_KEY"}
    with_key = _production(
        tmp_path, SUBSCRIPTIONS_PAYMENT_GATEWAY=stripe, STRIPE_SECRET_KEY="sk_live_example"
    )
    started = _preflight(**with_key)
    assert started.returncode == 0, started.stderr
    assert "subscriptions.W001" not in started.stderr  # it takes money


def test_the_deploy_checks_still_stop_the_server(tmp_path: Path) -> None:
    refused = _preflight(**_production(tmp_path, PORTAL_ALLOW_TRUNCATE="1"))
    assert refused.returncode != 0
    assert "(subscriptions.E002)" in refused.stderr
    assert not (tmp_path / "staticfiles.json").exists()


def test_check_deploy_reports_the_needs_and_other_commands_run_without_them() -> None:
    """`manage.py check --deploy` names the same needs; commands such as migrate_schemas
    (which run the plain checks) and development are not held up by them."""
    key = secrets.token_urlsafe(50)
    deploy = _run(
        sys.executable, "manage.py", "check", "--deploy", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key
    )
    assert deploy.returncode != 0
    for check_id, variable in (
        ("portal.E001", "REDIS_URL"),
        ("portal.E002", "EMAIL_URL"),
        ("portal.E003", "SUBSCRIPTIONS_PAYMENT_GATEWAY"),
    ):
        assert f"({check_id}) Set {variable}: " in deploy.stderr
    plain = _run(sys.executable, "manage.py", "check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key)
    assert plain.returncode == 0, plain.stderr
    debugging = _run(sys.executable, "manage.py", "check", "--deploy", DJANGO_DEBUG="1")
    assert debugging.returncode == 0, debugging.stderr
    assert "portal.E00" not in debugging.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _gunicorn(port: int, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "portal/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_gunicorn_refuses_before_any_worker_starts() -> None:
    server = _gunicorn(_free_port(), DJANGO_DEBUG="0", REDIS_URL="redis://127.0.0.1:1/0")
    try:
        _out, err = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode != 0
    assert _named(err) == set(NEEDS) - {"REDIS_URL"}
    assert "Booting worker" not in err
    assert "Traceback" not in err


# --- Persistent connections --------------------------------------------------------------


def test_connections_persist_and_are_checked_by_default() -> None:
    show = (
        "from django.db import connection as c; "
        "print(c.settings_dict['CONN_MAX_AGE'], c.settings_dict['CONN_HEALTH_CHECKS'])"
    )
    default = _run(sys.executable, "manage.py", "shell", "-c", show, DJANGO_DEBUG="1")
    assert default.stdout.split()[-2:] == ["60", "True"], default.stderr
    per_request = _run(
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        show,
        DJANGO_DEBUG="1",
        DATABASE_CONN_MAX_AGE="0",
    )
    assert per_request.stdout.split()[-2:] == ["0", "True"], per_request.stderr


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _session_path() -> str:
    """The search path the database session uses for the next query."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_one_persistent_connection_serves_each_request_on_its_own_schema(
    northwind: Site, contoso: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # the default
    clients = {
        "northwind": signed_in(northwind, "primary"),
        "contoso": signed_in(contoso, "primary"),
    }
    backend = _backend_pid()
    for site, other in ((northwind, contoso), (contoso, northwind), (northwind, contoso)):
        page = clients[site.organisation.slug].get("/users/")
        assert page.status_code == 200
        text = page.content.decode()
        assert site.email("agent") in text and other.email("agent") not in text
        assert _session_path() == f"{site.organisation.schema_name}, public"
        assert _backend_pid() == backend
    # The public site after an organisation's request: on public, where a user of that
    # organisation does not exist (the user tables share their name).
    public = Client(HTTP_HOST=settings.PORTAL_BASE_DOMAIN)
    response = public.post(
        "/accounts/login/", {"login": northwind.email("primary"), "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in public.session
    assert _session_path() == "public"
    assert _backend_pid() == backend
    # ...and the same credentials on the organisation's own site do sign in.
    own = Client(HTTP_HOST=northwind.host)
    signed = own.post(
        "/accounts/login/", {"login": northwind.email("primary"), "password": PASSWORD}
    )
    assert signed.status_code == 302
    assert _backend_pid() == backend


# --- The server itself -------------------------------------------------------------------


@dataclass
class Served:
    port: int
    application_name: str

    def send(
        self, host: str, path: str, *, body: str = "", **headers: str
    ) -> tuple[int, str, dict[str, str]]:
        """Status, body and cookies set, for a GET (a POST with ``body``) as the TLS proxy
        in front passes it on (X-Forwarded-Proto: https). Returns once the server has closed
        the connection: its worker has then finished the request, the database connection's
        fate at the request's end included."""
        method = "POST" if body else "GET"
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{self.port}",
            "X-Forwarded-Proto: https",
            "Connection: close",
            f"Content-Length: {len(body.encode())}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        raw = b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as client:
            client.sendall(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
            while chunk := client.recv(65536):
                raw += chunk
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        cookies = dict(
            line.split(":", 1)[1].strip().split(";", 1)[0].split("=", 1)
            for line in header_lines
            if line.lower().startswith("set-cookie:")
        )
        return int(status_line.split()[1]), content.decode(errors="replace"), cookies

    def sign_in(self, host: str, email: str) -> int:
        """The status of allauth's sign-in POST on ``host`` (302: signed in)."""
        _status, page, cookies = self.send(host, "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        origin = f"https://{host}:{self.port}"
        status, _page, _cookies = self.send(
            host,
            "/accounts/login/",
            body=f"csrfmiddlewaretoken={token.group(1)}&login={email}&password={PASSWORD}",
            **{
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies['csrftoken']}",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
            },
        )
        return status


def _wait_for_port(port: int, server: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"nothing listens on port {port} after {seconds} s")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A Redis of the test's own (nothing kept on disk), if the machine has redis-server."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: the production server needs a shared cache")
    port = _free_port()
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_port(port, redis, 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        redis.terminate()
        redis.wait(timeout=10)


@pytest.fixture
def served(sites: dict[str, Site], db: None, redis_url: str, tmp_path: Path) -> Iterator[Served]:
    """gunicorn with one worker on the test database (the session's organisations are
    committed there), as `make serve` starts it."""
    port = _free_port()
    application_name = f"production-test-{secrets.token_hex(4)}"
    server = _gunicorn(
        port,
        **_production(
            tmp_path / "static",
            **database_urls(application_name=application_name),
            REDIS_URL=redis_url,
            PORTAL_BASE_DOMAIN=settings.PORTAL_BASE_DOMAIN,
            WEB_CONCURRENCY="1",
        ),
    )
    try:
        _wait_for_port(port, server, 90)
        yield Served(port, application_name)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()


@pytest.fixture
def server_password(sites: dict[str, Site]) -> Iterator[Site]:
    """Northwind's primary contact with a password the server can check: the test run hashes
    with MD5 (``_fast_password_hashing``), which production's settings do not accept. Set
    and put back on a connection of its own, committed, for the server to see."""
    northwind = sites["northwind"]
    table = f"{northwind.organisation.schema_name}.accounts_user"
    pk = northwind.user_ids["primary"]
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cursor:
            cursor.execute(f"SELECT password FROM {table} WHERE id = %s", [pk])
            (test_hash,) = cursor.fetchone()
            server_hash = PBKDF2PasswordHasher().encode(PASSWORD, "production-test")
            cursor.execute(f"UPDATE {table} SET password = %s WHERE id = %s", [server_hash, pk])
        yield northwind
    finally:
        with own.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET password = %s WHERE id = %s", [test_hash, pk])
        own.close()


def _server_backends(application_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_server_keeps_one_connection_and_serves_each_host_on_its_own_schema(
    served: Served, sites: dict[str, Site], server_password: Site
) -> None:
    northwind, contoso = server_password, sites["contoso"]
    status, page, _cookies = served.send(northwind.host, "/accounts/login/")
    assert status == 200 and northwind.organisation.name in page
    backends = _server_backends(served.application_name)
    assert len(backends) == 1  # the worker's one connection, kept after the request
    status, page, _cookies = served.send(contoso.host, "/accounts/login/")
    assert status == 200 and contoso.organisation.name in page
    assert northwind.organisation.name not in page
    # A user of northwind signs in on its site, not on the public one right after.
    assert served.sign_in(northwind.host, northwind.email("primary")) == 302
    assert served.sign_in(settings.PORTAL_BASE_DOMAIN, northwind.email("primary")) == 200
    status, _css, _cookies = served.send(settings.PORTAL_BASE_DOMAIN, "/static/portal/portal.css")
    assert status == 200  # collected, served by WhiteNoise
    assert _server_backends(served.application_name) == backends
