"""Authentication backends."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


class OrganisationAuthenticationBackend(AuthenticationBackend):
    """allauth's email backend, on organisation sites only: allauth's tables exist only
    in organisation schemas; the public site's staff sign in with ModelBackend."""

    def authenticate(
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        if connection.schema_name == get_public_schema_name():  # type: ignore[attr-defined]
            return None
        return super().authenticate(request, **credentials)
