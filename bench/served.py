"""Pages served over HTTP by gunicorn, with traffic spread over every organisation (issue 26,
points 4 and 5): what a request costs the server when it comes through a socket, as in
production, rather than through the in-process test client of ``bench/tenants.py``.

On the N organisations kept by ``bench/built.py`` (built first if need be), each primary
contact gets the same password, hashed once with the real hasher (Django's default, PBKDF2,
as production has it: a sign-in pays its full cost), and a session made in this process
(``force_login``) for the pages. Then it starts
gunicorn (sync workers, ``DJANGO_DEBUG=0``, the app role, a Redis of its own, the static files
collected as the production server collects them; not its preflight, which wants a mail server
and a payment gateway) on loopback and drives it with ``http.client``, the host name of each
request ``<slug>.<PORTAL_BASE_DOMAIN>``:

1. sign-ins through allauth's form (its page, then the POST with the CSRF token) for a sample
   of organisations: time and server CPU per sign-in;
2. the dashboard ``/``, the Store ``/store/`` and its plans ``/store/plans/``, each request to
   the next organisation, cycling over every one: p50/p95 latency and server CPU per request
   (the workers' utime + stime, from ``/proc/<pid>/stat``, before and after each batch, over
   the batch's requests: other processes' work does not count, as it does in wall time);
3. the bare view (``/favicon.ico``: a redirect, no query, anonymous; the one
   ``bench/tenants.py`` measures) on an organisation just visited, against one no request
   reached for longer than ``PORTAL_HOST_LOCAL_SECONDS`` (out of every worker's own copy of
   the host names: the shared cache answers), in alternate batches; issue 26 point 1's target
   is the second ≤ 1.3× the first;
4. each worker's resident memory before and after the sweep over every organisation.

With ``--baseline DIR`` (another checkout, e.g. a ``git worktree`` of an earlier commit) a
second gunicorn serves the same database from DIR with the same settings (its own Redis
database, so neither reads the other's cache entries); the two take turns batch by batch, in
an order rotated every round, and the tables give each page's CPU per request for both and
their ratio.

Run: DATABASE_URL=... .venv/bin/python -m bench.served [N] [--baseline DIR] [--workers W]
[--rounds R]   (N default 200; ``make bench`` passes BENCH_TENANTS and BENCH_BASELINE). It
starts a redis-server of its own (nothing kept on disk), so it needs one on the PATH. With
one role in DATABASE_URL, the servers connect as ``portal_app`` (made if missing, as the test
suite does), which the migrations grant what production's app role has. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from portal.models import Organisation

# Run as a script, this file's directory heads sys.path, where this module would stand in for
# the standard library's ``http`` (which Django imports, and ``send`` below): the repository's
# root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # this process only; the servers run without
# The servers must read the sessions this process signs: one secret key for all.
os.environ.setdefault("DJANGO_SECRET_KEY", os.urandom(32).hex())

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COUNT = 200
PASSWORD = "bench-http-password-1"
WORKERS = 2  # WEB_CONCURRENCY's default
SIGN_INS = 20  # organisations signed in to, per server (allauth allows 30 a minute per IP)
ROUNDS = 8
PER_ROUND = 40  # requests per page, server and round: 320 samples per figure
BARE_ROUNDS = 10
BARE_BATCH = 20  # requests per batch; each round one batch of each kind per server
WARM_UP = 6  # untimed requests per page and server before anything is timed
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MiB = 1024 * 1024
# Variables the settings read: a server gets none of this process's, only the bench's own.
SETTINGS_VARIABLES = (
    "DJANGO_",
    "DATABASE_",
    "EMAIL_URL",
    "REDIS_URL",
    "PORTAL_",
    "SUBSCRIPTIONS_",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
)


@dataclass(frozen=True)
class Page:
    label: str
    path: str


PAGES = [Page("dashboard", "/"), Page("Store", "/store/"), Page("plans", "/store/plans/")]
BARE_PATH = "/favicon.ico"


@dataclass(frozen=True)
class Site:
    """An organisation's host name, its primary contact and that contact's session."""

    host: str
    email: str
    cookie: str


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    cookies: dict[str, str]
    body: str
    seconds: float


# --- Processes --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:  # gone meanwhile
            continue
        if parent == pid:
            found.append(int(entry))
    return sorted(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A gunicorn serving one checkout; its workers' CPU time is what requests cost."""

    label: str
    checkout: Path
    port: int
    process: subprocess.Popen[bytes]
    workers: list[int] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, by what was measured
    requests: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    cursor: int = 0  # the next organisation a page request goes to
    spread_cursor: int = 0  # the next organisation the bare view's spread batch goes to
    last_seen: dict[int, float] = field(default_factory=dict)  # organisation → when

    def worker_cpu(self) -> float:
        if children_of(self.process.pid) != self.workers:
            raise SystemExit(f"{self.label}: a worker restarted, its CPU time is lost")
        return sum(cpu_seconds(pid) for pid in self.workers)

    def resident(self) -> list[int]:
        return [resident_bytes(pid) for pid in self.workers]

    def record(self, key: str, cpu: float, latencies: list[float]) -> None:
        self.cpu[key] = self.cpu.get(key, 0.0) + cpu
        self.requests[key] = self.requests.get(key, 0) + len(latencies)
        self.latencies.setdefault(key, []).extend(latencies)

    def cpu_per_request(self, key: str) -> float:
        return self.cpu[key] / self.requests[key]


