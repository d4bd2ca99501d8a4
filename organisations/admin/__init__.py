"""The organisations' admin pages, one module per subject: ``organisations`` (the list, each
one's page, a plan change on the customer's behalf, new organisations), ``lifecycle`` (its
trial, closure, data export and deletion), ``deletions`` and ``signups``."""

from organisations.admin import deletions, organisations, signups

__all__ = ["deletions", "organisations", "signups"]
