"""Emails leave only after the transaction that caused them commits."""

from __future__ import annotations

from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


def send_after_commit(template_prefix: str, to: list[str], context: dict[str, Any]) -> None:
    """Render ``<prefix>_subject.txt`` and ``<prefix>_message.txt`` now (in the active
    language) and send them once the current transaction commits; a rolled-back change
    sends nothing."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    body = render_to_string(f"{template_prefix}_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, recipients))
