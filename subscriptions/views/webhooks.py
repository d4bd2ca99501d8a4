"""The payment provider's webhook, on the public site (``/webhooks/stripe/``): an event whose
signature does not verify is refused (400) and nothing is kept; a verified one is kept once
by its id and its processing queued in the same transaction (a replay: 200, nothing new)."""

from __future__ import annotations

import json

import stripe
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.queue import defer_with_transaction
from subscriptions.services import payment_events
from subscriptions.tasks import process_payment_event


@csrf_exempt  # the provider signs its requests instead
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise Http404("No webhook is configured.")
    try:
        stripe.Webhook.construct_event(
            request.body.decode("utf-8"), request.headers.get("Stripe-Signature", ""), secret
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("The signature does not verify.")
    with transaction.atomic():
        stored = payment_events.receive(json.loads(request.body))
        if stored is not None:
            defer_with_transaction(process_payment_event, event_id=stored.event_id)
    return HttpResponse("ok")
