"""A test double for the SMTP server, which is outside the portal: the seam is
``EMAIL_BACKEND``. While ``SMTPOutage.down`` is set, sending raises what smtplib raises
when the server drops the connection; otherwise messages land in ``mail.outbox`` as with
Django's locmem backend."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends import locmem

BACKEND = "tests.portal.smtp.SMTPOutage"


class SMTPOutage(locmem.EmailBackend):
    down: ClassVar[bool] = False

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if SMTPOutage.down:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
