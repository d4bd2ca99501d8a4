"""``manage.py runserver`` (what ``make run`` serves with) keeps no database connection past
its request: it serves each request in a thread of its own, and connections kept for
``DATABASE_CONN_MAX_AGE`` piled up under a crawl until the embedded server's hundred were
gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import database_urls

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = "runserver-under-test"
REQUESTS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _open_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            # This run's database only: another run on the same server has its own.
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [APPLICATION],
        )
        (count,) = cursor.fetchone()
    return int(count)


def _get(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/signup/", headers={"Host": "localhost"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def test_a_burst_of_requests_leaves_no_connection_open() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={
            **os.environ,
            **database_urls(application_name=APPLICATION),
            "DJANGO_DEBUG": "1",
            "DATABASE_CONN_MAX_AGE": "600",  # what a deployment might set: runserver ignores it
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.2)
        with ThreadPoolExecutor(REQUESTS) as pool:
            statuses = list(pool.map(_get, [port] * REQUESTS))
        assert statuses == [200] * REQUESTS
        # Each request's connection closes as its thread ends (allow the last a moment: on a
        # loaded machine, seconds). Left open, they stay for DATABASE_CONN_MAX_AGE, 600 s here.
        deadline = time.monotonic() + 30
        while _open_connections() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _open_connections() == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
