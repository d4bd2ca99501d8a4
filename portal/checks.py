"""System checks of the portal's settings, run by ``manage.py check --deploy``; each is a
function here, registered by its decorator; ``PortalConfig.ready`` imports this module. Ids:
``portal.E0xx`` for errors, ``portal.W0xx`` for warnings, never reused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError

from portal.production import unmet_needs

TAG = "portal"


@register(TAG, deploy=True)
def check_production_needs(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With DEBUG off: a shared cache (E001), a mail server that sends (E002) and a gateway
    that takes money (E003), the needs the production server refuses to start without."""
    return [
        CheckError(
            f"Set {need}.",
            hint='The production server refuses to start without it (README.md, "Production").',
            id=need.check_id,
        )
        for need in unmet_needs()
    ]
