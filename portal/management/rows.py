"""What the operators' commands share: finding an organisation by slug, and writing rows as
a table (for people), CSV, JSON or JSON lines (for programs)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder

from portal.models import Organisation


def organisation_by_slug(slug: str, *, deleted_too: bool = False) -> Organisation:
    """The organisation at this address; ``deleted_too``: also a deleted one's row, by the
    address it keeps for the books (``deleted_<id>``), for the commands that read them."""
    organisations = Organisation.all_objects if deleted_too else Organisation.objects
    # Text PostgreSQL cannot hold (a NUL) names no organisation either.
    organisation = None if "\x00" in slug else organisations.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"There is no organisation “{slug}”.")
    return organisation


def render_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], output_format: str) -> str:
    """``table`` for people, ``csv``/``json``/``jsonl`` for programs."""
    if output_format == "json":
        return json.dumps(
            [{c: row[c] for c in columns} for row in rows],
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            indent=2,
        )
    if output_format == "jsonl":
        return "\n".join(
            json.dumps({c: row[c] for c in columns}, cls=DjangoJSONEncoder, ensure_ascii=False)
            for row in rows
        )
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _text(row[c]) for c in columns})
        return buffer.getvalue().rstrip("\n")
    cells = [[_text(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return "" if value is None else str(value)
