"""What-if: evaluate a document before and after edits, and report the decision difference.

An assignment is `PATH=VALUE`: PATH as in :mod:`vasp_rules.core.docpath`
(`firm.people[1].outsourced`), VALUE a JSON value or a YAML scalar or flow collection
(`false`, `ACTIVE`, `2026-09-30`, `{amount: "150000000", currency: PKR}`); `null` removes the
field (the fact becomes absent) or the list item; index == length appends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.docpath import PathError, PathParts, edited, parse_path
from ..core.valuetext import WhatIfError, parse_value
from ..model.decision import Decision, Finding, Outcome
from ..runtime.evaluate import EngineName

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack


class Assignment(BaseModel):
    """One `PATH=VALUE` edit."""

    model_config = ConfigDict(frozen=True)

    path: str
    parts: PathParts
    value: Any

    @property
    def text(self) -> str:
        return f"{self.path}={json.dumps(self.value, ensure_ascii=False)}"


class FindingChange(BaseModel):
    """A rule that fired both before and after, with a different outcome or reason."""

    model_config = ConfigDict(frozen=True)

    before: Finding
    after: Finding


class WhatIf(BaseModel):
    """The decision difference made by a set of assignments."""

    model_config = ConfigDict(frozen=True)

    assignments: list[str]
    before: Decision
    after: Decision
    added: list[Finding] = Field(default_factory=list)
    removed: list[Finding] = Field(default_factory=list)
    changed: list[FindingChange] = Field(default_factory=list)

    @property
    def outcome_before(self) -> Outcome:
        return self.before.outcome

    @property
    def outcome_after(self) -> Outcome:
        return self.after.outcome

    def summary(self) -> dict[str, Any]:
        """The difference as JSON data (for `--format json`)."""
        return {
            "as_of": self.before.as_of.isoformat(),
            "document_id": self.before.document_id,
            "document_kind": self.before.document_kind,
            "assignments": self.assignments,
            "outcome_before": self.before.outcome.value,
            "outcome_after": self.after.outcome.value,
            "added": [f.model_dump(mode="json") for f in self.added],
            "removed": [f.model_dump(mode="json") for f in self.removed],
            "changed": [
                {
                    "before": c.before.model_dump(mode="json"),
                    "after": c.after.model_dump(mode="json"),
                }
                for c in self.changed
            ],
            "rulepack": self.before.rulepack.model_dump(mode="json"),
            "notice": None
            if self.before.notice is None
            else self.before.notice.model_dump(mode="json"),
        }


def parse_assignment(text: str) -> Assignment:
    """`PATH=VALUE` -> Assignment; raises WhatIfError with a one-line message."""
    if "=" not in text:
        raise WhatIfError(f"--set {text!r}: expected PATH=VALUE, e.g. firm.goaml_registered=true")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not raw.strip():
        raise WhatIfError(f"--set {text!r}: no value after '=' (write null to remove the field)")
    try:
        parts = parse_path(path)
    except PathError as exc:
        raise WhatIfError(f"--set {text!r}: {exc}") from None
    if parts[0] == "kind":
        raise WhatIfError(f"--set {text!r}: the document kind cannot be changed")
    return Assignment(path=path, parts=parts, value=parse_value(raw.strip()))


def apply_assignments(
    document: Mapping[str, Any], assignments: Sequence[Assignment]
) -> dict[str, Any]:
    """A copy of the document with the assignments applied in order."""
    try:
        return edited(document, [(a.parts, a.value) for a in assignments])
    except PathError as exc:
        raise WhatIfError(str(exc)) from None


def diff(before: Decision, after: Decision, assignments: Sequence[str]) -> WhatIf:
    """The findings added, removed and changed between two decisions on one document."""
    old = {f.rule_id: f for f in before.findings}
    new = {f.rule_id: f for f in after.findings}
    changed = [
        FindingChange(before=old[r], after=new[r])
        for r in sorted(old.keys() & new.keys())
        if (old[r].outcome, old[r].reason, old[r].missing)
        != (new[r].outcome, new[r].reason, new[r].missing)
    ]
    return WhatIf(
        assignments=list(assignments),
        before=before,
        after=after,
        added=[f for f in after.findings if f.rule_id not in old],
        removed=[f for f in before.findings if f.rule_id not in new],
        changed=changed,
    )


def whatif(
    pack: RulePack,
    document: Mapping[str, Any],
    assignments: Sequence[str | Assignment],
    as_of: date,
    *,
    engine: EngineName = "durable",
) -> WhatIf:
    """Evaluate `document` as given and with `assignments` applied; raises WhatIfError for a bad
    assignment and DocumentError if either document is invalid."""
    parsed = [a if isinstance(a, Assignment) else parse_assignment(a) for a in assignments]
    changed = apply_assignments(document, parsed)
    before = pack.evaluate(document, as_of, engine=engine)
    after = pack.evaluate(changed, as_of, engine=engine)
    return diff(before, after, [a.text for a in parsed])


__all__ = [
    "Assignment",
    "FindingChange",
    "WhatIf",
    "WhatIfError",
    "apply_assignments",
    "diff",
    "parse_assignment",
    "parse_value",
    "whatif",
]
