"""Benchmarks: scripts run as `python bench/<name>.py`; they print figures and assert nothing."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django() -> None:
    """Django for a benchmark: without DATABASE_URL, the embedded server started first (the
    settings do not start it) and held until the benchmark exits."""
    import django

    from portal import embedded_postgres

    embedded_postgres.start_for_environment(ROOT / ".data")
    django.setup()
