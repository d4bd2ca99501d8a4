"""The organisations app's one table: data exports (``organisations.exports``)."""

from __future__ import annotations

from datetime import date, datetime

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


class Deletion(models.Model):
    """An organisation's deletion (``organisations.deletion``), step by step: each step is
    one transaction and says here that it is done, so a deletion stopped halfway resumes
    where it stopped. The row stays: it holds the address until its quarantine ends."""

    class Step(models.TextChoices):
        STARTED = "started", _("started: its address no longer answers")
        PEOPLE_FORGOTTEN = "people", _("its people forgotten")
        DONE = "done", _("done: its schema dropped")

    organisation: models.OneToOneField[Organisation, Organisation] = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="deletion",
        verbose_name=_("organisation"),
    )
    # The address it had: nobody else's until ``address_free_on``.
    former_slug: models.CharField[str, str] = models.CharField(
        _("address"), max_length=40, db_index=True
    )
    step: models.CharField[str, str] = models.CharField(
        _("step"), max_length=10, choices=Step.choices, default=Step.STARTED
    )
    reason: models.TextField[str, str] = models.TextField(_("reason"), blank=True)
    # Asked before the closure's grace period ended (staff's or an operator's decision).
    early: models.BooleanField[bool, bool] = models.BooleanField(_("before the grace period"))
    requested_by: models.CharField[str, str] = models.CharField(
        _("requested by"), max_length=254, blank=True
    )
    started_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("started"), default=timezone.now
    )
    finished_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("finished"), null=True, blank=True
    )
    address_free_on: models.DateField[date | None, date | None] = models.DateField(
        _("address free again on"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("deletion")
        verbose_name_plural = _("deletions")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.former_slug} · {self.get_step_display()}"
