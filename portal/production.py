"""Starting the production server: what it needs, and the preflight that refuses to start
without it.

With DEBUG off, the web server needs a secret key (DJANGO_SECRET_KEY), a cache every process
shares (REDIS_URL: sign-in rate limits, the host and entitlement caches), a mail server that
really sends (EMAIL_URL, not ``console://`` or ``locmem://``), a payment gateway that takes
money (SUBSCRIPTIONS_PAYMENT_GATEWAY, not the record-only one) and the real date
(PORTAL_TEST_CLOCKS off), unless SUBSCRIPTIONS_DEMO says the deployment is a demo.
``unmet_needs`` is the one home of that rule: the deploy check (``portal.checks``) reports
it, and the preflight refuses to start the server with it.

The preflight, ``python -m portal.production``, is what gunicorn's ``on_starting`` hook
(``portal/gunicorn.conf.py``, so ``make serve``) runs before any worker starts, in a process
of its own (the master never loads Django: workers load it after the fork). It exits
non-zero with one message naming every need unmet; then runs the deploy checks (errors
stop it, warnings are printed) and collects the static files that WhiteNoise serves.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string

# Backends that keep what they hold to the process (or to nobody): not a shared cache, not a
# mail server.
LOCAL_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)
UNSENT_EMAIL = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)
# Only the preflight's own process ever loads the settings with it, to tell what else is
# missing; that process then exits without serving anything.
STAND_IN_SECRET_KEY = "preflight-stand-in-never-served-with"


@dataclass(frozen=True)
class Need:
    """A variable production needs, what it should hold (and what it holds now, where that
    helps); ``check_id`` is its deploy check's id (``None`` for the secret key: without it
    the settings do not load, so no check runs)."""

    variable: str
    wanted: str
    check_id: str | None = None

    def __str__(self) -> str:
        return f"{self.variable}: {self.wanted}"


SECRET_KEY = Need(
    "DJANGO_SECRET_KEY",
    "a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')",
)


def unmet_needs() -> list[Need]:
    """What the loaded settings lack of a production server's needs (nothing while DEBUG is
    on). The secret key is not among them: the settings refuse to load without it."""
    if settings.DEBUG:
        return []
    unmet = []
    if any(cache["BACKEND"] in LOCAL_CACHES for cache in settings.CACHES.values()):
        unmet.append(
            Need(
                "REDIS_URL",
                "a cache every process shares (sign-in rate limits, the host and entitlement "
                "caches), e.g. redis://host:6379/0; each process now has its own",
                "portal.E001",
            )
        )
    if settings.EMAIL_BACKEND in UNSENT_EMAIL:
        unmet.append(
            Need(
                "EMAIL_URL",
                "a mail server, e.g. smtp://user:password@host:587?tls=1; emails are now "
                "printed or kept in memory, not sent",
                "portal.E002",
            )
        )
    if (payments := _payment_gateway_need()) is not None:
        unmet.append(payments)
    if settings.PORTAL_TEST_CLOCKS and not settings.SUBSCRIPTIONS_DEMO:
        unmet.append(
            Need(
                "PORTAL_TEST_CLOCKS",
                "0: test clocks move organisations' days (portal/clock.py); a production "
                "server bills by the real date (a demo or staging says so with "
                "SUBSCRIPTIONS_DEMO=1)",
                "portal.E006",
            )
        )
    return unmet


def _payment_gateway_need() -> Need | None:
    """A gateway that can be imported and takes money (``takes_money = False`` says it
    takes none: subscriptions/payments.py), with the settings it says it lacks
    (``unmet()``: Stripe's secret key)."""
    path = settings.SUBSCRIPTIONS_PAYMENT_GATEWAY
    try:
        gateway = import_string(path)
    except ImportError as error:
        wanted = f"a gateway that can be imported; {path!r} cannot: {error}"
        return Need("SUBSCRIPTIONS_PAYMENT_GATEWAY", wanted, "portal.E003")
    if not getattr(gateway, "takes_money", True) and not settings.SUBSCRIPTIONS_DEMO:
        wanted = (
            "your payment processor's gateway (Stripe: "
            "subscriptions.stripe_gateway.StripeGateway; subscriptions/payments.py); the "
            "record-only one takes no money (a demo says so with SUBSCRIPTIONS_DEMO=1)"
        )
        return Need("SUBSCRIPTIONS_PAYMENT_GATEWAY", wanted, "portal.E003")
    unmet = getattr(gateway, "unmet", None)
    lacking = unmet() if callable(unmet) else None
    if not lacking:
        return None
    variable, wanted = lacking
    return Need(variable, wanted, "portal.E003")


def refusal(needs: list[Need]) -> str:
    """The one message the preflight prints when ``needs`` are unmet."""
    lines = "\n".join(f"  - {need}" for need in needs)
    return (
        "The production server will not start (DJANGO_DEBUG is off). Set:\n"
        f"{lines}\n"
        'See README.md, "Production".'
    )


def _load_settings() -> list[Need]:
    """Load Django; ``[SECRET_KEY]`` if that needed the stand-in key."""
    try:
        django.setup()
        return []
    except ImproperlyConfigured:
        if os.environ.get("DJANGO_SECRET_KEY", "").strip():
            raise  # another refusal of the settings, told as it is
    os.environ["DJANGO_SECRET_KEY"] = STAND_IN_SECRET_KEY
    django.setup()
    return [SECRET_KEY]


def preflight() -> int:
    """Refuse (non-zero, one message) while a need is unmet; else run the deploy checks and
    collect the static files. Returns the exit status."""
    try:
        needs = _load_settings()
    except ImproperlyConfigured as error:
        print(f"The production server will not start: {error}", file=sys.stderr)
        return 2
    needs += unmet_needs()
    if needs:
        print(refusal(needs), file=sys.stderr)
        return 2
    try:
        call_command("check", deploy=True)
    except CommandError as error:  # SystemCheckError: its message lists the errors
        print(error, file=sys.stderr)
        return 1
    call_command("collectstatic", interactive=False, verbosity=0)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.exit(preflight())
