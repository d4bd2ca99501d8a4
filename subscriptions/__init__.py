"""Plans, subscriptions, plan changes, refunds, the ledger and invoices: the Store, the
back office and the billing run."""