def environment(**variables: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    return {**base, **variables}


def collect_static(checkout: Path, settings_env: dict[str, str]) -> None:
    """The static files as the production server collects them (its manifest names the
    fingerprinted files the pages link), into ``DJANGO_STATIC_ROOT``."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=checkout,
        env=environment(**settings_env),
        check=True,
    )


def start_server(
    label: str, checkout: Path, settings_env: dict[str, str], workers: int, logs: Path
) -> Server:
    port = free_port()
    log = (logs / f"{label.split(maxsplit=1)[0]}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            # As portal/gunicorn.conf.py: the control socket's default path is shared by
            # every gunicorn of the user, and the second server would take it over.
            "--no-control-socket",
        ],
        cwd=checkout,  # its portal, not this checkout's
        env=environment(**settings_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()  # the server has its own copy
    server = Server(label, checkout, port, process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{label}: gunicorn exited; see {log.name}")
        server.workers = children_of(process.pid)
        with socket.socket() as probe:
            if len(server.workers) == workers and probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.2)
    raise SystemExit(f"{label}: gunicorn did not start within 120 s; see {log.name}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@contextmanager
def redis(logs: Path) -> Iterator[str]:
    """A Redis of the bench's own, nothing kept on disk: no entry of an earlier run (a host,
    a rate limit) is read, and nobody else's is touched."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("bench/served.py needs redis-server on the PATH (apt-get install redis).")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=logs,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- HTTP -------------------------------------------------------------------------------


def send(
    server: Server,
    host: str,
    path: str,
    *,
    cookie: str = "",
    form: dict[str, str] | None = None,
) -> Answer:
    """One request on a connection of its own (gunicorn's sync workers close each one)."""
    import http.client
    from http.cookies import SimpleCookie

    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = cookie
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        connection.request("POST" if form is not None else "GET", path, body, headers)
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return Answer(
        response.status,
        response.headers.get("Location", ""),
        {name: morsel.value for name, morsel in jar.items()},
        content.decode("utf-8", "replace"),
        seconds,
    )


def expect(answer: Answer, status: int, what: str) -> Answer:
    """Stop at once if a page does not answer as it should: its timing would mean nothing."""
    if answer.status != status:
        raise SystemExit(f"{what} answered {answer.status}, not {status}: {answer.body[:300]}")
    return answer


# --- Building ---------------------------------------------------------------------------


def app_database_url(database: dict[str, object], name: str) -> str:
    """A libpq URL for a role of ``database``'s server, on database ``name``."""
    user, password = str(database["USER"]), str(database.get("PASSWORD") or "")
    query = urlencode({"host": database["HOST"] or "", "port": database["PORT"] or ""})
    secret = f":{quote(password, safe='')}" if password else ""
    return f"postgres://{quote(user, safe='')}{secret}@/{name}?{query}"


