"""Who may do what, and the reads the pages share. Every permission rule about users
lives here once; views, templates, services and commands call these."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeGuard

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Department, User
from portal.db.prepared import Prepared


def _is_active_user(user: object) -> TypeGuard[User]:
    """A signed-in, active user (not anonymous, not None)."""
    return isinstance(user, User) and user.is_authenticated and user.is_active


def has_full_control(user: object) -> bool:
    """The primary contact or a super admin (特権管理者): may grant or remove super
    admin, transfer the primary contact role and manage the subscription."""
    return _is_active_user(user) and bool(user.is_primary_contact or user.is_super_admin)


def can_manage_subscription(user: object) -> bool:
    """Only the primary contact or a super admin may change the plan."""
    return has_full_control(user)


def can_manage_users(user: object) -> bool:
    """Administrators and above may list, invite, (de)activate users and edit roles."""
    return has_full_control(user) or (_is_active_user(user) and bool(user.is_administrator))


def can_manage_departments(user: object) -> bool:
    """Administrators and above may create and rename departments."""
    return can_manage_users(user)


def can_edit_user(actor: object, user: User) -> bool:
    """Administrators may edit agents and administrators; a super admin or the
    primary contact is edited only by the primary contact or a super admin."""
    if not can_manage_users(actor):
        return False
    if user.is_super_admin or user.is_primary_contact:
        return has_full_control(actor)
    return True


def role_labels(user: User) -> list[str]:
    """The user's roles, highest first, in the active language."""
    labels = []
    if user.is_primary_contact:
        labels.append(_("Primary contact"))
    if user.is_super_admin:
        labels.append(_("Super admin"))
    if user.is_administrator:
        labels.append(_("Administrator"))
    return labels or [_("Agent")]


def initials(user: Any) -> str:
    """One or two letters for the avatar: from the name, else from the email. A Japanese
    name (family name first, 佐藤 花子) gives its family name's first character (佐), as
    Japanese avatars do; a Latin one its first and last initials (Ayako Sato: AS)."""
    name = (getattr(user, "full_name", "") or "").strip()
    if name:
        words = name.split()
        if _is_japanese(words[0][0]):
            return words[0][0]
        letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    else:
        letters = (getattr(user, "email", "") or "?")[0]
    return letters.upper()


def _is_japanese(character: str) -> bool:
    """Kana or kanji (CJK unified ideographs)."""
    return "\u3040" <= character <= "\u30ff" or "\u4e00" <= character <= "\u9fff"


def list_users() -> QuerySet[User]:
    """Everyone in the current organisation: active first, then by name and email."""
    return User.objects.order_by("-is_active", "full_name", "email")


def seat_holders() -> QuerySet[User]:
    """The current organisation's users who hold a seat: the active ones, whatever
    their role. Every count of seats in use starts here."""
    return User.objects.filter(is_active=True)


def list_active_users() -> QuerySet[User]:
    """Who can sign in now, the primary contact first (to choose who keeps a seat)."""
    return seat_holders().order_by("-is_primary_contact", "full_name", "email")


def count_active_users() -> int:
    """How many seats the current organisation's users hold."""
    return seat_holders().count()


def count_departments() -> int:
    """All of the organisation's departments, hidden ones included."""
    return Department.objects.count()


@dataclass(frozen=True)
class Departments:
    """The organisation's departments as its plan shows them: the oldest ``limit`` are
    visible, the rest hidden (their rows untouched)."""

    visible: list[Department]
    total: int
    limit: int | None

    @property
    def hidden_count(self) -> int:
        return self.total - len(self.visible)

    @property
    def has_room(self) -> bool:
        """Whether the plan allows one more department."""
        return self.limit is None or self.total < self.limit


def departments_under_limit(limit: int | None) -> Departments:
    """The current organisation's departments under the plan's limit: one query (the
    oldest ``limit`` and one more, to know whether any is hidden), two when some are."""
    oldest = _oldest_departments(None if limit is None else limit + 1).all()
    if limit is None or len(oldest) <= limit:
        return Departments(oldest, len(oldest), limit)
    return Departments(oldest[:limit], count_departments(), limit)


def list_departments(limit: int | None = None) -> QuerySet[Department]:
    """The current organisation's departments, oldest first; with ``limit`` only the
    oldest ``limit``: those past the plan's limit are hidden (their rows untouched)."""
    departments = Department.objects.order_by("created_at", "id")
    return departments if limit is None else departments[:limit]


@lru_cache(maxsize=64)  # one per limit in use, the catalogue's and overrides'
def _oldest_departments(count: int | None) -> Prepared[Department]:
    """``list_departments(count)``, its SQL built once (portal/db/prepared.py): every
    dashboard reads it."""
    return Prepared(lambda: list_departments(count))


def hidden_departments(limit: int | None) -> list[Department]:
    """The departments a limit of ``limit`` hides: those past the oldest ``limit``, as
    ``list_departments`` shows them; none without a limit (one query, only with one)."""
    return [] if limit is None else list(list_departments()[limit:])


def set_password_path(user: User) -> str:
    """The path of a one-time link with which ``user`` chooses a password (allauth's
    password-reset-from-key view; valid for PASSWORD_RESET_TIMEOUT, single use)."""
    return reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
        urlconf="portal.urls_tenants",
    )
