"""manage.py migrate_organisations stopped by a real signal (portal/schemas/deploy.py): Ctrl-C
(SIGINT to the whole process group, as a terminal sends it) or SIGTERM to the command alone,
while organisations are in flight (each waits for a lock this test holds): nothing new is
begun, those in flight finish once the lock goes, every process ends, the command says so
with the signal's exit status, and a second run migrates only the ones left."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from organisations.services import create_organisation
from portal.schemas.state import STATE_PREFIX, migration_state, organisation_schemas, record_state
from tests.conftest import database_urls, drop_schemas, owner_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]

ROOT = Path(__file__).resolve().parents[2]
NAME = "deploy-under-test"
SLUGS = [f"halt-{n}" for n in range(1, 7)]


@pytest.fixture
def behind(catalogue: None, owner_connections: None) -> Iterator[list[str]]:
    """Six organisations whose schemas record an older state (so a deploy visits them)."""
    schemas = []
    for slug in SLUGS:
        created = create_organisation(
            name=slug.title(), slug=slug, primary_contact_email=f"owner@{slug}.test"
        )
        schemas.append(created.organisation.schema_name)
    with owner_role():
        for schema in schemas:
            record_state(schema, STATE_PREFIX + "older")
    yield schemas
    drop_schemas(*schemas)


def _deploy(parallel: int) -> subprocess.Popen[str]:
    environment = {**os.environ, **database_urls(application_name=NAME), "DJANGO_DEBUG": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "migrate_organisations",
            "--organisations-only",
            f"--parallel={parallel}",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _waiting(count: int, process: subprocess.Popen[str]) -> None:
    """Until ``count`` of its sessions wait for a lock."""
    deadline = time.monotonic() + 90
    while True:
        with owner_role(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                [NAME],
            )
            if cursor.fetchone()[0] >= count:
                return
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the deploy never reached the locked schemas"
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _at_latest(schemas: list[str]) -> set[str]:
    state = migration_state()
    return {s.schema_name for s in organisation_schemas(state) if s.current} & set(schemas)


@pytest.mark.parametrize(
    ("parallel", "stop", "in_flight"),
    [
        (2, "SIGINT to the group", 2),  # Ctrl-C in a terminal
        (2, "SIGTERM to the command", 2),  # a service manager
        (1, "SIGTERM to the command", 1),
    ],
)
def test_a_deploy_stopped_by_a_signal_ends_cleanly_and_a_rerun_resumes(
    behind: list[str], parallel: int, stop: str, in_flight: int
) -> None:
    locked = behind[1 : 1 + in_flight]  # the first migrates, then these wait
    holder = psycopg.connect(database_urls()["DATABASE_OWNER_URL"])
    try:
        for schema in locked:
            holder.execute(f"LOCK TABLE {schema}.django_migrations IN ACCESS EXCLUSIVE MODE")
        deploy = _deploy(parallel)
        _waiting(in_flight, deploy)
        workers = _children(deploy.pid)
        if stop.startswith("SIGINT"):
            os.killpg(deploy.pid, signal.SIGINT)
        else:
            deploy.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal is taken while they wait; then the lock goes
    finally:
        holder.rollback()
        holder.close()
    output, _ = deploy.communicate(timeout=60)

    name = stop.split(maxsplit=1)[0]
    assert deploy.returncode == 128 + signal.Signals[name].value, output
    assert f"Stopped by {name} after {1 + in_flight} organisations" in output
    assert "Traceback" not in output
    for pid in workers:  # every process it started has ended, reaped
        assert not Path(f"/proc/{pid}").exists()
    done = _at_latest(behind)
    assert done == set(behind[: 1 + in_flight])  # begun before the signal: finished

    again = subprocess.run(
        [sys.executable, "manage.py", "migrate_organisations", "--organisations-only"],
        cwd=ROOT,
        env={**os.environ, **database_urls(), "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    left = len(behind) - len(done)
    assert re.search(rf": {left} to migrate, \d+ at the latest state\.", again.stdout)
    assert _at_latest(behind) == set(behind)
