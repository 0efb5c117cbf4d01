"""The web app's layering: the UI imports only the job service, the reports, the inputs and the settings.

Every ``research`` import in ``app.py``, ``ui/`` and ``pages/`` (type-only ones too) must name
``research.jobs.service``, ``research.reports`` or one of its modules, ``research.inputs`` or
``research.config``; the engine never imports Streamlit, and the reports never import the jobs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = sorted([ROOT / "app.py", *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py")])
ALLOWED = {"research.jobs.service", "research.reports", "research.inputs", "research.config", "research.owners"}


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (``from a import b`` also as ``a.b``: b may be a module), with its line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "research":  # `from research import config`: the module is research.config
                for alias in node.names:
                    yield node.lineno, f"research.{alias.name}"
            else:
                yield node.lineno, node.module


def _allowed(module: str) -> bool:
    return module in ALLOWED or module.startswith("research.reports.")


def test_the_ui_imports_only_the_service_reports_inputs_and_config() -> None:
    assert len(UI_FILES) > 5
    wrong = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in UI_FILES
             for line, module in imported_modules(path)
             if (module == "research" or module.startswith("research.")) and not _allowed(module)]
    assert wrong == []


@pytest.mark.parametrize(("package", "forbidden"), [("research", "streamlit"), ("research/reports", "research.jobs")])
def test_engine_layers(package: str, forbidden: str) -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in sorted((ROOT / package).rglob("*.py"))
             for line, module in imported_modules(path) if module == forbidden or module.startswith(forbidden + ".")]
    assert wrong == []
