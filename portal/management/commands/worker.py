"""manage.py worker [procrastinate's worker options: --concurrency, --queues, --name, …]

A worker outlives the database going away: procrastinate's worker stops when it cannot
reconnect (a PostgreSQL restart, a failover), and this command starts it again, after 1, 2,
4 … up to 30 seconds, until it is asked to stop (Ctrl-C, SIGTERM: the running job ends
first). Under ``make run`` the web server beside it then keeps running too."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandParser
from procrastinate import cli, exceptions
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from portal.signals import worker_starting

# Seconds before starting again a worker that stopped without being asked: doubled each
# time in a row, up to the last.
RESTART_DELAYS = (1, 2, 4, 8, 15, 30)


def _procrastinate_worker_options() -> list[argparse.Action]:
    """The options of ``procrastinate worker`` (with their PROCRASTINATE_WORKER_*
    environment variables), as procrastinate defines them."""
    subcommands = argparse.ArgumentParser().add_subparsers()
    cli.configure_worker_parser(subcommands)
    worker = subcommands.choices["worker"]
    return [action for action in worker._actions if action.dest != "help"]


class Command(BaseCommand):
    help = (
        "Run a worker until stopped (Ctrl-C, SIGTERM): it sends queued emails and runs the "
        "daily billing. On start it queues a billing run, which catches up with the days no "
        "worker ran. Run as many as needed, on any machine with the same DATABASE_URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.worker_options: set[str] = set()
        for action in _procrastinate_worker_options():
            parser._add_action(action)
            self.worker_options.add(action.dest)

    def handle(self, *args: Any, **options: Any) -> None:
        worker_starting.send(sender=self.__class__)
        worker_options = {key: options[key] for key in self.worker_options if key in options}
        # The worker needs a connector with its own pool (Django's cannot listen for new
        # jobs); the tasks' ORM queries still use Django's connection.
        connector = app.connector
        if isinstance(connector, DjangoConnector):
            connector = connector.get_worker_connector()
        queues = worker_options.get("queues") or ["every queue"]
        self.stdout.write(f"Worker working on {', '.join(queues)}; Ctrl-C stops it.")
        with app.replace_connector(connector):
            asyncio.run(self._supervise(worker_options))
        self.stdout.write("Worker stopped.")

    async def _supervise(self, options: dict[str, Any]) -> None:
        """Run the worker until a signal asks it to stop (or, with ``--one-shot``, until
        it has caught up); a worker that stopped on its own is started again."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopping.set)
        restarts = 0
        while True:
            reason = await self._run_until_stopped(options, stopping)
            if stopping.is_set() or (reason is None and options.get("wait") is False):
                return
            delay = RESTART_DELAYS[min(restarts, len(RESTART_DELAYS) - 1)]
            self.stderr.write(
                f"The worker stopped ({reason or 'it could not go on'}); "
                f"starting it again in {delay} s."
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            restarts += 1

    async def _run_until_stopped(
        self, options: dict[str, Any], stopping: asyncio.Event
    ) -> str | None:
        """One run of procrastinate's worker: until it returns, fails, or ``stopping`` is
        set (then it is cancelled, which lets the running job end). Why it stopped
        without being asked, or None."""
        try:
            async with app.open_async():
                worker = asyncio.create_task(
                    app.run_worker_async(**options, install_signal_handlers=False)
                )
                asked = asyncio.create_task(stopping.wait())
                await asyncio.wait({worker, asked}, return_when=asyncio.FIRST_COMPLETED)
                asked.cancel()
                if not worker.done():
                    worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        except (exceptions.ConnectorException, psycopg.OperationalError, OSError) as error:
            return f"{type(error).__name__}: {str(error).strip() or 'database error'}"
        return None
