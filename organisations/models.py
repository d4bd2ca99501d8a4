"""The organisations app's one table: data exports (``organisations.exports``)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation


class DataExport(models.Model):
    """A copy of an organisation's data (``organisations.exports``), asked for by its
    primary contact or staff: built by a job, then downloaded on the organisation's own site
    with its token, until it expires (the archive is then forgotten)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("being prepared")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    organisation: models.ForeignKey[Organisation, Organisation] = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="exports",
        verbose_name=_("organisation"),
    )
    token: models.CharField[str, str] = models.CharField(
        _("download key"), max_length=64, unique=True, editable=False
    )
    requested_by: models.CharField[str, str] = models.CharField(_("requested by"), max_length=254)
    # The language of the request that asked: its email is written in it.
    language: models.CharField[str, str] = models.CharField(
        _("language"), max_length=10, blank=True
    )
    state: models.CharField[str, str] = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.QUEUED
    )
    archive: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(
        _("archive"), null=True, editable=False
    )
    size: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(_("size"), default=0)
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("requested"), default=timezone.now
    )
    expires_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("link expires"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.created_at:%Y-%m-%d %H:%M}"
