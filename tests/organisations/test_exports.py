"""An organisation's data to take away (organisations/exports.py): asked for in the Store by
its primary contact (or by staff, or on its closed site), built by a job, emailed as a link
that expires, downloaded on its own site only; ``manage.py export_organisation`` writes one."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import User
from audit.models import AuditEvent
from organisations import exports
from organisations.models import DataExport
from portal.models import Organisation
from subscriptions.services import closing
from tests.conftest import Site, queued_emails, signed_in
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _run_export_jobs() -> None:
    """Run the queued export jobs' task, as a worker would."""
    for job in ProcrastinateJob.objects.filter(task_name=exports.build_export.name, status="todo"):
        exports.build_export(**job.args)


def _link(organisation: Organisation) -> str:
    [email] = [e for e in queued_emails() if "ready to download" in e["subject"]]
    [link] = re.findall(rf"http://{organisation.slug}\.localhost:8000(/export/\S+/)", email["body"])
    return link


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_primary_contact_asks_gets_a_link_and_downloads_the_archive(
    northwind: Site, contoso: Site
) -> None:
    client = signed_in(northwind, "primary")
    home = client.get("/store/").content.decode()
    key = re.search(r'data-testid="your-data".*?name="idempotency_key" value="(\w+)"', home, re.S)
    assert key is not None
    asked = client.post("/export/", {"idempotency_key": key.group(1)})
    assert asked.status_code == 302 and asked["Location"] == "/store/"
    [export] = DataExport.objects.filter(organisation=northwind.organisation)
    assert export.state == DataExport.State.QUEUED
    _run_export_jobs()
    link = _link(northwind.organisation)

    response = Client(HTTP_HOST=northwind.host).get(link)  # the link is the key
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    files = _files(response.content)
    expected = {"README.txt", "organisation.json"}
    for table in ("users", "departments", "plan_changes", "refund_requests", "invoices"):
        expected |= {f"{table}.csv", f"{table}.json"}
    assert expected <= set(files)
    users_csv = files["users.csv"]
    assert users_csv.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel in Japan
    emails = {row["email"] for row in csv.DictReader(io.StringIO(users_csv.decode("utf-8-sig")))}
    assert "primary@northwind.test" in emails
    assert {row["email"] for row in json.loads(files["users.json"])} == emails
    # Nothing of another organisation is in it.
    everything = b"".join(files.values())
    assert b"contoso" not in everything.lower()
    assert AuditEvent.objects.filter(action="organisation.export_requested").exists()


def test_an_export_is_never_served_to_another_organisation_or_after_it_expires(
    northwind: Site, contoso: Site
) -> None:
    export = exports.request_export(northwind.organisation, acting_user=northwind.user("primary"))
    _run_export_jobs()
    export.refresh_from_db()
    link = f"/export/{export.token}/"
    assert Client(HTTP_HOST=contoso.host).get(link).status_code == 404  # its key, not here
    assert Client(HTTP_HOST=northwind.host).get("/export/not-the-key/").status_code == 404
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client(HTTP_HOST=northwind.host).get(link).status_code == 404
    assert exports.forget_expired() == 1
    export.refresh_from_db()
    assert export.state == DataExport.State.EXPIRED and export.archive is None


def test_only_the_primary_contact_or_staff_ask_for_an_export(northwind: Site) -> None:
    staff = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(StaffFactory.create(is_superuser=True, email="ops@vendor.test"))
    client = signed_in(northwind, "super")
    refused = client.post("/export/", {"idempotency_key": "a" * 32}, follow=True)
    assert "Only the primary contact" in refused.content.decode()
    assert not DataExport.objects.exists()
    url = f"/admin/portal/organisation/{northwind.organisation.pk}/export/"
    assert "being prepared" in staff.post(url, follow=True).content.decode()
    [export] = DataExport.objects.all()
    assert export.requested_by == "ops@vendor.test"


def test_a_closed_organisations_site_offers_its_data_to_its_primary_contact(
    northwind: Site,
) -> None:
    closing.close_now(northwind.organisation, acting_user=None)
    site = Client(HTTP_HOST=northwind.host)
    page = site.get("/")
    assert page.status_code == 410
    key = re.search(r'name="idempotency_key" value="(\w+)"', page.content.decode())
    assert key is not None and 'data-testid="closed-export"' in page.content.decode()
    sent = site.post("/export/", {"idempotency_key": key.group(1)})
    assert sent.status_code == 302 and sent["Location"] == "/?export=sent"
    assert 'data-testid="export-sent"' in site.get("/?export=sent").content.decode()
    _run_export_jobs()
    [email] = [e for e in queued_emails() if "ready to download" in e["subject"]]
    assert email["to"] == ["primary@northwind.test"]
    assert site.get(_link(northwind.organisation)).status_code == 200
    with schema_context(northwind.organisation.schema_name):  # nobody signs in meanwhile
        assert User.objects.filter(is_active=True).exists()
    assert site.get("/accounts/login/").status_code == 410


def test_the_command_writes_the_archive_to_a_file(northwind: Site, tmp_path: Path) -> None:
    target = tmp_path / "northwind.zip"
    out = io.StringIO()
    call_command("export_organisation", "northwind", "--to", str(target), stdout=out)
    assert f"bytes written to {target}" in out.getvalue()
    files = _files(target.read_bytes())
    readme = files["README.txt"].decode("utf-8-sig")
    assert "users.csv" in readme and "Northwind" in readme
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_organisation", "northwind", "--to", str(tmp_path / "no" / "x.zip"))


def test_the_link_is_emailed_in_the_language_it_was_asked_in(northwind: Site) -> None:
    client = signed_in(northwind, "primary")
    asked = client.post("/export/", {"idempotency_key": "b" * 32}, HTTP_ACCEPT_LANGUAGE="ja")
    assert asked.status_code == 302
    _run_export_jobs()
    [email] = [e for e in queued_emails() if "ダウンロードできます" in e["subject"]]
    assert "次のリンクからダウンロードできます" in email["body"]


def test_an_export_that_fails_can_be_asked_for_again(
    northwind: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = exports.request_export(northwind.organisation, acting_user=None)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)  # the archive cannot be written
    with pytest.raises(OSError):
        exports.build(first.pk)
    monkeypatch.undo()
    first.refresh_from_db()
    assert first.state == DataExport.State.FAILED and first.archive is None
    again = exports.request_export(northwind.organisation, acting_user=None)
    assert again.pk != first.pk and exports.build(again.pk) is not None
