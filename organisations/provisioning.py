"""What sign-up's jobs do (``organisations.tasks``): create a verified sign-up's
organisation, and forget the sign-ups whose time ran out (``organisations.signups`` has
the rest of a sign-up's life)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from accounts.models import User
from organisations.services import create_organisation
from portal.emails import dear, send_after_commit
from portal.exceptions import DomainError
from portal.models import Organisation, SignUp
from portal.selectors import organisation_url
from subscriptions.models.catalogue import FREE_PLAN

logger = logging.getLogger(__name__)


def provision(sign_up_id: int) -> SignUp | None:
    """Create the organisation of a verified sign-up on a trial (or on Free when trials
    are off: ``SUBSCRIPTIONS_TRIAL_DAYS``), its primary contact with
    the chosen password, in one transaction with the sign-up's ``done``: a failure leaves
    no schema, domain or row of it, and the sign-up ``failed`` with the reason, to be
    retried. Idempotent: a sign-up that is not waiting for this is left alone."""
    with transaction.atomic():
        sign_up = SignUp.objects.select_for_update().filter(pk=sign_up_id).first()
        if sign_up is None or sign_up.state not in (
            SignUp.State.VERIFIED,
            SignUp.State.PROVISIONING,  # a worker stopped half-way: its work rolled back
        ):
            return sign_up
        sign_up.state = SignUp.State.PROVISIONING
        sign_up.attempts += 1
        sign_up.save(update_fields=["state", "attempts"])
    try:
        with transaction.atomic():
            sign_up = SignUp.objects.select_for_update().get(pk=sign_up_id)
            with translation.override(sign_up.language):
                new = create_organisation(
                    name=sign_up.organisation_name,
                    slug=sign_up.slug,
                    primary_contact_email=sign_up.email,
                    primary_contact_name=sign_up.full_name,
                    plan_code=FREE_PLAN,  # after the trial, if trials are on
                    trial=True,
                    for_sign_up=sign_up,
                )
            with tenant_context(new.organisation):
                User.objects.filter(pk=new.primary_contact.pk).update(password=sign_up.password)
            sign_up.state = SignUp.State.DONE
            sign_up.organisation = new.organisation
            sign_up.primary_contact_id = new.primary_contact.pk
            sign_up.done_at = timezone.now()
            sign_up.password = ""
            sign_up.failure = ""
            sign_up.save(
                update_fields=[
                    "state",
                    "organisation",
                    "primary_contact_id",
                    "done_at",
                    "password",
                    "failure",
                ]
            )
            _welcome(sign_up, new.organisation)
        return sign_up
    except Exception as error:  # recorded for the person (retry) and staff (admin)
        logger.exception("Creating the organisation of sign-up %s failed", sign_up_id)
        reason = str(error) if isinstance(error, DomainError) else type(error).__name__
        SignUp.objects.filter(pk=sign_up_id).update(state=SignUp.State.FAILED, failure=reason)
        return SignUp.objects.get(pk=sign_up_id)


def _welcome(sign_up: SignUp, organisation: Organisation) -> None:
    """The email that gives the new site's address (in the sign-up's language), sent once
    the site exists: the address is what people look for in their mailbox later."""
    with translation.override(sign_up.language):
        send_after_commit(
            "organisations/email/site_ready",
            [sign_up.email],
            {
                "organisation": organisation,
                "email": sign_up.email,
                "site": organisation_url(organisation),
                "login": organisation_url(organisation, "/accounts/login/"),
            },
            salutation=dear(sign_up.full_name),
        )


def expire_sign_ups(*, now: datetime | None = None) -> int:
    """Forget the sign-ups never verified within ``VERIFY_WITHIN``, which frees their
    addresses (a verified one is never forgotten here). Returns how many."""
    deleted, _ = SignUp.objects.filter(
        state=SignUp.State.PENDING, expires_at__lte=now or timezone.now()
    ).delete()
    return deleted
