"""Decisions: the output of an evaluation, with the findings that produced it.

A decision is a pure function of (document, rule pack, as_of). Its JSON form is canonical: the
same input, pack and date give byte-identical JSON (see :meth:`Decision.to_json`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.canonical import model_json
from .explanation import Explanation


class Outcome(StrEnum):
    """Finding and decision outcomes. Severity order is given by :data:`SEVERITY`."""

    REJECT = "REJECT"
    REFER = "REFER"
    REQUIRE_DOCUMENTS = "REQUIRE_DOCUMENTS"
    APPROVE_WITH_CONDITIONS = "APPROVE_WITH_CONDITIONS"
    APPROVE = "APPROVE"
    INFO = "INFO"
    #: The decision when no rule of the pack applies to the document's kind on as_of: nothing
    #: was checked, so it must not read as an approval. Never a finding's outcome.
    NO_RULES_IN_FORCE = "NO_RULES_IN_FORCE"


#: Higher is more severe. INFO never changes a decision, so it ranks below APPROVE. A document
#: that no rule covered needs a person, like a referral, so it ranks just below REFER.
SEVERITY: dict[Outcome, int] = {
    Outcome.REJECT: 6,
    Outcome.REFER: 5,
    Outcome.NO_RULES_IN_FORCE: 4,
    Outcome.REQUIRE_DOCUMENTS: 3,
    Outcome.APPROVE_WITH_CONDITIONS: 2,
    Outcome.APPROVE: 1,
    Outcome.INFO: 0,
}


def most_severe(outcomes: list[Outcome]) -> Outcome:
    """The decision outcome for a set of finding outcomes: INFO is ignored; none means APPROVE."""
    ranked = [o for o in outcomes if o is not Outcome.INFO]
    if not ranked:
        return Outcome.APPROVE
    return max(ranked, key=SEVERITY.__getitem__)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(_Frozen):
    """Where a rule comes from, and how sure we are of it (P primary, S secondary, A assumption)."""

    instrument: str
    provision: str
    url: str | None = None
    confidence: str = Field(pattern="^[PSA]$")


class Finding(_Frozen):
    """One rule that fired: what it decided, why, on which facts, and what would clear it."""

    rule_id: str
    rule_version: int
    title: str
    outcome: Outcome
    reason: str
    citation: Citation
    facts: dict[str, Any] = Field(
        default_factory=dict, description="field path -> value read from the document"
    )
    missing: list[str] = Field(
        default_factory=list,
        description="paths of facts the rule needed but the document left absent",
    )
    remediation: str


class ParameterOverride(_Frozen):
    """A parameter changed for one run (RulePack.load(overrides=...), --set-param)."""

    name: str
    value: Any
    effective_from: date | None = Field(
        default=None, description="the override applies from this date; null: on every date"
    )


class RulePackRef(_Frozen):
    name: str
    version: str
    sha256: str = Field(description="sha256 of the pack's files, and of its overrides if any")
    overrides: list[ParameterOverride] | None = Field(
        default=None,
        description="parameters overridden for this run; absent for the stock pack",
    )


class EngineRef(_Frozen):
    name: str
    version: str


class NoticeRef(_Frozen):
    """Which notice (the pack's disclaimer and what the confidence tags mean) a decision is to
    be shown with: a UI shows the text that has this id (RulePack.notice, GET /v1/packs/NAME)."""

    id: str = Field(
        description="'notice-' and the first 16 hex digits of the sha256 of the notice's text: "
        "the same text always has the same id, and a changed disclaimer a new one"
    )


class Notice(_Frozen):
    """The notice in full: what every output a person reads states, and its id."""

    id: str
    text: str = Field(description="the disclaimer, then what P, S and A mean, as one paragraph")
    disclaimer: str = Field(description="the pack's disclaimer alone (pack.yaml)")
    confidence_tags: dict[str, str] = Field(description="tag -> what it means")

    @property
    def ref(self) -> NoticeRef:
        return NoticeRef(id=self.id)


class Person(_Frozen):
    """A person a transfer's decision screened as a party, where a party is a joint account."""

    role: str = Field(
        description="'originator' or 'beneficiary' (the party itself), or "
        "'originator joint holder' / 'beneficiary joint holder'"
    )
    path: str = Field(description="where the document holds the person, e.g. originator.name")
    name: str


class Decision(_Frozen):
    """The decision on one document."""

    document_kind: str
    document_id: str
    outcome: Outcome
    as_of: date
    findings: list[Finding]
    rules_evaluated: list[str] = Field(description="ids of the pack's rules in force on as_of")
    no_rules_in_force: bool = Field(
        default=False,
        description="true when no rule of the pack applies to this kind on as_of: "
        "the APPROVE outcome then means 'nothing was checked', not 'compliant'",
    )
    regime_starts_on: date | None = Field(
        default=None,
        description="set when the regime governing this kind (pack.yaml `regimes`) is not in "
        "force on as_of: the day it starts (the decision is then NO_RULES_IN_FORCE); absent "
        "from the JSON otherwise",
    )
    rulepack: RulePackRef
    input_sha256: str
    engine: EngineRef
    explanation: Explanation | None = Field(
        default=None,
        description="traces and suggested changes, only when asked for "
        "(RulePack.evaluate(..., explain=True)); absent from the JSON otherwise",
    )
    notice: NoticeRef | None = Field(
        default=None,
        description="the notice to show with the decision, by id (its text: RulePack.notice, "
        "GET /v1/packs/{name}); absent only from decisions made before vasp-rules "
        "recorded it",
    )
    persons: list[Person] | None = Field(
        default=None,
        description="for a transfer whose originator or beneficiary is a joint account (an "
        "IVMS101 payload with several persons): every person screened as a party, the party "
        "itself and each joint holder, in the document's order (VER-02 and VER-03 screen each "
        "one); absent from the JSON otherwise",
    )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Canonical JSON: sorted keys, fixed separators. Identical inputs give identical bytes.
        A decision without an explanation has no `explanation` key (nor `regime_starts_on`
        when its regime is in force, nor `notice` when it was made before decisions carried
        one, nor `persons` unless a party is a joint account); one of a stock pack has no
        `rulepack.overrides`."""
        if indent == 2:
            return model_json(self, pretty=True, exclude=self._json_exclude())
        data = self.model_dump(mode="json", exclude=self._json_exclude())
        return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False)

    def _json_exclude(self) -> dict[str, Any] | None:
        """What :meth:`to_json` leaves out, as ``model_dump``'s ``exclude``."""
        exclude: dict[str, Any] = {
            name: True
            for name in ("explanation", "regime_starts_on", "notice", "persons")
            if getattr(self, name) is None
        }
        if self.rulepack.overrides is None:  # stock decisions keep their bytes
            exclude["rulepack"] = {"overrides": True}
        return exclude or None

    @property
    def fired(self) -> list[str]:
        """Ids of the rules that produced a finding, in finding order."""
        return [f.rule_id for f in self.findings]


#: What the confidence tags of citations and parameters mean.
CONFIDENCE_TAGS: dict[str, str] = {
    "P": "seen in primary or official text",
    "S": "reported by press or commentary only",
    "A": "an illustrative assumption, held as a parameter you can override",
}


def notice(disclaimer: str) -> str:
    """The text every human-read output carries: the pack's disclaimer, then the tags."""
    tags = "; ".join(f"{tag} = {text}" for tag, text in CONFIDENCE_TAGS.items())
    head = " ".join(disclaimer.split())
    return (head + " " if head else "") + f"Confidence tags: {tags}."


def make_notice(disclaimer: str) -> Notice:
    """The notice of a pack whose disclaimer is `disclaimer`, with its id (derived from the
    text alone, so it is stable across runs, processes and packs that share the text)."""
    text = notice(disclaimer)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return Notice(
        id=f"notice-{digest}",
        text=text,
        disclaimer=" ".join(disclaimer.split()),
        confidence_tags=dict(CONFIDENCE_TAGS),
    )


def finding_sort_key(finding: Finding) -> tuple[int, str, str]:
    """Findings are ordered most severe first, then by rule id, then by reason."""
    return (-SEVERITY[finding.outcome], finding.rule_id, finding.reason)
