"""The top floor: creating an organisation on accounts and subscriptions, self-service
sign-up, the demo and the organisations' admin pages."""
