"""Self-service sign-up on the public site: the form's details are kept as a ``SignUp``
until the email address is verified, then a job creates the organisation on Free and the
person lands signed in on the new site as its primary contact.

pending ──verify──▶ verified ──job──▶ provisioning ──▶ done
   │                    ▲                  │
   └─ lapses            └──── retry ─── failed (nothing of the organisation is left)

The links carry random keys; only their SHA-256 digests are stored. An unverified sign-up
holds nothing (anyone may start one for the same address, without a mailbox behind it) and
is forgotten after ``VERIFY_WITHIN``; the first to verify gets the address, and holds it
until its site exists (or staff delete it), whatever happens on the way (a database
constraint): the person proved the address theirs.

The sign-in to the new site is a one-time key, issued once, within ``WELCOME_ISSUE_WITHIN``
of the site's creation, to the browser that verified; it signs in only the user the sign-up
created, and only while they are the organisation's active primary contact. A browser is
tied to a sign-up only by a POST with the emailed key (a link opened, even by a mail
scanner, ties nothing).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.models import User
from accounts.services import normalise_email
from organisations.exceptions import (
    SignUpAddressGone,
    SignUpLinkInvalid,
    SignUpNotRetryable,
    SignUpWelcomeSpent,
)
from organisations.services import address_refusal
from organisations.tasks import provision_sign_up
from portal import names
from portal.emails import dear, send_after_commit
from portal.exceptions import InvalidOrganisationName
from portal.models import Organisation, SignUp
from portal.queue import defer_with_transaction
from portal.selectors import public_url
from subscriptions.services.guards import require_staff

logger = logging.getLogger(__name__)

VERIFY_WITHIN = timedelta(hours=24)
VERIFY_HOURS = int(VERIFY_WITHIN.total_seconds() // 3600)  # as the email and pages say it
# The one-time sign-in link from the progress page to the new site: issued at most once, and
# only this soon after the site was created (the progress page moves on within seconds);
# later, the person signs in with their password like everyone else.
WELCOME_WITHIN = timedelta(minutes=5)
WELCOME_ISSUE_WITHIN = timedelta(minutes=10)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_sign_up(
    *,
    organisation_name: str,
    slug: str,
    full_name: str,
    email: str,
    password: str,
    ip_address: str | None,
    terms_accepted: str = "",
) -> SignUp:
    """Keep the details (the password hashed) and email a verification link, valid for
    ``VERIFY_WITHIN``, in the active language. An earlier unverified sign-up with the same
    email address is replaced (its link stops working). Raises ``InvalidOrganisation``
    (with the reason) when the address cannot be had now; it is held only once verified."""
    clean_name = names.tidy(organisation_name)
    if not names.is_acceptable(clean_name, max_length=100):
        raise InvalidOrganisationName()
    clean_slug = (slug or "").strip().lower()
    address = normalise_email(email)
    now = timezone.now()
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        SignUp.objects.filter(email=address, state=SignUp.State.PENDING).delete()
        refusal = address_refusal(clean_slug)
        if refusal is not None:
            raise refusal
        sign_up = SignUp.objects.create(
            organisation_name=clean_name,
            slug=clean_slug,
            full_name=names.tidy(full_name)[:150],
            email=address,
            password=make_password(password),
            language=translation.get_language() or settings.LANGUAGE_CODE,
            ip_address=ip_address,
            terms_accepted=terms_accepted,
            terms_accepted_at=now if terms_accepted else None,
            verification_key=digest(key),
            expires_at=now + VERIFY_WITHIN,
        )
        send_after_commit(
            "organisations/email/verify_sign_up",
            [address],
            {
                "sign_up": sign_up,
                "link": public_url(f"/signup/verify/{key}/"),
                "hours": VERIFY_HOURS,
            },
            salutation=dear(sign_up.full_name),
        )
    return sign_up


def sign_up_of_link(key: str) -> SignUp:
    """The sign-up a verification link names, whatever its state, unless it lapsed
    unverified. Raises ``SignUpLinkInvalid``."""
    sign_up = SignUp.objects.filter(verification_key=digest(key)).first()
    if sign_up is None:
        raise SignUpLinkInvalid()
    lapsed = sign_up.expires_at is not None and sign_up.expires_at <= timezone.now()
    if sign_up.state == SignUp.State.PENDING and lapsed:
        raise SignUpLinkInvalid()
    return sign_up


def verify_sign_up(key: str) -> SignUp:
    """The email address is the person's: the sign-up takes its address and queues the
    organisation's creation (at most once: a second verification changes nothing). Raises
    ``SignUpAddressGone`` when someone else's verified sign-up or organisation took the
    address meanwhile (the sign-up is left to lapse)."""
    with transaction.atomic():
        sign_up = sign_up_of_link(key)
        sign_up = SignUp.objects.select_for_update().get(pk=sign_up.pk)
        if sign_up.state != SignUp.State.PENDING:
            return sign_up
        if address_refusal(sign_up.slug, for_sign_up=sign_up) is not None:
            raise SignUpAddressGone(slug=sign_up.slug)
        now = timezone.now()
        sign_up.state = SignUp.State.VERIFIED
        sign_up.verified_at = now
        sign_up.expires_at = None  # verified: kept until its site exists
        try:
            with transaction.atomic():
                sign_up.save(update_fields=["state", "verified_at", "expires_at"])
        except IntegrityError:  # another sign-up verified the same address just now
            raise SignUpAddressGone(slug=sign_up.slug) from None
        _queue_provisioning(sign_up)
    return sign_up


def _queue_provisioning(sign_up: SignUp) -> None:
    defer_with_transaction(provision_sign_up, sign_up_id=sign_up.pk)


def retry(sign_up: SignUp, *, acting_user: User | None) -> SignUp:
    """Queue a failed sign-up's provisioning again: by the person who verified it
    (``acting_user`` None) or staff with ``portal.change_signup``."""
    require_staff(acting_user, "portal.change_signup")
    with transaction.atomic():
        locked = SignUp.objects.select_for_update().get(pk=sign_up.pk)
        if locked.state != SignUp.State.FAILED:
            raise SignUpNotRetryable()
        locked.state = SignUp.State.VERIFIED
        locked.save(update_fields=["state"])
        _queue_provisioning(locked)
    return locked


def welcome_key(sign_up: SignUp) -> str:
    """The one-time key that signs the person in on the new site for ``WELCOME_WITHIN``:
    issued once, and only within ``WELCOME_ISSUE_WITHIN`` of the site's creation. Raises
    ``SignUpWelcomeSpent`` otherwise (the person signs in with their password)."""
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    issued = SignUp.objects.filter(
        pk=sign_up.pk,
        state=SignUp.State.DONE,
        welcome_issued_at__isnull=True,
        done_at__gt=now - WELCOME_ISSUE_WITHIN,
    ).update(
        welcome_key=digest(key), welcome_expires_at=now + WELCOME_WITHIN, welcome_issued_at=now
    )
    if not issued:
        raise SignUpWelcomeSpent()
    return key


def redeem_welcome_key(organisation: Organisation, key: str) -> User:
    """The user whom ``organisation``'s sign-up created (the connection on its schema), if
    ``key`` is that sign-up's live welcome key (now spent) and the user is still the
    organisation's active primary contact. Raises ``SignUpLinkInvalid``."""
    with transaction.atomic():
        sign_up = (
            SignUp.objects.select_for_update()
            .filter(
                organisation=organisation,
                state=SignUp.State.DONE,
                welcome_key=digest(key),
                welcome_expires_at__gt=timezone.now(),
            )
            .first()
        )
        if sign_up is None:
            raise SignUpLinkInvalid()
        SignUp.objects.filter(pk=sign_up.pk).update(welcome_key="", welcome_expires_at=None)
    user = (
        User.objects.filter(
            pk=sign_up.primary_contact_id, is_primary_contact=True, is_active=True
        ).first()
        if sign_up.primary_contact_id is not None
        else None
    )
    if user is None:
        raise SignUpLinkInvalid()
    return user
