"""Plan catalogue, subscriptions, plan changes, refunds and audit: arrive with the
subscriptions-core issue. The app is registered now so its tables land in the public
schema from the first migration on."""
