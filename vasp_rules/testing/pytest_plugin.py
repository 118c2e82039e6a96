"""pytest plugin: every `*.scenarios.yaml` file becomes a test file, each case a test item.

Registered through the `pytest11` entry point, so plain `pytest` collects scenario files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .scenarios import SCENARIO_SUFFIX, Case, PackCache, ScenarioError, load_cases, run_case

_PACKS = PackCache()


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(SCENARIO_SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        try:
            cases = load_cases(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for case in cases:
            yield ScenarioItem.from_parent(self, name=case.name, case=case)


class ScenarioFailed(AssertionError):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = run_case(self.case, _PACKS)
        if not result.passed:
            raise ScenarioFailed(result.diff())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return f"scenario {self.case.name!r} failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.case.line or 1) - 1, f"scenario: {self.case.name}"
