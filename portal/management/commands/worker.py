"""manage.py worker [procrastinate's worker options: --concurrency, --queues, --name, …]"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from procrastinate import cli
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from subscriptions.tasks import queue_billing_catch_up


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
        queue_billing_catch_up()
        worker_options = {key: options[key] for key in self.worker_options if key in options}
        # The worker needs a connector with its own pool (Django's cannot listen for new
        # jobs); the tasks' ORM queries still use Django's connection.
        connector = app.connector
        if isinstance(connector, DjangoConnector):
            connector = connector.get_worker_connector()
        queues = worker_options.get("queues") or ["every queue"]
        self.stdout.write(f"Worker working on {', '.join(queues)}; Ctrl-C stops it.")
        with app.replace_connector(connector):
            app.run_worker(**worker_options)
        self.stdout.write("Worker stopped.")
