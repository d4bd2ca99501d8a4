"""Factories for users in the public schema: the vendor's staff and, for the checks that
keep everyone else out, a plain user.

Organisations and their own users are not made here: they go through
``organisations.services.create_organisation`` and ``accounts.services.add_user``, which keep seat
limits and audit (see ``tests/conftest.py`` and ``tests/subscriptions/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory
from django.contrib.auth.models import Group, Permission
from factory.django import DjangoModelFactory

from accounts.models import User
from tests.conftest import PASSWORD


class UserFactory(DjangoModelFactory[User]):
    """A user who is not staff, made in the schema the connection is on (public, outside
    ``schema_context``) with a usable password.

    ``permissions=[codename, ...]`` grants the ``subscriptions`` app's permissions and
    ``groups=[name, ...]`` adds the user to existing groups ("Billing operations",
    "Support", made by a data migration); a name that matches nothing is an error.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True  # the hooks only add rows to many-to-many tables

    email = factory.Sequence(lambda n: f"user{n}@vendor.test")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        # The manager's way: the email normalised, the password hashed.
        return model_class.objects.create_user(*args, **kwargs)

    @classmethod
    def create(cls, **kwargs: Any) -> User:
        """The user loaded anew, as a request loads them: ``has_perm`` sees what the hooks
        granted, and nothing of the creation (a permission cache, the raw password) is
        carried along."""
        user = super().create(**kwargs)
        return User.objects.get(pk=user.pk)

    @factory.post_generation
    def permissions(
        user: User, create: bool, extracted: Iterable[str] | None, **kwargs: Any
    ) -> None:
        if not create or not extracted:
            return
        codenames = set(extracted)
        found = list(
            Permission.objects.filter(
                content_type__app_label="subscriptions", codename__in=codenames
            )
        )
        missing = codenames - {permission.codename for permission in found}
        if missing:
            raise LookupError(f"No subscriptions permission {sorted(missing)}")
        user.user_permissions.add(*found)

    @factory.post_generation
    def groups(user: User, create: bool, extracted: Iterable[str] | None, **kwargs: Any) -> None:
        if not create or not extracted:
            return
        names = set(extracted)
        found = list(Group.objects.filter(name__in=names))
        missing = names - {group.name for group in found}
        if missing:
            raise LookupError(f"No group {sorted(missing)}")
        user.groups.add(*found)


class StaffFactory(UserFactory):
    """A vendor staff member: signs in to the admin on the public site, with only the
    permissions and groups given. ``superuser=True`` makes one who needs none."""

    class Meta:
        model = User

    class Params:
        superuser = factory.Trait(is_superuser=True)

    email = factory.Sequence(lambda n: f"staff{n}@vendor.test")
    is_staff = True
