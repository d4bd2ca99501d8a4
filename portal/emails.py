"""Emails leave only after the transaction that caused them commits, through the job
queue (``portal.tasks.send_email``), which retries while the SMTP server is down."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from portal.queue import defer_with_transaction
from portal.tasks import send_email


def send_after_commit(template_prefix: str, to: list[str], context: dict[str, Any]) -> None:
    """Render ``<prefix>_subject.txt`` and ``<prefix>_message.txt`` now (in the active
    language) and queue them to be sent once the current transaction commits; a
    rolled-back change sends nothing. A worker sends them, retrying while SMTP fails."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    body = render_to_string(f"{template_prefix}_message.txt", context)
    defer_with_transaction(send_email, subject=subject, body=body, to=recipients)
