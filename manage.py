#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path

# Commands that never use the database: the embedded one is not started for them.
WITHOUT_DATABASE = frozenset(
    {"help", "version", "--help", "-h", "--version", "makemessages", "compilemessages",
     "collectstatic", "findstatic", "diffsettings", "startapp", "startproject"}
)  # fmt: skip


def main() -> None:
    for argument in sys.argv[1:]:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8, kept as lone surrogates
            sys.exit(f"CommandError: an argument is not UTF-8 text: {argument!r}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in WITHOUT_DATABASE:
        # Without DATABASE_URL, the embedded server, held until this command exits
        # (runserver's reloaded process inherits its address).
        from portal import embedded_postgres  # noqa: PLC0415

        try:
            embedded_postgres.start_for_environment(Path(__file__).resolve().parent / ".data")
        except embedded_postgres.EmbeddedPostgresUnavailable as error:
            sys.exit(f"CommandError: {error}")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
