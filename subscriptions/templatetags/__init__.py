"""The subscriptions template library (``{% load subscriptions %}``)."""
