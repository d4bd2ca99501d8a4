"""The log (portal/logs.py and LOGGING): a refused request is one line, with no traceback;
a server error keeps its traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.db import transaction as django_transaction

from subscriptions.models import Subscription
from tests.conftest import Site, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the console handlers that ``django.request`` reaches (its own, Django's, the
    root's: as LOGGING configured them) write, caught in a buffer instead of stderr."""
    output = io.StringIO()
    handlers: list[logging.StreamHandler[io.StringIO]] = []
    logger: logging.Logger | None = logging.getLogger("django.request")
    while logger is not None:
        handlers += [
            handler
            for handler in logger.handlers
            if isinstance(handler, logging.StreamHandler)
            and not type(handler).__module__.startswith("_pytest")  # pytest's own capture
        ]
        logger = logger.parent if logger.propagate else None
    streams = [handler.setStream(output) for handler in handlers]
    yield output
    for handler, stream in zip(handlers, streams, strict=True):
        if stream is not None:
            handler.setStream(stream)


def _lines(output: io.StringIO) -> list[str]:
    return [line for line in output.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("debug", [False, True])
def test_a_403_is_one_line_without_a_traceback(
    northwind: Site, settings, log_output: io.StringIO, debug: bool
) -> None:
    settings.DEBUG = debug  # Django's own console handler speaks only when debugging
    client = signed_in(northwind, "agent")
    assert client.get("/store/").status_code == 403
    assert _lines(log_output) == ["Forbidden (Permission denied): /store/"]


@pytest.mark.parametrize("debug", [False, True])
def test_a_400_is_one_line(northwind: Site, settings, log_output: io.StringIO, debug: bool) -> None:
    settings.DEBUG = debug
    client = signed_in(northwind, "admin")
    assert client.post("/departments/", {"name": ""}).status_code == 400
    assert _lines(log_output) == ["Bad Request: /departments/"]


def test_a_server_error_keeps_its_traceback(northwind: Site, log_output: io.StringIO) -> None:
    client = signed_in(northwind, "primary")
    client.raise_request_exception = False
    # An organisation whose subscription is gone: the dashboard cannot be drawn (a 500).
    with django_transaction.atomic():
        Subscription.objects.filter(organisation=northwind.organisation).delete()
        assert client.get("/").status_code == 500
        django_transaction.set_rollback(True)
    lines = _lines(log_output)
    assert lines[0] == "Internal Server Error: /"
    assert "Traceback (most recent call last):" in lines
