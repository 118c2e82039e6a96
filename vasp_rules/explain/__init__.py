"""Explanations of decisions: why a rule applied, why another did not, and what exactly must
change in the input for a better outcome (each change verified by re-evaluating).

>>> from vasp_rules.explain import explain, whatif
>>> decision = explain(pack, document, as_of, rules=["LIC-07"])   # Decision with .explanation
>>> result = whatif(pack, document, ["firm.people[1].outsourced=false"], as_of)

`RulePack.evaluate(..., explain=True)` attaches the same explanation (traces of every finding
and suggestions for every blocking finding) to the decision it returns.

The explanation models live in :mod:`vasp_rules.model.explanation` (a Decision carries them)
and are re-exported here; the functions that evaluate are imported when first called, so that
importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from ..model.explanation import (
    Change,
    Explanation,
    ItemTrace,
    KeyCondition,
    ParamRead,
    RuleTrace,
    Suggestion,
    TraceNode,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..model.decision import Decision
    from ..runtime.evaluate import EngineName
    from ..runtime.rulepack import RulePack
    from .whatif import WhatIf


def explain(
    pack: RulePack,
    document: Mapping[str, Any] | BaseModel,
    as_of: date,
    *,
    rules: Sequence[str] = (),
    suggest: bool = True,
    engine: EngineName = "durable",
) -> Decision:
    """Evaluate one document and attach its explanation: the trace of every finding, the trace
    of each rule named in `rules` (why it did or did not apply) and, unless `suggest` is false,
    verified changes for every blocking finding. Raises ExplainError for an unknown rule."""
    from .api import explain as run

    return run(pack, document, as_of, rules=rules, suggest=suggest, engine=engine)


def whatif(
    pack: RulePack,
    document: Mapping[str, Any],
    assignments: Sequence[str],
    as_of: date,
    *,
    engine: EngineName = "durable",
) -> WhatIf:
    """Evaluate the document before and after `PATH=VALUE` assignments; the decision
    difference (findings added, removed, changed; outcome before and after)."""
    from .whatif import whatif as run

    return run(pack, document, assignments, as_of, engine=engine)


__all__ = [
    "Change",
    "Explanation",
    "ItemTrace",
    "KeyCondition",
    "ParamRead",
    "RuleTrace",
    "Suggestion",
    "TraceNode",
    "explain",
    "whatif",
]
