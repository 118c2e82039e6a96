"""The stages (docs/architecture.md) hold: import-linter's contracts in pyproject.toml are kept,
and the import graph, counting every import (module level, inside functions, under
TYPE_CHECKING), has no cycle."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "vasp_rules"


def _config() -> dict[str, object]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        config: dict[str, object] = tomllib.load(f)["tool"]["importlinter"]
    return config


def test_import_contracts_are_kept() -> None:
    """`lint-imports`, as CI runs it: the layers, the features' independence and the owners of
    durable-rules, z3, click, starlette and dask."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_contracts_count_every_import_and_name_every_stage() -> None:
    """TYPE_CHECKING imports are not left out, and every folder or module directly under
    vasp_rules/ is in a layer, so that a new one cannot sit outside the rule."""
    config = _config()
    assert config.get("exclude_type_checking_imports", False) is False
    contracts = config["contracts"]
    assert isinstance(contracts, list)
    layers = next(c for c in contracts if c["type"] == "layers")
    assert not layers.get("exclude_type_checking_imports", False)
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    top = {
        p.stem if p.suffix == ".py" else p.name
        for p in (ROOT / PACKAGE).iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top - named == set(), f"not in any layer of [tool.importlinter]: {top - named}"


def _strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the strongly connected components of the graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def test_strongly_connected_finds_a_cycle() -> None:
    """The cycle check itself can fail: a three-module loop and a self-contained chain."""
    found = _strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": []})
    assert sorted(c for c in found if len(c) > 1) == [["a", "b", "c"]]
    assert all(len(c) == 1 for c in _strongly_connected({"a": ["b"], "b": ["c"], "c": []}))


@pytest.mark.parametrize("package", [PACKAGE])
def test_no_import_cycle(package: str) -> None:
    """No two modules import each other, directly or through others: each cycle found is
    printed with the lines that close it."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = [c for c in _strongly_connected(edges) if len(c) > 1]
    report = []
    for cycle in cycles:
        members = set(cycle)
        report.append(f"cycle of {len(cycle)} modules:")
        for importer in cycle:
            for imported in sorted(edges[importer] & members):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    report.append(
                        f"  {importer} -> {imported} (l.{detail['line_number']}: "
                        f"{detail['line_contents']})"
                    )
    assert not cycles, "\n".join(report)
