"""portal/idempotency.py: a form's key is claimed atomically, so two copies of one POST
(a double click, a retry while the first still runs) apply the change once."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.test import RequestFactory
from django_tenants.utils import schema_context

from portal import idempotency
from portal.idempotency import idempotent, new_key
from subscriptions.models import PlanChange
from tests.conftest import Site, signed_in


def _post(key: str) -> HttpRequest:
    request = RequestFactory().post("/form/", {"idempotency_key": key})
    request.user = AnonymousUser()
    return request


def _race(view, key: str, copies: int = 2) -> list[HttpResponse]:
    barrier = threading.Barrier(copies)
    responses: list[HttpResponse] = []

    def post() -> None:
        request = _post(key)
        barrier.wait(timeout=10)
        responses.append(view(request))

    threads = [threading.Thread(target=post) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


def test_copies_posted_at_once_run_the_view_once_and_go_to_the_same_place() -> None:
    runs: list[str] = []

    @idempotent
    def view(request: HttpRequest) -> HttpResponse:
        runs.append(request.idempotency_key)  # type: ignore[attr-defined]
        time.sleep(0.3)  # the other copies arrive while this one runs
        return HttpResponseRedirect(f"/done/{len(runs)}/")

    key = new_key()
    responses = _race(view, key, copies=3)
    assert runs == [key]
    assert [response["Location"] for response in responses] == ["/done/1/"] * 3


def test_a_refused_post_frees_its_key_for_the_next_try() -> None:
    answers = iter([HttpResponse("the form again", status=400), HttpResponseRedirect("/ok/")])

    @idempotent
    def view(request: HttpRequest) -> HttpResponse:
        return next(answers)

    key = new_key()
    assert view(_post(key)).status_code == 400
    assert view(_post(key))["Location"] == "/ok/"
    assert view(_post(key))["Location"] == "/ok/"  # and now it is remembered


@pytest.mark.django_db
def test_a_copy_that_outwaits_the_first_is_told_to_look_later(
    northwind: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(northwind, "primary")
    key = new_key()
    user_id = northwind.user("primary").pk
    # The first copy is still running (as if in another process). Keys carry the schema.
    with schema_context(northwind.organisation.schema_name):
        cache.set(f"idempotency:{user_id}:{key}", idempotency.RUNNING, 60)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    response = client.post("/store/plans/professional/", {"idempotency_key": key})
    assert response.status_code == 409
    assert "Still working on it" in response.content.decode()
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()


@pytest.mark.parametrize("key", ["", "a" * 65, "ab cd", "キー", "k;drop"])
@pytest.mark.django_db
def test_a_missing_or_malformed_key_is_an_expired_form(northwind: Site, key: str) -> None:
    client = signed_in(northwind, "primary")
    response = client.post("/store/plans/professional/", {"idempotency_key": key})
    assert response.status_code == 302
    assert "expired" in client.get(response["Location"]).content.decode()
    assert not PlanChange.objects.filter(organisation=northwind.organisation).exists()
