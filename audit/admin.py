"""The audit log in the admin: read-only for everyone, filtered and searched, and
exported as CSV (the same rows as ``manage.py audit``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from audit.models import AuditEvent
from audit.selectors import AUDIT_COLUMNS, audit_row
from audit.services import ACTION_LABELS, action_label
from portal.admin import ReadOnlyAdmin, exported_rows


class ActionFilter(admin.SimpleListFilter):
    """The actions by their words (the parameter is still the stored code)."""

    title = gettext_lazy("action")
    parameter_name = "action__exact"  # as the field filter named it: links keep working

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(
            ((str(action), action_label(action)) for action in ACTION_LABELS),
            key=lambda choice: choice[1],
        )

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included, as the database is append-only."""

    list_display = [
        "created_at",
        "organisation",
        "actor_kind",
        "actor_email",
        "action_shown",
        "target",
    ]
    list_filter = [
        ActionFilter,
        "actor_kind",
        "organisation",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["action", "actor_email", "target", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    change_list_template = "admin/audit/auditevent/change_list.html"
    date_hierarchy = None
    readonly_fields = [
        "created_at",
        "organisation",
        "actor_kind",
        "actor_id",
        "actor_email",
        "action",
        "target",
        "before_shown",
        "after_shown",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description=gettext_lazy("action"), ordering="action")
    def action_shown(self, event: AuditEvent) -> str:
        return action_label(event.action)

    @admin.display(description=gettext_lazy("before"))
    def before_shown(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", _json(in_local_time(event.before), indent=2))

    @admin.display(description=gettext_lazy("after"))
    def after_shown(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", _json(in_local_time(event.after), indent=2))

    def get_urls(self) -> list[Any]:
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export/", export, name="audit_auditevent_export"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist's filtered and searched events as CSV (UTF-8 with a byte-order
        mark, moments in the portal's time zone: Excel in Japan opens it as it is); filters
        the list does not know, or values of the wrong kind, are a 400 page saying so
        (nothing exported)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        events = exported_rows(self, request)
        if events is None:
            context = {**self.admin_site.each_context(request), "opts": self.model._meta}
            return TemplateResponse(
                request, "admin/audit/auditevent/export_refused.html", context, status=400
            )

        def rows() -> Iterator[str]:
            buffer = _Echo()
            writer = csv.writer(buffer)
            # A byte-order mark, so that Excel in Japan reads the file as UTF-8.
            yield "\ufeff" + writer.writerow(AUDIT_COLUMNS)
            for event in events.iterator(chunk_size=2000):
                row = audit_row(event)
                # In the portal's time zone, as the list shows them, and as Excel reads them.
                row["created_at"] = timezone.localtime(event.created_at).strftime(EXCEL_MOMENT)
                row["before"], row["after"] = (
                    in_local_time(event.before),
                    in_local_time(event.after),
                )
                yield writer.writerow(
                    [_json(row[c]) if c in ("before", "after") else row[c] for c in AUDIT_COLUMNS]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


EXCEL_MOMENT = "%Y-%m-%d %H:%M:%S"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _json(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=indent)


def in_local_time(data: Any) -> Any:
    """The event's data with its moments (stored in UTC, ``…Z``) in the portal's time
    zone, as the list shows ``created_at``: one zone on the page."""
    if isinstance(data, dict):
        return {key: in_local_time(value) for key, value in data.items()}
    if isinstance(data, list):
        return [in_local_time(value) for value in data]
    if isinstance(data, str) and "T" in data:
        try:
            moment = parse_datetime(data)
        except ValueError:  # shaped like a moment, but none (month 13)
            moment = None
        if moment is not None and timezone.is_aware(moment):
            return timezone.localtime(moment).isoformat(timespec="seconds")
    return data
