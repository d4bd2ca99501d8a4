"""Forms that change something carry an idempotency key, so a double click or a reload
applies the change once: the first POST with a key claims it atomically (``cache.add``)
and runs; its redirect is remembered. A repeat is sent to the same place without running
again; a copy arriving while the first still runs waits for it (a few seconds at most).
A claim is atomic across processes with the shared cache (``REDIS_URL``, which production
requires); the services stay idempotent themselves besides (``change_plan`` takes the key;
a refund request is one per change; a withdrawn request cannot be withdrawn)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from portal.http import PortalRequest

View = Callable[..., HttpResponse]
FIELD = "idempotency_key"
# new_key() makes 32 hex digits; any token of this shape is taken (scripts may choose theirs).
KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
REMEMBER_SECONDS = 24 * 3600
# A claim whose request died (the process was killed) frees the key after this long.
RUNNING_SECONDS = 120
RUNNING = "running"
# How long a copy waits for the first to finish before it is told to look later.
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


def new_key() -> str:
    return uuid.uuid4().hex


def idempotent(view: View) -> View:
    """For POST views that answer with a redirect when they succeed."""

    @wraps(view)
    def wrapped(request: PortalRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        key = request.POST.get(FIELD, "")
        if not KEY.fullmatch(key):
            messages.error(request, _("This form has expired. Please try again."))
            return HttpResponseRedirect(request.path)
        cache_key = f"idempotency:{request.user.pk}:{key}"
        done = _claim(cache_key)
        if done == RUNNING:
            return TemplateResponse(request, "portal/still_running.html", status=409)
        if done:  # already applied: go where the first submission went
            return HttpResponseRedirect(done)
        request.idempotency_key = key
        location = ""
        try:
            response = view(request, *args, **kwargs)
            if isinstance(response, HttpResponseRedirect):
                location = response["Location"]
            return response
        finally:
            if location:
                cache.set(cache_key, location, REMEMBER_SECONDS)
            else:  # refused or failed: the same form may be sent again
                cache.delete(cache_key)

    return wrapped


def _claim(cache_key: str) -> str:
    """Empty when this request now holds the key; else where the first request with it
    went, or RUNNING when it still runs after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not cache.add(cache_key, RUNNING, RUNNING_SECONDS):
        done = cache.get(cache_key)
        if done and done != RUNNING:
            return str(done)
        if time.monotonic() >= deadline:
            return RUNNING
        time.sleep(POLL_SECONDS)
    return ""
