"""The test suite is organised like the code: test files hold tests and import no other test
file nor conftest; helpers live in tests/support/."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _python_files() -> list[Path]:
    return sorted([*TESTS.glob("*.py"), *(TESTS / "support").glob("*.py")])


def test_no_file_imports_a_test_file_or_conftest() -> None:
    wrong = {
        f"{path.relative_to(TESTS)}: {name}"
        for path in _python_files()
        for name in _imported(path)
        if name == "conftest"
        or name.startswith("tests.")
        or name.split(".")[-1].startswith("test_")
    }
    assert not wrong, sorted(wrong)


def test_the_top_folder_holds_test_files_and_conftest_only() -> None:
    others = [
        p.name
        for p in TESTS.glob("*.py")
        if p.name != "conftest.py" and not p.name.startswith("test_")
    ]
    assert not others, f"helpers belong in tests/support/: {others}"


def test_every_test_file_defines_tests() -> None:
    def has_tests(path: Path) -> bool:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        return any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name.lower().startswith("test")
            for node in tree.body
        )

    empty = [p.name for p in TESTS.glob("test_*.py") if not has_tests(p)]
    assert not empty, f"helper-only files named test_*: {empty}"
    assert not list((TESTS / "support").glob("test_*.py"))
