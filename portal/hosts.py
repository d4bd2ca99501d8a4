"""Which organisation a host name reaches, cached: a request to an organisation's site
resolves its tenant with no query once the cache is warm (issue 11).

Two layers. The shared cache (alias ``hosts``; Redis with ``REDIS_URL``) holds, per host
name, the organisation's field values for ``PORTAL_HOST_CACHE_SECONDS``; every save or
delete of an organisation or a domain forgets them there (the receivers below, after
commit), so every process reads the change on its next miss. In front of it each process
keeps what it read for ``PORTAL_HOST_LOCAL_SECONDS`` (default 5): that spares a request
the shared cache's round trip (a bare view on an organisation's site then costs what it
costs on the public site), and is why another process's change reaches this one within
those seconds rather than at once. The process that saves forgets its own copy at once.
0 turns the local layer off. It holds at most ``PORTAL_HOST_LOCAL_MAX`` host names, the
least recently used going first.

What is cached is the organisation alone (its id, name, address and schema): it changes
only when the organisation or its host names do. Its subscription and plan, which change
with every plan change, renewal and seat, are read when a page needs them
(``subscriptions.selectors.entitlements.subscription_of``). Unknown hosts are not cached:
an organisation created a moment later is reachable at once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from portal.db.prepared import Prepared
from portal.models import Domain, Organisation

# The field values, not the pickled instance: a tuple unpickles in a third of the time,
# and ``from_db`` builds a fresh instance for each request (nothing one request caches on
# it reaches another). The field names are part of the key: after a deploy that changes
# them, values cached by the previous release are not read into the new model.
FIELDS = tuple(field.attname for field in Organisation._meta.concrete_fields)
KEY = "organisation:{fields}:{host}".format(
    fields=hashlib.sha1(",".join(FIELDS).encode()).hexdigest()[:8], host="{host}"
)

# This process's layer: host -> (read until, on ``seconds()``'s clock; field values), the
# most recently used last; at most ``PORTAL_HOST_LOCAL_MAX`` hosts (the least recently used
# goes): with traffic spread over 10,000 organisations it would otherwise hold them all.
_local: OrderedDict[str, tuple[float, tuple[Any, ...]]] = OrderedDict()


# With traffic spread over many organisations, most requests miss both layers: the
# query's SQL is built once (portal/db/prepared.py).
_BY_HOST = Prepared(lambda host: Organisation.objects.filter(domains__domain=host))


def seconds() -> float:
    """The clock of this process's layer (monotonic; a test moves it instead of sleeping)."""
    return time.monotonic()


def _cache() -> BaseCache:
    """The ``hosts`` cache: its keys do not carry the connection's schema."""
    return caches["hosts"]


def organisation_for_host(host: str) -> Organisation | None:
    """The organisation whose site ``host`` is, or None: no query when cached, else one."""
    now = seconds()
    local = _local.get(host)
    if local is not None and local[0] > now:
        _local.move_to_end(host)
        return Organisation.from_db(DEFAULT_DB_ALIAS, FIELDS, local[1])
    key = KEY.format(host=host)
    values = _cache().get(key)
    if values is None:
        found = _BY_HOST.all(host=host)  # one at most: a domain name is unique
        if not found:
            return None
        values = tuple(getattr(found[0], name) for name in FIELDS)
        _cache().set(key, values, settings.PORTAL_HOST_CACHE_SECONDS)
    if settings.PORTAL_HOST_LOCAL_SECONDS > 0:
        _local[host] = (now + settings.PORTAL_HOST_LOCAL_SECONDS, values)
        _local.move_to_end(host)
        while len(_local) > settings.PORTAL_HOST_LOCAL_MAX:
            _local.popitem(last=False)
    return Organisation.from_db(DEFAULT_DB_ALIAS, FIELDS, values)


def forget_all() -> None:
    """Forget every host name, in both layers (tests; an operator's shell)."""
    _local.clear()
    _cache().clear()


@receiver(post_save, sender=Organisation)
@receiver(post_delete, sender=Organisation)
def _organisation_saved(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    forget_organisation(instance.pk)


@receiver(pre_save, sender=Domain)
def _domain_renamed(sender: Any, instance: Domain, **kwargs: Any) -> None:
    """A domain whose name changes: the old name must stop reaching the organisation."""
    if instance.pk is None:
        return
    old = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()
    if old is not None and old != instance.domain:
        forget_host(old)


@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _domain_saved(sender: Any, instance: Domain, **kwargs: Any) -> None:
    forget_host(instance.domain)


def forget_organisation(organisation_id: int) -> None:
    """Drop the cached host names of an organisation that changed (after its transaction
    commits, so that no request caches the old row again in between)."""

    def forget() -> None:
        hosts = Domain.objects.filter(tenant_id=organisation_id).values_list("domain", flat=True)
        _forget(list(hosts))

    transaction.on_commit(forget)


def forget_host(host: str) -> None:
    """Drop one host name (a domain added, changed or removed), after commit."""
    transaction.on_commit(lambda: _forget([host]))


def _forget(hosts: list[str]) -> None:
    for host in hosts:
        _local.pop(host, None)
    _cache().delete_many([KEY.format(host=host) for host in hosts])
