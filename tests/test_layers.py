"""The apps stand in layers, organisations > subscriptions > accounts > audit > portal, with
no import loop (pyproject.toml's import-linter contracts, which ``make lint`` checks): the
tree keeps them, and a copy of it with one import planted against them fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("portal", "audit", "accounts", "subscriptions", "organisations")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages' Python files and the contracts, copied."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "locale"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _plant(path: Path, line: str) -> None:
    path.write_text(f"{line}\n{path.read_text()}")


def test_the_tree_keeps_the_layers_and_has_no_loop() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_copy_is_linted_as_the_tree(tree_copy: Path) -> None:
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "planted", "importer", "imported"),
    [
        # accounts asking subscriptions directly, as it did before accounts.limits
        ("accounts/services.py", "import subscriptions.selectors.entitlements", "accounts.services",
         "subscriptions.selectors.entitlements"),
        # the base reaching for the audit log above it
        ("portal/models.py", "import audit.models", "portal.models", "audit.models"),
        # subscriptions reaching the organisations that stand on it
        ("subscriptions/services/plan_changes.py", "import organisations.services",
         "subscriptions.services.plan_changes", "organisations.services"),
    ],
)  # fmt: skip
def test_an_upward_import_fails(
    tree_copy: Path, module: str, planted: str, importer: str, imported: str
) -> None:
    _plant(tree_copy / module, planted)
    result = _lint(tree_copy)
    assert result.returncode == 1
    assert "Apps stand in layers" in result.stdout and "BROKEN" in result.stdout
    assert f"{importer} -> {imported}" in result.stdout


def test_a_loop_inside_an_app_fails(tree_copy: Path) -> None:
    # The selectors reading a service, which reads the selectors: a loop in subscriptions.
    _plant(tree_copy / "subscriptions/selectors/periods.py", "import subscriptions.services.ledger")
    result = _lint(tree_copy)
    assert result.returncode == 1
    assert "No import loop" in result.stdout and "BROKEN" in result.stdout
