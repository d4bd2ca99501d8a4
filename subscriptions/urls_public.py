"""The subscriptions app's URLs on the public site: the payment provider's webhook."""

from django.urls import path

from subscriptions.views import webhooks

urlpatterns = [
    path("webhooks/stripe/", webhooks.stripe_webhook, name="stripe_webhook"),
]
