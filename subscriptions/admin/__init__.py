"""The vendor's back office in the Django admin on the public site, one module per
subject: ``refunds`` (the review queue), ``subscriptions`` (read-only lists of
subscriptions, overrides and scheduled changes), ``ledger`` (money movements),
``catalogue`` (plans, features, transitions), ``insight`` (plan changes and their charts)
and ``payments`` (cards on file, the provider's events). Every decision goes through
``subscriptions.services``; the admin only shows, filters and reports. Organisations' pages
are ``organisations.admin``, the audit log's ``audit.admin``."""

from subscriptions.admin import catalogue, insight, ledger, payments, refunds, subscriptions

__all__ = ["catalogue", "insight", "ledger", "payments", "refunds", "subscriptions"]
