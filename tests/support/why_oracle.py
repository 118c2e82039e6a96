"""The why-trace's oracle: the tracer as it was before it took every node's result from one
evaluation (issue 25), each node evaluated by a fresh reference interpreter, one run per
subtree (O(depth x size)). Everything else is the tracer's own code, so comparing the two
traces compares exactly how node results and reads are obtained."""

from __future__ import annotations

from typing import Any

from vasp_rules.explain.why import Tracer
from vasp_rules.interp.reference import Evaluator, Result
from vasp_rules.lang.ast import Expr
from vasp_rules.lang.values import Scope


class PerSubtreeTracer(Tracer):
    """Evaluates each traced node on its own, with a new evaluator."""

    def evaluated(self, node: Expr, scope: Scope) -> tuple[Result, dict[str, Any]]:
        ev = Evaluator(self.ctx)
        return ev.evaluate_in(node, scope), ev.reads
