"""What the admin's pages share: the product's name in their header (not Django's), a model
shown, never edited, in the admin (changes go through the services), and a filter of a
field between two values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db import DataError, models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# The back office names the product, in the staff member's language.
admin.site.site_header = _("Helpdesk portal back office")
admin.site.site_title = _("Helpdesk portal back office")
admin.site.index_title = _("Back office")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: changes go through the apps' services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RangeFilter(admin.FieldListFilter):
    """A field between two values (``<field>__gte`` and ``<field>__lte``, either may be
    empty), typed into the filter: dates from a calendar, amounts as numbers. A value the
    field cannot take is refused by the list, as any bad filter is."""

    template = "admin/range_filter.html"

    def __init__(
        self, field: Any, request: HttpRequest, params: Any, *args: Any, **kwargs: Any
    ) -> None:
        self.lower, self.upper = f"{field.name}__gte", f"{field.name}__lte"
        super().__init__(field, request, params, *args, **kwargs)
        self.input_type = "date" if isinstance(field, models.DateField) else "number"
        # The base class took the bounds out of the query's parameters.
        self.values = {
            name: _last(self.used_parameters.get(name, "")) for name in (self.lower, self.upper)
        }

    def expected_parameters(self) -> list[str | None]:
        return [self.lower, self.upper]

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        bounds = {name: value for name, value in self.values.items() if value}
        try:
            return queryset.filter(**bounds)
        except (ValueError, ValidationError) as error:
            raise IncorrectLookupParameters(error) from error

    def choices(self, changelist: Any) -> Iterator[Any]:
        """One "choice": the form, with the other filters kept as hidden fields."""
        kept = [
            (name, item)
            for name, values in changelist.get_filters_params().items()
            if name not in (self.lower, self.upper)
            for item in (values if isinstance(values, list) else [values])
        ]
        yield {
            "lower": (self.lower, self.values[self.lower]),
            "upper": (self.upper, self.values[self.upper]),
            "kept": kept,
            "input_type": self.input_type,
            "clear": changelist.get_query_string(remove=[self.lower, self.upper]),
        }


def _last(value: Any) -> str:
    """A query parameter's value as the admin passes it (a list since Django 5), stripped."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value).strip()


def exported_rows(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> Any:
    """The rows of an admin list as its filters and search have them, for an export; None
    when the list refuses them (a filter it does not know, a value of the wrong kind: a
    value the database refuses fails here, not halfway through the download)."""
    try:
        rows = model_admin.get_changelist_instance(request).get_queryset(request)
        with transaction.atomic():
            rows.exists()
    except (IncorrectLookupParameters, ValidationError, ValueError, DataError):
        return None
    return rows