def sites_with_sessions(password_hash: str) -> list[Site]:
    """Every organisation's primary contact with the real password hash, signed in here
    (the servers share this process's secret key and database, so they read its
    sessions); in the organisations' order."""
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from portal.models import Organisation
    from portal.selectors import organisation_host
    from portal.tenancy import use_public_schema

    sites = []
    organisations: list[Organisation] = list(Organisation.objects.order_by("pk"))
    for organisation in organisations:
        with tenant_context(organisation):
            User.objects.filter(is_primary_contact=True).update(password=password_hash)
            contact = User.objects.get(is_primary_contact=True)
            client = Client()
            # Named as a checkout from before accounts/backends.py names it (a baseline's
            # servers know no other name); this one reads it as its own (portal/sessions.py).
            client.force_login(contact, backend="django.contrib.auth.backends.ModelBackend")
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        sites.append(
            Site(
                organisation_host(organisation.slug),
                contact.email,
                f"{settings.SESSION_COOKIE_NAME}={cookie}",
            )
        )
    use_public_schema()
    return sites


# --- Measuring --------------------------------------------------------------------------


def rotated(items: list[Server], by: int) -> list[Server]:
    shift = by % len(items)
    return items[shift:] + items[:shift]


def sign_in(server: Server, site: Site) -> None:
    """allauth's form as a browser fills it: its page (the CSRF cookie and token), then the
    POST, which must land on the dashboard. The POST is timed."""
    page = expect(send(server, site.host, "/accounts/login/"), 200, f"{site.host} sign-in page")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    if token is None or "csrftoken" not in page.cookies:
        raise SystemExit(f"{site.host}: the sign-in page has no CSRF token")
    before = server.worker_cpu()
    answer = send(
        server,
        site.host,
        "/accounts/login/",
        cookie=f"csrftoken={page.cookies['csrftoken']}",
        form={
            "csrfmiddlewaretoken": token.group(1),
            "login": site.email,
            "password": PASSWORD,
        },
    )
    cpu = server.worker_cpu() - before
    if answer.status != 302 or answer.location != "/" or "sessionid" not in answer.cookies:
        raise SystemExit(f"{site.host}: the sign-in answered {answer.status} {answer.location}")
    expect(
        send(server, site.host, "/", cookie=f"sessionid={answer.cookies['sessionid']}"),
        200,
        f"{site.host} dashboard after signing in",
    )
    server.record("sign-in", cpu, [answer.seconds])


def warm_up(servers: list[Server], sites: list[Site]) -> None:
    """Each worker's code and templates loaded, on two organisations only (the sweep then
    reaches the others for the first time)."""
    for server in servers:
        for number in range(WARM_UP):
            site = sites[number % 2]
            for page in PAGES:
                expect(send(server, site.host, page.path, cookie=site.cookie), 200, page.path)
            expect(send(server, site.host, BARE_PATH), 302, BARE_PATH)
            expect(send(server, site.host, "/accounts/login/"), 200, "sign-in page")


def page_batch(server: Server, page: Page, sites: list[Site], count: int) -> None:
    """``count`` requests of one page, each to the next organisation."""
    latencies = []
    before = server.worker_cpu()
    for _ in range(count):
        number = server.cursor % len(sites)
        server.cursor += 1
        site = sites[number]
        answer = send(server, site.host, page.path, cookie=site.cookie)
        latencies.append(answer.seconds)
        server.last_seen[number] = time.monotonic()
        if answer.status != 200:
            expect(answer, 200, f"{site.host}{page.path}")
    server.record(page.label, server.worker_cpu() - before, latencies)


def measure_pages(servers: list[Server], sites: list[Site], rounds: int) -> None:
    """The servers take turns batch by batch; both the order of the servers and of the
    pages move round by round, so that none always follows the same one."""
    for round_number in range(rounds):
        pages = PAGES[round_number % len(PAGES) :] + PAGES[: round_number % len(PAGES)]
        for page in pages:
            for server in rotated(servers, round_number):
                page_batch(server, page, sites, PER_ROUND)


