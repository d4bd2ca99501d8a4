"""What has no reason to be kept is forgotten (APPI, GDPR), daily: the IP addresses of
sign-ups done more than ``PORTAL_SIGN_UP_IP_DAYS`` ago (kept meanwhile against abuse), the
data exports whose link expired, and the closed organisations whose grace period ended
(``deletion.delete_due``, which also resumes a deletion stopped halfway). Invoices, return
invoices and ledger lines are kept: the law asks for seven years, and nothing here touches
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from organisations import deletion, exports
from portal.models import SignUp


@dataclass(frozen=True)
class Forgotten:
    sign_up_addresses: int
    exports: int
    organisations: list[str]  # the addresses of the organisations deleted


def forget() -> Forgotten:
    """Forget what has no reason to be kept any more; says how much."""
    before = timezone.now() - timedelta(days=settings.PORTAL_SIGN_UP_IP_DAYS)
    addresses = SignUp.objects.filter(
        state=SignUp.State.DONE, done_at__lt=before, ip_address__isnull=False
    ).update(ip_address=None)
    return Forgotten(
        sign_up_addresses=addresses,
        exports=exports.forget_expired(),
        organisations=deletion.delete_due(),
    )
