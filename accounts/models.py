"""Users and departments. Both tables exist in every organisation's schema (its own
people and departments) and in the public schema (vendor staff; no departments used)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


EMAIL_MAX_LENGTH = 254  # RFC 5321's limit for a path, Django's default for an email field


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    In an organisation's schema the role flags say what they may do (see
    ``accounts.selectors``); a user with none of them is an agent. Deactivated users
    keep all their data and cannot sign in.
    """

    email = models.EmailField(_("email address"), max_length=EMAIL_MAX_LENGTH, unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_primary_contact = models.BooleanField(
        _("primary contact"),
        default=False,
        help_text=_("The organisation's main contact. Exactly one active user has this role."),
    )
    is_super_admin = models.BooleanField(
        _("super admin"),
        default=False,
        help_text=_("May manage users, roles and the subscription."),
    )
    is_administrator = models.BooleanField(
        _("administrator"), default=False, help_text=_("May manage users and departments.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("vendor staff"), default=False, help_text=_("May sign in to the vendor's admin site.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Raised when the user is deactivated: it is part of every session's hash, so the
    # sessions they had end, and a reactivation does not bring them back.
    session_epoch = models.IntegerField(_("sessions ended"), default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            # At most one primary contact; services keep it at exactly one.
            models.UniqueConstraint(
                fields=["is_primary_contact"],
                condition=models.Q(is_primary_contact=True),
                name="accounts_user_one_primary_contact",
            ),
            models.CheckConstraint(
                condition=models.Q(is_primary_contact=False) | models.Q(is_active=True),
                name="accounts_user_primary_contact_active",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, which a session must match (a new password ends
        the others), with the ``session_epoch``: ending a user's sessions raises it."""
        return self._session_hash(None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret)

    def _session_hash(self, secret: str | bytes | None) -> str:
        if not self.session_epoch:  # as Django makes it: sessions from before stay valid
            return str(super()._get_session_auth_hash(secret=secret))  # type: ignore[misc]
        return salted_hmac(
            "accounts.models.User.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Department(models.Model):
    """A team within an organisation. Created in order; the oldest come first."""

    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="accounts_department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
