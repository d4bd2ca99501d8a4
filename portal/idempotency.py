"""Forms that change something carry an idempotency key, so a double click or a reload
applies the change once: the first POST with a key runs and its redirect is remembered;
a repeat is sent to the same place without running again. Two copies arriving at the
same instant both run, so the services stay idempotent themselves (``change_plan`` takes
the key; a refund request is one per change; a withdrawn request cannot be withdrawn)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from portal.http import PortalRequest

View = Callable[..., HttpResponse]
FIELD = "idempotency_key"
REMEMBER_SECONDS = 24 * 3600


def new_key() -> str:
    return uuid.uuid4().hex


def idempotent(view: View) -> View:
    """For POST views that answer with a redirect when they succeed."""

    @wraps(view)
    def wrapped(request: PortalRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        key = (request.POST.get(FIELD) or "").strip()[:64]
        if not key:
            messages.error(request, _("This form has expired. Please try again."))
            return HttpResponseRedirect(request.path)
        cache_key = f"idempotency:{request.user.pk}:{key}"
        done = cache.get(cache_key)
        if done:  # already applied: go where the first submission went
            return HttpResponseRedirect(done)
        request.idempotency_key = key
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseRedirect):
            cache.set(cache_key, response["Location"], REMEMBER_SECONDS)
        return response

    return wrapped
