"""Benchmarks: scripts run as `python bench/<name>.py`; they print figures and assert nothing."""
