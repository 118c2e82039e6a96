"""What the batch helpers (keyed.py, windows.py) need of the reference interpreter, declared
below all three so that they import it and reference.py imports them, never the other way: an
evaluation's Result, and the Evaluator as a Protocol (reference.Evaluator is its one
implementation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..lang.ast import Expr, Path
from ..lang.values import Scope

Missing = frozenset[str]
NONE: Missing = frozenset()


@dataclass(slots=True)
class Result:
    value: Any
    missing: Missing = NONE


class Evaluating(Protocol):
    """The face of reference.Evaluator its batch helpers use (see there)."""

    ctx: Any  # reference.Context
    record: bool
    reads: dict[str, Any]
    absent: set[str]
    memo: dict[Any, Any]

    def evaluate_in(self, node: Expr, scope: Scope) -> Result: ...

    def resolve(self, node: Path, scope: Scope) -> tuple[list[tuple[Any, str]], bool]: ...

    def aggregate(self, kind: str, verdicts: list[tuple[Any, Missing]], source: str) -> Result: ...

    def fresh(self, *, record: bool = True) -> Evaluating:
        """A new evaluator on the same context, with nothing read yet."""
        ...