def bare_batch(server: Server, sites: list[Site], *, spread: bool, away: float) -> None:
    """The bare view, anonymous: on the first organisation (visited every round) or, spread,
    on the next organisation no request reached for ``away`` seconds (waiting if none)."""
    latencies = []
    before = server.worker_cpu()
    for _ in range(BARE_BATCH):
        number = 0
        if spread:
            server.spread_cursor = max(server.spread_cursor % len(sites), 1)
            number = server.spread_cursor
            server.spread_cursor += 1
            waited = time.monotonic() - server.last_seen.get(number, 0.0)
            if waited < away:
                idle = server.worker_cpu()
                time.sleep(away - waited)
                before += server.worker_cpu() - idle  # nothing was asked meanwhile
        answer = send(server, sites[number].host, BARE_PATH)
        server.last_seen[number] = time.monotonic()
        latencies.append(answer.seconds)
        if answer.status != 302:
            expect(answer, 302, f"{sites[number].host}{BARE_PATH}")
    server.record(
        "bare, spread" if spread else "bare, just visited", server.worker_cpu() - before, latencies
    )


def measure_bare(servers: list[Server], sites: list[Site]) -> None:
    from django.conf import settings

    away = settings.PORTAL_HOST_LOCAL_SECONDS + 0.5
    for round_number in range(BARE_ROUNDS):
        for server in rotated(servers, round_number):
            for spread in (round_number % 2 == 0, round_number % 2 == 1):
                bare_batch(server, sites, spread=spread, away=away)


# --- Figures ----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    from bench.tenants import print_table as table

    table(rows, header)
    print()


def page_rows(servers: list[Server]) -> list[tuple[str, ...]]:
    """CPU per request and latency of each page for each server; with a baseline, the
    ratio of this checkout's figure to the baseline's."""
    rows = []
    for page in PAGES:
        cpu = [s.cpu_per_request(page.label) for s in servers]
        latencies = [s.latencies[page.label] for s in servers]
        cpu_row = (f"{page.label} {page.path}: CPU per request", *(ms(c) for c in cpu))
        latency_row = (
            f"{page.label} {page.path}: latency p50 / p95",
            *(f"{ms(p50(values))} / {ms(p95(values))}" for values in latencies),
        )
        if len(servers) == 2:
            cpu_row = (*cpu_row, f"{cpu[0] / cpu[1]:.2f}×")
            latency_row = (*latency_row, f"{p50(latencies[0]) / p50(latencies[1]):.2f}× (p50)")
        rows += [cpu_row, latency_row]
    return rows


def bare_rows(servers: list[Server]) -> list[tuple[str, ...]]:
    visited, spread = "bare, just visited", "bare, spread"
    rows: list[tuple[str, ...]] = [
        (
            f"{BARE_PATH}, {kind.removeprefix('bare, ')}: p50 / p95, CPU",
            *(
                f"{ms(p50(s.latencies[kind]))} / {ms(p95(s.latencies[kind]))}, "
                f"{ms(s.cpu_per_request(kind))}"
                for s in servers
            ),
        )
        for kind in (visited, spread)
    ]
    rows.append(
        (
            "not seen recently ÷ just visited: p50, CPU (target ≤ 1.3×)",
            *(
                f"{p50(s.latencies[spread]) / p50(s.latencies[visited]):.2f}×, "
                f"{s.cpu_per_request(spread) / s.cpu_per_request(visited):.2f}×"
                for s in servers
            ),
        )
    )
    return rows


def report(servers: list[Server], resident: dict[str, dict[str, list[int]]]) -> None:
    labels = tuple(s.label for s in servers)
    sign_ins = [s.latencies["sign-in"] for s in servers]
    print_table(
        ("Sign-in (allauth's form, PBKDF2)", *labels),
        [
            (
                "the POST, p50 / p95",
                *(f"{ms(p50(values))} / {ms(p95(values))}" for values in sign_ins),
            ),
            ("server CPU per sign-in", *(ms(s.cpu_per_request("sign-in")) for s in servers)),
        ],
    )
    ratio = ("this ÷ baseline",) if len(servers) == 2 else ()
    print_table(("Page (spread over every organisation)", *labels, *ratio), page_rows(servers))
    print_table(("Bare view", *labels), bare_rows(servers))
    print_table(
        ("Workers' resident memory", *labels),
        [
            (
                moment,
                *(
                    " + ".join(f"{b / MiB:.1f}" for b in resident[s.label][moment]) + " MiB"
                    for s in servers
                ),
            )
            for moment in resident[servers[0].label]
        ],
    )


