"""Prepared queries (portal/db/prepared.py): what their queryset gives, in whichever
organisation's schema they run, compiled once per process."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import Department
from audit.models import AuditEvent
from audit.services import Action, record
from portal.db.prepared import Prepared
from subscriptions.models import Subscription
from tests.conftest import Site

pytestmark = pytest.mark.django_db


def fields(instance: Model) -> dict[str, Any]:
    return {name: value for name, value in vars(instance).items() if name != "_state"}


def with_plan(organisation: Any) -> Any:
    return Subscription.objects.select_related("plan").filter(organisation=organisation)


def test_it_gives_the_instances_its_queryset_gives(northwind: Site, contoso: Site) -> None:
    prepared = Prepared(with_plan)
    for site in (northwind, contoso):
        expected = with_plan(site.organisation).get()
        with CaptureQueriesContext(connection) as queries:
            found = prepared.get(organisation=site.organisation)
            plan = found.plan  # read with it, as select_related reads it

        assert len(queries) == 1
        assert fields(found) == fields(expected) and found.pk == expected.pk
        assert fields(plan) == fields(expected.plan)
        assert not found._state.adding and found._state.db == "default"


def test_a_model_instance_stands_for_its_primary_key(northwind: Site) -> None:
    prepared = Prepared(with_plan)
    by_instance = prepared.get(organisation=northwind.organisation)
    assert prepared.get(organisation=northwind.organisation.pk).pk == by_instance.pk


def test_it_runs_in_the_schema_of_the_organisation_at_hand(northwind: Site, contoso: Site) -> None:
    oldest = Prepared(lambda: Department.objects.order_by("created_at", "id"))
    names = {}
    for site, name in ((northwind, "Northwind support"), (contoso, "Contoso sales")):
        with schema_context(site.organisation.schema_name):
            Department.objects.create(name=name)
            names[name] = [department.name for department in oldest.all()]
            assert names[name] == [d.name for d in Department.objects.order_by("created_at", "id")]

    assert "Northwind support" in names["Northwind support"]
    assert "Northwind support" not in names["Contoso sales"]
    assert "Contoso sales" in names["Contoso sales"]


def test_fields_read_from_the_database_are_converted(in_northwind: Site) -> None:
    """JSON columns come back as Django's converters make them (dicts, not text)."""
    organisation = in_northwind.organisation
    record(
        Action.PLAN_CHANGED,
        acting_user=None,
        target="plan",
        organisation=organisation,
        before={"plan": "free"},
        after={"plan": "pro"},
    )
    events = Prepared(
        lambda organisation: AuditEvent.objects.filter(organisation=organisation).order_by("-id")[
            :1
        ]
    )

    (event,) = events.all(organisation=organisation)
    assert event.before == {"plan": "free"} and event.after == {"plan": "pro"}
    assert fields(event) == fields(AuditEvent.objects.get(pk=event.pk))


def test_django_compiles_it_once(
    northwind: Site, contoso: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    prepared = Prepared(with_plan)
    for site in (northwind, contoso, northwind):
        prepared.get(organisation=site.organisation)

    assert compiled == [Subscription]


def test_none_or_several_raise_the_models_own_errors(northwind: Site, contoso: Site) -> None:
    prepared = Prepared(with_plan)
    with pytest.raises(Subscription.DoesNotExist):
        prepared.get(organisation=0)
    every = Prepared(Subscription.objects.all)
    with pytest.raises(Subscription.MultipleObjectsReturned):
        every.get()


def test_rows_of_values_are_those_of_the_queryset(northwind: Site, contoso: Site) -> None:
    def plans_of(organisation: Any) -> Any:
        subscriptions = Subscription.objects.filter(organisation=organisation)
        return subscriptions.values_list("organisation_id", "plan__code").union(
            subscriptions.values_list("organisation_id", "cycle"), all=True
        )

    prepared = Prepared(plans_of)
    for site in (northwind, contoso):
        expected = sorted(plans_of(site.organisation), key=str)
        assert sorted(prepared.rows(organisation=site.organisation), key=str) == expected
    with pytest.raises(TypeError, match=r"rows\(\)"):
        prepared.all(organisation=northwind.organisation)
    with pytest.raises(TypeError, match=r"all\(\)"):
        Prepared(with_plan).rows(organisation=northwind.organisation)


def test_a_prefetch_cannot_be_prepared(northwind: Site) -> None:
    prefetching = Prepared(lambda: Subscription.objects.prefetch_related("plan"))
    with pytest.raises(TypeError, match="Neither plain model instances nor values"):
        prefetching.all()
