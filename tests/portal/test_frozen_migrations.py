"""Migrations are frozen: none imports the application's code, so a later edit of that code
never changes what a migration does on a new database (issue 23, point 5). Model state may
name its models module, as Django writes it (a manager or a validator a field names); what a
migration runs may not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "accounts", "subscriptions", "organisations")
MIGRATIONS = sorted(path for app in APPS for path in (ROOT / app / "migrations").glob("[0-9]*.py"))


def _project_imports(path: Path) -> list[str]:
    """The project modules ``path`` imports, wherever the import stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name.split(".")[0] in APPS]


def test_every_migration_is_read() -> None:
    assert len(MIGRATIONS) >= 29  # every app's, from 0001


@pytest.mark.parametrize(
    "path", MIGRATIONS, ids=lambda path: f"{path.parent.parent.name}.{path.stem}"
)
def test_a_migration_imports_no_application_code(path: Path) -> None:
    app = path.parent.parent.name
    allowed = {f"{app}.models"}  # model state, as Django writes it
    assert [name for name in _project_imports(path) if name not in allowed] == []


def test_the_check_can_fail(tmp_path: Path) -> None:
    planted = tmp_path / "0099_planted.py"
    planted.write_text("def f():\n    from subscriptions.invoicing import totals\n")
    assert _project_imports(planted) == ["subscriptions.invoicing"]
