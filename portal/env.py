"""Reading the environment: django-environ the way the portal documents its variables
(``Env``, used by ``portal.settings``), and the port ``make run`` serves on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

import environ
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):
    """django-environ, reading the variables the way this portal documents them.

    An empty variable counts as unset: `PORTAL_STAFF_MFA=` keeps the default rather than
    switching the second factor off. DATABASE_URL must be PostgreSQL; libpq's `?host=/socket/dir`
    and `?port=` set HOST and PORT. EMAIL_URL also takes `console://` and `locmem://` (besides
    django-environ's `consolemail://` and `memorymail://`); `smtps://` is SMTP over TLS, port 465
    unless given (django-environ calls that `smtp+ssl://` and reads `smtps://` as STARTTLS), and
    `?tls=1` asks for STARTTLS, as before django-environ.
    """

    ENVIRON: dict[str, str]
    EMAIL_SCHEMES = {
        **environ.Env.EMAIL_SCHEMES,
        "console": environ.Env.EMAIL_SCHEMES["consolemail"],
        "locmem": environ.Env.EMAIL_SCHEMES["memorymail"],
    }

    TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})

    def __init__(self, **scheme: Any) -> None:
        super().__init__(**scheme)
        # Read when the settings are (the production preflight may set a variable and load
        # them again), not when this module is first imported.
        self.ENVIRON = {name: value for name, value in os.environ.items() if value.strip()}

    def text(self, name: str, default: str) -> str:
        """A free-form value as it is (no `$` proxying); empty counts as unset."""
        return self.ENVIRON.get(name, default)

    def bool(self, var: str, default: Any = environ.Env.NOTSET) -> bool:
        """Only the documented spellings: a typo must not switch a safeguard off."""
        value = self.ENVIRON.get(var)
        if value is None:
            if default is environ.Env.NOTSET:
                raise ImproperlyConfigured(f"Set {var}.")
            return bool(default)
        if value.strip().lower() in self.TRUE:
            return True
        if value.strip().lower() in self.FALSE:
            return False
        raise ImproperlyConfigured(
            f"{var} must be 1/0, true/false, yes/no or on/off, not {value!r}."
        )

    @classmethod
    def db_url_config(cls, url: str | ParseResult, engine: str | None = None) -> dict[str, Any]:
        parts = urlparse(url) if isinstance(url, str) else url
        if parts.scheme not in {"postgres", "postgresql"}:
            raise ImproperlyConfigured("DATABASE_URL must start with postgres:// or postgresql://")
        config: dict[str, Any] = super().db_url_config(parts, engine)
        options = config.setdefault("OPTIONS", {})
        # Percent-encoded parts decoded as libpq does (a socket directory as the host).
        config["NAME"] = unquote(parts.path.lstrip("/"))
        config["HOST"] = options.pop("host", unquote(parts.hostname or ""))
        config["PORT"] = str(options.pop("port", config["PORT"]))
        return config

    @classmethod
    def email_url_config(cls, url: str | ParseResult, backend: str | None = None) -> dict[str, Any]:
        parts = urlparse(url) if isinstance(url, str) else url
        if parts.scheme not in cls.EMAIL_SCHEMES:
            raise ImproperlyConfigured("EMAIL_URL must start with console://, smtp:// or smtps://")
        if parts.scheme == "smtps":
            parts = parts._replace(scheme="smtp+ssl")
        config: dict[str, Any] = super().email_url_config(parts, backend)
        options = config.pop("OPTIONS", {})
        use_tls = options.get("TLS", config.get("EMAIL_USE_TLS", False))
        use_ssl = config.get("EMAIL_USE_SSL", False)
        config["EMAIL_USE_TLS"] = cls.parse_value(str(use_tls), bool)
        config["EMAIL_USE_SSL"] = cls.parse_value(str(use_ssl), bool)
        config["EMAIL_HOST"] = config["EMAIL_HOST"] or "localhost"
        config["EMAIL_PORT"] = config["EMAIL_PORT"] or (465 if config["EMAIL_USE_SSL"] else 25)
        config["EMAIL_HOST_USER"] = config["EMAIL_HOST_USER"] or ""
        config["EMAIL_HOST_PASSWORD"] = config["EMAIL_HOST_PASSWORD"] or ""
        return config


def development_port(data_dir: Path) -> str:
    """The port `make run` serves on (it writes .data/port), else 8000: the links that
    commands run beside it print then work too."""
    try:
        return (data_dir / "port").read_text().strip() or "8000"
    except OSError:
        return "8000"
