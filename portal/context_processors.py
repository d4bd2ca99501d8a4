"""Template context every page shares: the organisation, the site links, the test clock."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal import clock
from portal.selectors import public_url


def portal(request: HttpRequest) -> dict[str, Any]:
    organisation = getattr(request, "organisation", None)
    return {
        "organisation": organisation,
        "public_site_url": public_url(),
        # Every page of an organisation on a test clock says so (portal/clock.py).
        "test_clock_today": clock.today(organisation)
        if clock.on_test_clock(organisation)
        else None,
    }
