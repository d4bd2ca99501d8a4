"""Real additive migrations across N organisations (issue 26, point 2), as a deploy runs them:
``manage.py migrate_organisations --organisations-only --parallel P`` in a process of its own,
on a copy of the kept organisations (``bench/built.py``). Two releases of an app of
``TENANT_APPS`` made for the bench: the first adds it (a new table in every schema), the
second a nullable column, an index and another table. The second deploy is stopped by SIGINT
once half the organisations are done, then run again: it resumes. Each deploy: the first
schema migrated by Django, the others replaying its statements (``portal/schemas/replay.py``).
Prints each run's time, each path's time per schema, how long the stop took and what the
command said; asserts nothing.

Run: DATABASE_URL=... .venv/bin/python -m bench.schema_change [N] [P]   (default BENCH_TENANTS
or 1000, and 2). The copy, ``portal_bench_schema_change``, is dropped afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

from bench import ROOT

DATABASE_NAME = "portal_bench_schema_change"
APP = "bench_schema_change"
# The deploys' settings: the project's, with the bench's app.
SETTINGS = f"""
from portal.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "{APP}"]  # noqa: F405
TENANT_APPS = [*TENANT_APPS, "{APP}"]  # noqa: F405
"""

FIRST = """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Memo",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200)),
            ],
        ),
    ]
"""

SECOND = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bench_schema_change", "0001_initial")]
    operations = [
        migrations.AddField("memo", "note", models.TextField(null=True)),
        migrations.AddIndex("memo", models.Index(fields=["text"], name="bench_memo_text")),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("label", models.CharField(max_length=50)),
            ],
        ),
    ]
"""


def _app(root: Path) -> Path:
    """The bench's app, without migrations yet, and the settings naming it."""
    migrations = root / APP / "migrations"
    migrations.mkdir(parents=True)
    (root / APP / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    (root / f"{APP}_settings.py").write_text(SETTINGS)
    return migrations


def _on_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Run:
    seconds: float
    exit_code: int
    lines: list[str]
    stopped_in: float | None = None  # from SIGINT to the command's exit

    def times(self, how: str) -> list[float]:
        return [float(found) for found in re.findall(rf" {how} in ([\d.]+) s", "".join(self.lines))]

    @property
    def done(self) -> int:
        return len(self.times("migrated")) + len(self.times("replayed"))


def deploy(root: Path, parallel: int, *, interrupt_after: int | None = None) -> Run:
    """``migrate_organisations`` as a deploy runs it, in a process of its own; SIGINT once
    ``interrupt_after`` organisations are done."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": f"{APP}_settings",
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
    }
    for variable in ("DATABASE_URL", "DATABASE_OWNER_URL"):
        if variable in environment:
            environment[variable] = _on_database(environment[variable], DATABASE_NAME)
    command = [sys.executable, "manage.py", "migrate_organisations", "--organisations-only"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, f"--parallel={parallel}"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = Run(0.0, 0, [])
    signalled: float | None = None
    assert process.stdout is not None
    for line in process.stdout:
        run.lines.append(line)
        if interrupt_after is not None and signalled is None and run.done >= interrupt_after:
            process.send_signal(signal.SIGINT)
            signalled = time.perf_counter()
    run.exit_code = process.wait()
    ended = time.perf_counter()
    run.seconds = ended - started
    if signalled is not None:
        run.stopped_in = ended - signalled
    return run


def report(title: str, run: Run, parallel: int) -> None:
    print(f"{title}: {run.seconds:.1f} s, exit code {run.exit_code}, {run.done} organisations")
    for how in ("migrated", "replayed"):
        values = run.times(how)
        if values:
            print(
                f"  {how} by {'Django' if how == 'migrated' else 'replay'}: {len(values)}, "
                f"median {statistics.median(values) * 1000:.1f} ms, "
                f"max {max(values) * 1000:.1f} ms"
            )
    said = [line.rstrip() for line in run.lines if not line.startswith("[")]
    for line in said[-3:]:
        print(f"  | {line}")


def main(count: int, parallel: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-schema-change-"))
    migrations = _app(root)
    from django.conf import settings

    from bench import built, setup_django

    setup_django()
    from bench.tenants import machine
    from portal.db.roles import connect_as_owner

    connect_as_owner()
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    built.copy(count, DATABASE_NAME)
    try:
        server = machine()
        (migrations / "0001_initial.py").write_text(FIRST)
        print(f"Release 1 (a new table), --parallel {parallel}...", flush=True)
        first = deploy(root, parallel)
        (migrations / "0002_more.py").write_text(SECOND)
        print("Release 2 (a column, an index, a table), SIGINT halfway...", flush=True)
        stopped = deploy(root, parallel, interrupt_after=count // 2)
        print("Release 2 again...", flush=True)
        resumed = deploy(root, parallel)
    finally:
        built.drop(DATABASE_NAME)

    print()
    print(f"machine: {server}")
    print(f"organisations: {count}; migrate_organisations --parallel {parallel}")
    report("release 1, a new table", first, parallel)
    report("release 2, stopped by SIGINT halfway", stopped, parallel)
    if stopped.stopped_in is not None:
        print(f"  stopped {stopped.stopped_in:.1f} s after the signal")
    report("release 2 run again", resumed, parallel)
    whole = stopped.seconds + resumed.seconds
    print(
        f"release 2 in all: {whole:.1f} s = {whole / 60:.1f} min for {count} organisations "
        f"({stopped.done} + {resumed.done}; target at 10,000: ≤ 10 min)"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_TENANTS") or 1000),
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
    )
