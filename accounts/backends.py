"""The sign-in backends: Django's (the vendor's admin) and allauth's (organisations' sites),
as shipped but for one thing: the signed-in user, which every page reads, is read with a
prepared query (portal/db/prepared.py), Django compiling its SQL once per process rather
than on every request (about 0.5 ms of CPU on every page, measured: docs/performance.md)."""

from __future__ import annotations

from typing import Any

from allauth.account import auth_backends
from django.contrib.auth import backends

from accounts.models import User
from portal.db.prepared import Prepared

_USER = Prepared(lambda pk: User.objects.filter(pk=pk))


class _PreparedUser:
    def get_user(self, user_id: Any) -> User | None:
        """The active user ``user_id``, as Django's ``ModelBackend.get_user`` finds them."""
        try:
            user = _USER.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_PreparedUser, backends.ModelBackend):
    pass


class AuthenticationBackend(_PreparedUser, auth_backends.AuthenticationBackend):
    pass
