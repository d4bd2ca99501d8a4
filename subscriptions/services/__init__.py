"""Writes on subscriptions, one module per subject:

- ``subscription``: starting an organisation's subscription, and renewing a period that
  ended;
- ``plan_changes``: applying a plan change (its preview is ``selectors.previews``) and
  the feedback on it;
- ``refunds``: refund requests and their review;
- ``overrides``: entitlements granted to one organisation by staff;
- ``catalogue``: the rules and audit of staff's catalogue edits;
- ``guards``: who may call them (the customer's managers, staff with a permission).

Every service takes the acting user (``None`` for operators' commands), runs in one
transaction with the rows it changes locked, writes its audit events in that transaction
and sends email only after commit. Nothing here deletes what an organisation created, and
no refund is ever created except by ``refunds.request_refund``. Callers import the module
they need; this package re-exports nothing.
"""
