"""System checks of the subscriptions' settings, run by ``manage.py check`` (those
registered with ``deploy=True`` only by ``check --deploy``). Each check is a function here,
registered by its decorator; ``SubscriptionsConfig.ready`` imports this module. Ids:
``subscriptions.E0xx`` for errors, ``subscriptions.W0xx`` for warnings, never reused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

TAG = "subscriptions"


@register(TAG, deploy=True)
def check_payment_gateway(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The configured gateway can be loaded, and in production it is not the one that
    takes no money (a demo may keep it: the warning says what it means)."""
    path = settings.SUBSCRIPTIONS_PAYMENT_GATEWAY
    try:
        gateway = import_string(path)
    except ImportError as error:
        return [
            CheckError(
                f"SUBSCRIPTIONS_PAYMENT_GATEWAY {path!r} cannot be imported: {error}",
                hint="Give the dotted path of a class with a charge method "
                "(see subscriptions/payments.py).",
                id="subscriptions.E001",
            )
        ]
    if not settings.DEBUG and not getattr(gateway, "takes_money", True):
        return [
            CheckWarning(
                "SUBSCRIPTIONS_PAYMENT_GATEWAY is the record-only gateway with DEBUG off: "
                "upgrades are applied and recorded, but no money is taken.",
                hint="Set SUBSCRIPTIONS_PAYMENT_GATEWAY to a gateway for your payment "
                "processor (the contract is in subscriptions/payments.py), unless this "
                "deployment is a demo.",
                id="subscriptions.W001",
            )
        ]
    return []


@register(TAG, deploy=True)
def check_invoice_registration_number(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """JPY invoices are qualified invoices only with the seller's registration number."""
    if settings.DEBUG or settings.PORTAL_INVOICE_REGISTRATION_NUMBER:
        return []
    return [
        CheckWarning(
            "PORTAL_INVOICE_REGISTRATION_NUMBER is not set: JPY invoices are issued without "
            "the seller's qualified-invoice registration number.",
            hint="Set it to the number the tax office gave (T and 13 digits).",
            id="subscriptions.W002",
        )
    ]


@register(TAG, deploy=True)
def check_truncate_stays_refused(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """PORTAL_ALLOW_TRUNCATE is for the test suite's flush only."""
    if settings.DEBUG or not settings.PORTAL_ALLOW_TRUNCATE:
        return []
    return [
        CheckError(
            "PORTAL_ALLOW_TRUNCATE is on with DEBUG off: the audit log, the ledger and the "
            "invoices could be emptied.",
            hint="Unset PORTAL_ALLOW_TRUNCATE; only the test suite sets it.",
            id="subscriptions.E002",
        )
    ]
