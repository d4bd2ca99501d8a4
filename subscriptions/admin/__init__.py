"""The vendor's back office in the Django admin on the public site, one module per
subject: ``refunds`` (the review queue), ``audit`` (the log and its export),
``organisations`` (with their subscriptions and overrides), ``ledger`` (money movements),
``catalogue`` (plans, features, transitions) and ``insight`` (plan changes and their
charts). Every decision goes through ``subscriptions.services``; the admin only shows,
filters and reports."""

from subscriptions.admin import audit, catalogue, insight, ledger, organisations, refunds

__all__ = ["audit", "catalogue", "insight", "ledger", "organisations", "refunds"]
