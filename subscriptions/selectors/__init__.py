"""Reads about subscriptions, one module per subject:

- ``entitlements``: what an organisation may use now (the hot path every page takes),
  what it would have on another plan, and how many objects it has against its limits;
- ``previews``: what a plan change would do (its preview, and the Store's offers);
- ``periods``: billing periods, list prices and the next bill;
- ``catalogue``: plans, features, prices and the allowed transitions;
- ``ledger`` and ``invoices``: the money that moved, and its invoices;
- ``store``: what the Store shows an organisation (history, refunds, activity);
- ``backoffice``: what the vendor's staff and operators read across organisations
  (overview, insight, audit export).

Callers import the module they need; this package re-exports nothing.
"""
