"""The explanation models: condition trees with verdicts, the values they read, and the
verified changes that would clear a finding.

These are plain pydantic models with no dependency on the engine, the compiler or the rule pack,
so that :class:`vasp_rules.model.decision.Decision` can carry them without an import cycle.
Outcomes are kept as their text (``"REJECT"``, ...) for the same reason.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.valuetext import WhatIfError, parse_value

Verdict = Literal["true", "false", "unknown"]
RuleStatus = Literal["fired", "unknown", "not_fired"]
NodeKind = Literal[
    "and",
    "or",
    "not",
    "compare",
    "membership",
    "presence",
    "quantifier",
    "fact",
    "param",
    "call",
    "arith",
    "literal",
]
ChangeKind = Literal["threshold", "flip", "supply", "date", "add", "remove"]
SuggestionStatus = Literal["clearable", "not_clearable", "no_verified_change"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamRead(_Model):
    """A pack parameter a condition read, with the entry in force on `as_of` and its source."""

    name: str
    key: str | None = Field(default=None, description="the table key read, for a table")
    value: Any = Field(description="the value as written in the parameter file (JSON form)")
    display: str = Field(description="the value as the rule compared it (PKR after FX)")
    effective_from: date
    effective_to: date | None = None
    source: str
    url: str | None = None
    confidence: str
    illustrative: bool = False

    @property
    def label(self) -> str:
        return f"param.{self.name}" + (f"[{self.key}]" if self.key is not None else "")


class ItemTrace(_Model):
    """One item of a quantifier (a person, a holding, a list entry) and what it contributed."""

    path: str = Field(description="where the item is, e.g. firm.people[2]")
    label: str = Field(description="a readable name: full name, wallet address, id, ...")
    included: bool = Field(description="false when the `where` filter excluded the item")
    verdict: Verdict | None = Field(
        default=None, description="the item's verdict for any/all/none/count"
    )
    value: str | None = Field(default=None, description="the item's value for sum/max/min/select")
    decisive: bool = Field(default=False, description="this item made the difference")
    where: TraceNode | None = None
    body: TraceNode | None = None


class TraceNode(_Model):
    """One sub-condition or sub-expression with its verdict (or value) and what it read."""

    text: str = Field(description="the sub-expression in the condition language")
    kind: NodeKind
    type: str = Field(default="", description="the value type (bool, money, date, list, ...)")
    verdict: Verdict | None = Field(default=None, description="for true/false tests")
    value: str = Field(description="the value, formatted for a reader")
    decisive: bool = Field(
        default=False, description="this node is part of why the rule did or did not apply"
    )
    reads: dict[str, Any] = Field(
        default_factory=dict, description="document field path -> value read (JSON form)"
    )
    missing: list[str] = Field(
        default_factory=list, description="absent facts that made it unknown"
    )
    params: list[ParamRead] = Field(default_factory=list)
    children: list[TraceNode] = Field(default_factory=list)
    items: list[ItemTrace] = Field(default_factory=list)


class KeyCondition(_Model):
    """A decisive leaf condition, for the short "why" / "why not" summary."""

    condition: str
    verdict: Verdict
    item: str | None = Field(default=None, description="the quantifier item(s) it concerns")
    values: dict[str, str] = Field(
        default_factory=dict, description="field path or param.NAME -> value shown to a reader"
    )


class RuleTrace(_Model):
    """Why one rule did (or did not) apply to the document."""

    rule_id: str
    rule_version: int
    title: str
    rule_outcome: str = Field(description="the outcome the rule declares")
    status: RuleStatus
    finding_outcome: str | None = Field(
        default=None, description="the outcome of the finding it produced, if any"
    )
    verdict: Verdict
    condition: str
    file: str
    line: int | None = None
    citation: str = ""
    reads: dict[str, Any] = Field(default_factory=dict)
    params: list[ParamRead] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    key_conditions: list[KeyCondition] = Field(default_factory=list)
    tree: TraceNode


class Change(_Model):
    """One edit of the input document. `path` and `value` can be given to `vasp-rules whatif`
    as ``--set PATH=VALUE`` (a null value removes a list item; index == length appends)."""

    path: str
    value: Any
    before: Any = None
    kind: ChangeKind
    text: str = Field(description="the change in words, in the document's own units")


class Suggestion(_Model):
    """What would clear one blocking finding, verified by re-evaluating the changed document."""

    rule_id: str
    finding_outcome: str
    status: SuggestionStatus
    changes: list[Change] = Field(default_factory=list)
    reason: str | None = Field(
        default=None, description="why it cannot be cleared, or why no change was verified"
    )
    outcome_after: str | None = Field(
        default=None, description="the decision outcome with only these changes applied"
    )
    introduces: list[str] = Field(
        default_factory=list, description="rule ids of findings these changes would add"
    )

    @property
    def set_arguments(self) -> list[str]:
        """The changes as `whatif --set` arguments, in the order they must be applied."""
        return [f"{c.path}={_argument(c.value)}" for c in self.changes]


_PLAIN = re.compile(r"[A-Za-z0-9_.:+-]+")


def _argument(value: Any) -> str:
    """A value as `--set` reads it back: bare when that reads back the same text
    (`1500000.00`, `ACTIVE`, `2026-06-01`), JSON otherwise."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        try:
            if parse_value(value) == value:
                return value
        except WhatIfError:
            pass
    return json.dumps(value, ensure_ascii=False)


class Explanation(_Model):
    """The explanation attached to a decision: rule traces and suggested changes."""

    rules: list[RuleTrace] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)

    def rule(self, rule_id: str) -> RuleTrace | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def suggestion(self, rule_id: str) -> Suggestion | None:
        return next((s for s in self.suggestions if s.rule_id == rule_id), None)


ItemTrace.model_rebuild()
TraceNode.model_rebuild()

__all__ = [
    "Change",
    "ChangeKind",
    "Explanation",
    "ItemTrace",
    "KeyCondition",
    "NodeKind",
    "ParamRead",
    "RuleStatus",
    "RuleTrace",
    "Suggestion",
    "SuggestionStatus",
    "TraceNode",
    "Verdict",
]
