"""The audit log's one table: append-only (a trigger refuses UPDATE and DELETE; the database
stamps each event with its own clock). It keeps the name it had when the log lived in the
subscriptions app (``subscriptions_auditevent``): the move changed no row."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation


class AuditEvent(models.Model):
    """Who did what to which organisation, before and after. Append-only: the
    database refuses UPDATE and DELETE on this table (a trigger, see migrations)."""

    class ActorKind(models.TextChoices):
        USER = "user", _("Organisation user")
        STAFF = "staff", _("Vendor staff")
        COMMAND = "command", _("Command")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(_("actor ID"), null=True, blank=True)
    actor_email = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    target = models.CharField(_("target"), max_length=100, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        db_table = "subscriptions_auditevent"
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="subscriptions_audit_org")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
