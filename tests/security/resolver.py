"""The URL patterns of an organisation's site, read from the resolver (every include
walked), for the suites that must cover every URL without listing them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

TENANT_URLCONF = "portal.urls_tenants"


@dataclass(frozen=True)
class TenantPattern:
    route: str  # the whole pattern, includes joined: "users/<int:pk>/deactivate/"
    name: str | None
    parameters: tuple[str, ...]
    urlconf: str  # the URL conf the pattern is written in

    @property
    def prefix(self) -> str:
        """The literal path before the first parameter: what the parameter is an id of."""
        return re.split(r"<|\(\?P<", self.route, maxsplit=1)[0]


def _walk(patterns: list[Any], prefix: str, urlconf: str) -> Iterator[TenantPattern]:
    for entry in patterns:
        text = str(entry.pattern).replace("^", "").replace("$", "")
        if isinstance(entry, URLResolver):
            name = entry.urlconf_name
            module = name if isinstance(name, str) else getattr(name, "__name__", urlconf)
            yield from _walk(entry.url_patterns, prefix + text, module)
        elif isinstance(entry, URLPattern):
            parameters = tuple(entry.pattern.regex.groupindex)
            yield TenantPattern(prefix + text, entry.name, parameters, urlconf)


def tenant_patterns() -> list[TenantPattern]:
    """Every URL pattern of an organisation's site, in the resolver's order."""
    return list(_walk(get_resolver(TENANT_URLCONF).url_patterns, "", TENANT_URLCONF))
