"""Days given to commands (``--today``, ``--period-start``): ISO dates, within bounds of
today, so that a mistyped year is refused before anything is booked (a day centuries ahead
would book every period until then into the append-only ledger)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, timedelta

from portal import clock


def day(text: str) -> date:
    """An argparse ``type``: YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a date (YYYY-MM-DD).") from None


def day_within(*, days_before: int | None, days_after: int) -> Callable[[str], date]:
    """An argparse ``type``: YYYY-MM-DD, at most ``days_after`` days after today and (unless
    None) ``days_before`` days before it."""

    def parse(text: str) -> date:
        given = day(text)
        today = clock.today()
        earliest = None if days_before is None else today - timedelta(days=days_before)
        latest = today + timedelta(days=days_after)
        if given > latest or (earliest is not None and given < earliest):
            span = f"from {earliest.isoformat()} " if earliest is not None else ""
            raise argparse.ArgumentTypeError(
                f"{given.isoformat()} is too far from today: give a day {span}"
                f"up to {latest.isoformat()}."
            )
        return given

    return parse


def day_not_after_today(text: str) -> date:
    """An argparse ``type``: YYYY-MM-DD, today or earlier (a run may catch up with days it
    missed, never book a period that has not begun)."""
    given = day(text)
    today = clock.today()
    if given > today:
        raise argparse.ArgumentTypeError(
            f"{given.isoformat()} is after today ({today.isoformat()}): a billing run books "
            "only periods that have begun. To see what a later day brings on a demo, move a "
            "test clock forward (manage.py clock advance)."
        )
    return given
