"""What has no reason to be kept is forgotten daily (organisations/retention.py): a done
sign-up's IP address after 90 days, expired data exports; nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from organisations import exports, retention
from organisations.models import DataExport
from portal.models import SignUp
from tests.conftest import Site

pytestmark = pytest.mark.django_db


def _sign_up(slug: str, state: str, done_days_ago: int | None) -> SignUp:
    done_at = timezone.now() - timedelta(days=done_days_ago) if done_days_ago else None
    return SignUp.objects.create(
        organisation_name=slug.title(),
        slug=slug,
        email=f"{slug}@example.test",
        language="ja",
        ip_address="203.0.113.7",
        state=state,
        verification_key=f"key-{slug}",
        done_at=done_at,
    )


def test_done_sign_ups_forget_their_ip_address_after_ninety_days(northwind: Site) -> None:
    old = _sign_up("old", SignUp.State.DONE, 91)
    recent = _sign_up("recent", SignUp.State.DONE, 89)
    pending = _sign_up("pending", SignUp.State.PENDING, None)
    export = exports.request_export(northwind.organisation, acting_user=None)
    exports.build(export.pk)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())

    forgotten = retention.forget()
    assert (forgotten.sign_up_addresses, forgotten.exports) == (1, 1)
    addresses = dict(SignUp.objects.values_list("slug", "ip_address"))
    assert addresses == {"old": None, "recent": "203.0.113.7", "pending": "203.0.113.7"}
    assert DataExport.objects.get(pk=export.pk).archive is None
    assert retention.forget() == retention.Forgotten(0, 0, [])  # a second run finds nothing
    assert {old.slug, recent.slug, pending.slug} <= set(
        SignUp.objects.values_list("slug", flat=True)
    )
