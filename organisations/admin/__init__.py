"""The organisations' admin pages, one module per subject: ``organisations`` (the list, each
one's page, a plan change on the customer's behalf, new organisations), ``lifecycle`` (its
trial, closure and data export) and ``signups``."""

from organisations.admin import organisations, signups

__all__ = ["organisations", "signups"]