def server_settings(
    app: dict[str, object], database: str, redis_url: str, static_root: Path
) -> dict[str, str]:
    """What a server's environment holds: production's settings but for TLS, the mail
    server and the payment gateway, which these pages do not use."""
    from django.conf import settings

    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": app_database_url(app, database),
        "DATABASE_OWNER_URL": app_database_url(settings.PORTAL_DATABASE_OWNER, database),
        "REDIS_URL": redis_url,
        "PORTAL_BASE_DOMAIN": settings.PORTAL_BASE_DOMAIN,
        "PORTAL_SCHEME": "http",  # nothing terminates TLS here
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "EMAIL_URL": "console://",
        "DJANGO_STATIC_ROOT": str(static_root),
    }


def measure(
    servers: list[Server], sites: list[Site], rounds: int
) -> dict[str, dict[str, list[int]]]:
    """Sign-ins, pages, the bare view; the workers' resident memory between them."""
    warm_up(servers, sites)
    print(f"Sign-ins ({SIGN_INS} organisations, per server)...", flush=True)
    step = max(len(sites) // SIGN_INS, 1)
    for number, site in enumerate(sites[::step][:SIGN_INS]):
        for server in rotated(servers, number):
            sign_in(server, site)

    resident = {s.label: {"before the sweep": s.resident()} for s in servers}
    print(f"Pages ({rounds} rounds)...", flush=True)
    measure_pages(servers, sites, rounds)
    swept = f"after {rounds * PER_ROUND * len(PAGES)} page requests over {len(sites)} organisations"
    for server in servers:
        resident[server.label][swept] = server.resident()
    print("Bare view...", flush=True)
    measure_bare(servers, sites)
    for server in servers:
        resident[server.label]["after the bare view's sweep"] = server.resident()
    return resident


def main(count: int, baseline: Path | None, workers: int, rounds: int) -> None:
    from bench import built, setup_django

    setup_django()
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from portal.db.roles import connect_as_owner

    app = built.app_role()
    connect_as_owner()  # it makes databases (bench/built.py)
    # The real hasher (the settings name none: Django's default), before the fast one
    # that building uses.
    password_hash = make_password(PASSWORD)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False  # no list of statements kept while building
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    checkouts = [("this checkout", ROOT)]
    if baseline is not None:
        checkouts.append((f"baseline ({baseline})", baseline.resolve()))
    work = Path(tempfile.mkdtemp(prefix="bench-served-"))
    servers: list[Server] = []
    done = False
    try:
        database = built.use(count)
        started = time.perf_counter()
        sites = sites_with_sessions(password_hash)
        print(f"  signed in: {time.perf_counter() - started:.0f} s", flush=True)
        connection.close()
        with redis(work) as redis_url:
            for number, (label, checkout) in enumerate(checkouts):
                # Each its own Redis database: neither reads the other's cache entries.
                variables = server_settings(
                    app, database, f"{redis_url}/{number}", work / str(number)
                )
                print(f"Collecting the static files of {checkout}...", flush=True)
                collect_static(checkout, variables)
                servers.append(start_server(label, checkout, variables, workers, work))
            print(f"gunicorn: {workers} sync worker(s) each; warming up...", flush=True)
            resident = measure(servers, sites, rounds)
            for server in servers:
                stop_server(server)
        print(
            f"\n{count} organisations; {workers} sync worker(s) per server, DEBUG off; "
            f"PostgreSQL as {app['USER']}; Redis; {os.cpu_count()} CPUs\n"
        )
        report(servers, resident)
        done = True
    finally:
        for server in servers:
            stop_server(server)
        connection.close()
        if done:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"gunicorn's logs: {work}", file=sys.stderr)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    return parser.parse_args()


if __name__ == "__main__":
    options = arguments()
    main(options.count, options.baseline, options.workers, options.rounds)
