"""Which organisation a host name reaches, cached: a request to an organisation's site
resolves its tenant with no query once the cache is warm (issue 11). The shared cache
(``REDIS_URL``) makes that hold across processes.

What is cached is the organisation alone (its id, name, address and schema): it changes
only when the organisation or its host names do, and every such save or delete forgets it
(the receivers below). Its subscription and plan, which change with every plan change,
renewal and seat, are read when a page needs them
(``subscriptions.selectors.entitlements.subscription_of``). Unknown hosts are not cached:
an organisation created a moment later is reachable at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.models import Domain, Organisation

# The organisation's fields are part of the key: after a deploy that changes them, rows
# cached by the previous release are not read back into the new model.
KEY = "organisation:{fields}:{host}"
FIELDS = hashlib.sha1(
    ",".join(field.attname for field in Organisation._meta.concrete_fields).encode()
).hexdigest()[:8]


def _cache() -> BaseCache:
    """The ``hosts`` cache: its keys do not carry the connection's schema."""
    return caches["hosts"]


def _key(host: str) -> str:
    return KEY.format(fields=FIELDS, host=host)


def organisation_for_host(host: str) -> Organisation | None:
    """The organisation whose site ``host`` is, or None: no query when cached, else one."""
    organisation: Organisation | None = _cache().get(_key(host))
    if organisation is not None:
        return organisation
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    if domain is None:
        return None
    organisation = domain.tenant
    _cache().set(_key(host), organisation, settings.PORTAL_HOST_CACHE_SECONDS)
    return organisation


@receiver(post_save, sender=Organisation)
@receiver(post_delete, sender=Organisation)
def _organisation_saved(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    forget_organisation(instance.pk)


@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _domain_saved(sender: Any, instance: Domain, **kwargs: Any) -> None:
    forget_host(instance.domain)


def forget_organisation(organisation_id: int) -> None:
    """Drop the cached host names of an organisation that changed (after its transaction
    commits, so that no request caches the old row again in between)."""

    def forget() -> None:
        hosts = Domain.objects.filter(tenant_id=organisation_id).values_list("domain", flat=True)
        _cache().delete_many([_key(host) for host in hosts])

    transaction.on_commit(forget)


def forget_host(host: str) -> None:
    """Drop one host name (a domain added, changed or removed), after commit."""
    transaction.on_commit(lambda: _cache().delete(_key(host)))
