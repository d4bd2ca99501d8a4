"""Whether provisioning stays flat as organisations grow, measured interleaved (issue 26,
point 3): two throw-away databases on the same server, copies of SMALL and of LARGE
organisations kept by ``bench/built.py`` (built first if need be); then ROUNDS rounds in
this one process, each creating one organisation in each database (which goes first
alternates), so that machine load and warm caches fall on both alike. Prints each
database's provisioning (``create_schema``: the template's replay) and whole creation, and
the ratio; asserts nothing. (Comparing the first and last hundred of one sequential run
mixes growth with load: issue 26 saw 243 to 961 ms.)

Run: DATABASE_URL=... .venv/bin/python -m bench.provisioning_interleaved [SMALL LARGE ROUNDS]
(default 200 2000 100). The copies, ``portal_bench_small`` and ``portal_bench_large``, are
dropped afterwards.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

DATABASES = {"small": "portal_bench_small", "large": "portal_bench_large"}


def _created(slug: str) -> tuple[float, float]:
    """Create one organisation: (provisioning, creation) seconds."""
    from organisations.services import create_organisation
    from portal.models import Organisation

    create_schema = Organisation.create_schema
    took: list[float] = []

    def timed(self: Organisation, *args: Any, **kwargs: Any) -> bool:
        started = time.perf_counter()
        try:
            return create_schema(self, *args, **kwargs)
        finally:
            took.append(time.perf_counter() - started)

    Organisation.create_schema = timed  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        create_organisation(
            name=slug,
            slug=slug,
            primary_contact_email=f"owner@{slug}.test",
            primary_contact_password="x" * 12,
        )
        return took[0], time.perf_counter() - started
    finally:
        Organisation.create_schema = create_schema  # type: ignore[method-assign]


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main(small: int, large: int, rounds: int) -> None:
    from bench import built, setup_django

    setup_django()
    from django.conf import settings

    from bench.tenants import machine
    from portal.db.roles import connect_as_owner

    connect_as_owner()
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    sizes = {"small": small, "large": large}
    try:
        for which, name in DATABASES.items():
            built.copy(sizes[which], name)
        times: dict[str, tuple[list[float], list[float]]] = {w: ([], []) for w in DATABASES}
        print(f"{rounds} rounds, one organisation in each database per round...", flush=True)
        for number in range(rounds):
            order = list(DATABASES) if number % 2 == 0 else list(reversed(DATABASES))
            for which in order:
                built.point_at(DATABASES[which])
                provisioned, created = _created(f"interleaved-{number}")
                times[which][0].append(provisioned)
                times[which][1].append(created)
        server = machine()
    finally:
        for name in DATABASES.values():
            built.drop(name)

    print()
    print(f"machine: {server}")
    for which in DATABASES:
        print(
            f"{sizes[which]:>6} organisations: provisioning {_summary(times[which][0])}; "
            f"creation {_summary(times[which][1])}"
        )
    ratio = statistics.median(times["large"][0]) / statistics.median(times["small"][0])
    whole = statistics.median(times["large"][1]) / statistics.median(times["small"][1])
    print(
        f"ratio {large} ÷ {small}: provisioning {ratio:.2f}×, creation {whole:.2f}× "
        "(target: provisioning ≤ 1.2×, ≤ 0.1 s)"
    )


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:4]]
    main(*(arguments + [200, 2000, 100][len(arguments) :]))
