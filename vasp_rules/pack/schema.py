"""The rule-pack file formats (manifest, parameter files, rule files) as pydantic models.

These validate structure only; conditions are parsed and type-checked by the loader."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core.plaintext import shown_value
from ..model.decision import Outcome

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_TYPE = re.compile(
    r"^(bool|int|number|string|date|money"
    r"|list of (int|number|string|date|money)"
    r"|table of (bool|int|number|string|date|money))$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Kind = Literal["licence_application", "customer", "amnesty_declaration", "transfer"]
KIND_NAMES: tuple[str, ...] = ("licence_application", "customer", "amnesty_declaration", "transfer")


class RegimeSpec(_Strict):
    """When the regime governing one document kind is in force (pack.yaml `regimes`)."""

    name: str = Field(min_length=1, description="the instrument that starts the regime")
    from_: date = Field(alias="from")
    to: date | None = Field(default=None, description="last day in force (inclusive)")

    def in_force(self, on: date) -> bool:
        return self.from_ <= on and (self.to is None or on <= self.to)


class Manifest(_Strict):
    """pack.yaml: what the pack is."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    version: str
    title: str
    disclaimer: str = ""
    holidays_parameter: str | list[str] | None = Field(
        default=None,
        description="the parameter(s) of days that are not working days: each a `list of "
        "date`, or a `table of date` whose keys label the days (e.g. estimates)",
    )

    @property
    def holidays_parameters(self) -> list[str]:
        """The holiday parameters, as a list (none, one or several)."""
        if self.holidays_parameter is None:
            return []
        if isinstance(self.holidays_parameter, str):
            return [self.holidays_parameter]
        return list(self.holidays_parameter)

    regimes: dict[Kind, RegimeSpec] = Field(
        default_factory=dict,
        description="when each kind's regime is in force: before `from` (or after `to`) a "
        "document of that kind is NO_RULES_IN_FORCE whatever rule is in force",
    )
    retired_ids: dict[str, str] = Field(
        default_factory=dict,
        description="rule ids the pack used before and no longer uses, each with what "
        "replaced it; no rule may use a retired id again",
    )


class CitationSpec(_Strict):
    instrument: str = Field(min_length=1)
    provision: str = Field(min_length=1)
    url: str | None = None
    confidence: Literal["P", "S", "A"]


class ParamValue(_Strict):
    """One effective-dated value of a parameter, with where it comes from."""

    from_: date = Field(alias="from")
    to: date | None = Field(default=None, description="last day in force (inclusive)")
    value: Any
    source: str = Field(min_length=1)
    url: str | None = None
    confidence: Literal["P", "S", "A"]

    @model_validator(mode="after")
    def _window(self) -> ParamValue:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class ParamSpec(_Strict):
    type: str
    description: str = Field(min_length=1)
    illustrative: bool = Field(
        default=False, description="true for made-up values (confidence A) shown as examples"
    )
    values: list[ParamValue] = Field(min_length=1)
    min: int | Decimal | date | None = Field(
        default=None,
        description="the smallest value allowed (each item of a list or table; the amount of a "
        "money value); absent: the type's default (see pack.params.DEFAULT_RANGES)",
    )
    max: int | Decimal | date | None = Field(
        default=None, description="the largest value allowed, as `min`"
    )

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if not PARAM_TYPE.match(v):
            raise ValueError(
                f"unknown parameter type {v!r}: use bool, int, number, string, date, money, "
                "'list of T' or 'table of T'"
            )
        return v

    @property
    def scalar(self) -> str:
        """The type of one value: `int` for 'table of int'."""
        return self.type.removeprefix("list of ").removeprefix("table of ")

    @model_validator(mode="after")
    def _range(self) -> ParamSpec:
        scalar = self.scalar
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if scalar in ("bool", "string"):
                raise ValueError(f"a {scalar} parameter has no {name}")
            if (scalar == "date") != isinstance(bound, date):
                raise ValueError(f"{name} must be a {'date' if scalar == 'date' else 'number'}")
            if scalar == "int" and not isinstance(bound, int):
                raise ValueError(f"{name} of an int parameter must be a whole number")
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class ParamFile(_Strict):
    parameters: dict[str, ParamSpec]


class RuleSpec(_Strict):
    """One rule for one document kind and one outcome: what the loader compiles. A rule file
    may write several of these at once under one id (see RuleEntry)."""

    id: str
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    applies_to: Kind
    when: str = Field(min_length=1)
    outcome: Outcome
    on_missing: Literal["require_documents", "skip"] | None = Field(
        default=None,
        description="what an UNKNOWN condition yields: REQUIRE_DOCUMENTS naming the missing "
        "facts (default), or nothing (default for INFO rules)",
    )
    values: dict[str, str] = Field(default_factory=dict)
    reason: str = Field(min_length=1)
    citation: CitationSpec
    remediation: str = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    tags: list[str] = Field(default_factory=list)
    not_clearable_reason: str | None = Field(
        default=None,
        min_length=1,
        description="why the applicant cannot clear this finding by changing the input (e.g. "
        "a conviction); explanations then state it instead of suggesting changes",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(f"rule id {v!r} must look like LIC-01 (capitals, digits, dashes)")
        return v

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: Outcome) -> Outcome:
        if v is Outcome.NO_RULES_IN_FORCE:
            raise ValueError("NO_RULES_IN_FORCE is a decision, not a rule outcome")
        return v

    @field_validator("values")
    @classmethod
    def _value_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not PARAM_NAME.match(name):
                raise ValueError(f"value name {name!r} must be lower_snake_case")
        return v

    @model_validator(mode="after")
    def _window(self) -> RuleSpec:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to ({self.effective_to}) is before effective_from "
                f"({self.effective_from})"
            )
        return self

    @property
    def missing_policy(self) -> str:
        if self.on_missing is not None:
            return self.on_missing
        return "skip" if self.outcome is Outcome.INFO else "require_documents"

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class DatedCitation(CitationSpec):
    """A citation from a date on: when an instrument replaces another, the rule cites the
    one in force on the evaluation date."""

    from_: date = Field(alias="from")


class CaseSpec(_Strict):
    """One case of a rule: a condition and the outcome, reason and remedy it yields."""

    name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    when: str | None = None
    outcome: Outcome | None = None
    on_missing: Literal["require_documents", "skip"] | None = None
    values: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    remediation: str | None = None
    not_clearable_reason: str | None = None


class KindForm(_Strict):
    """How a rule reads one document kind: its condition and texts for that kind's fields."""

    when: str | None = None
    on_missing: Literal["require_documents", "skip"] | None = None
    values: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    remediation: str | None = None
    not_clearable_reason: str | None = None
    cases: list[CaseSpec] | None = Field(default=None, min_length=1)


class RuleEntry(_Strict):
    """A rule as written: one catalogue id, which may apply to several kinds (`applies_to` a
    list, with one shared condition or a condition per kind under `kinds`) and may choose
    among outcomes by `cases`. The loader expands it into RuleSpecs sharing its id."""

    id: str = Field(json_schema_extra={"pattern": RULE_ID.pattern})  # checked by RuleSpec
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    applies_to: Kind | list[Kind] | None = None
    when: str | None = None
    outcome: Outcome | None = None
    on_missing: Literal["require_documents", "skip"] | None = None
    values: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    citation: CitationSpec | list[DatedCitation] = Field(
        description="one citation, or a list of citations each from a date (the first from "
        "effective_from): the one in force on the evaluation date is cited"
    )
    remediation: str | None = None
    effective_from: date
    effective_to: date | None = None
    tags: list[str] = Field(default_factory=list)
    not_clearable_reason: str | None = None
    kinds: dict[Kind, KindForm] | None = Field(default=None, min_length=1)
    cases: list[CaseSpec] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _kinds(self) -> RuleEntry:
        if self.applies_to is None and self.kinds is None:
            raise ValueError("applies_to: name the document kind(s), or give 'kinds'")
        listed = (
            [self.applies_to] if isinstance(self.applies_to, str) else list(self.applies_to or [])
        )
        if len(set(listed)) != len(listed):
            raise ValueError("applies_to: a kind is listed twice")
        if self.kinds is not None and listed and set(listed) != set(self.kinds):
            raise ValueError("applies_to and kinds name different document kinds")
        if isinstance(self.citation, list):
            starts = [c.from_ for c in self.citation]
            if not starts or starts[0] != self.effective_from or starts != sorted(set(starts)):
                raise ValueError("citation: dated citations start on effective_from, in date order")
            if self.effective_to is not None and starts[-1] > self.effective_to:
                raise ValueError("citation: a dated citation starts after effective_to")
        return self

    def _windows(self) -> list[tuple[str | None, dict[str, Any]]]:
        """(label, fields) per citation window: one, or one per dated citation."""
        if not isinstance(self.citation, list):
            return [(None, {})]
        out: list[tuple[str | None, dict[str, Any]]] = []
        for i, cited in enumerate(self.citation):
            nxt = self.citation[i + 1].from_ if i + 1 < len(self.citation) else None
            window: dict[str, Any] = {
                "citation": cited.model_dump(exclude={"from_"}, exclude_none=True),
                "effective_from": cited.from_,
            }
            if nxt is not None:
                window["effective_to"] = nxt - timedelta(days=1)
            out.append((f"from-{cited.from_.isoformat()}", window))
        return out

    def kind_names(self) -> list[Kind]:
        if self.kinds is not None:
            return list(self.kinds)
        if isinstance(self.applies_to, str):
            return [self.applies_to]
        return list(self.applies_to or [])

    def expand(self) -> list[tuple[str, str | None, dict[str, Any]]]:
        """The concrete rules this entry stands for: (kind, case label, RuleSpec fields). A
        field is taken from the case, else the kind's form, else the rule; `values` merge
        in that order (a later one of the same name wins)."""
        out: list[tuple[str, str | None, dict[str, Any]]] = []
        base = self.model_dump(
            exclude={"kinds", "cases", "applies_to", "citation"}, exclude_none=True, by_alias=True
        )
        for period, window in self._windows():
            for kind, label, fields in self._expand_kinds(base):
                if not window:
                    fields["citation"] = self.citation
                fields.update(window)
                if period is not None:
                    label = period if label is None else f"{label}/{period}"
                out.append((kind, label, fields))
        return out

    def _expand_kinds(self, base: dict[str, Any]) -> list[tuple[str, str | None, dict[str, Any]]]:
        out: list[tuple[str, str | None, dict[str, Any]]] = []
        for kind in self.kind_names():
            form = (self.kinds or {}).get(kind)
            cases = (form.cases if form is not None else None) or self.cases
            for i, case in enumerate(cases or [None]):
                fields = dict(base)
                values = dict(self.values)
                layers: list[BaseModel] = [x for x in (form, case) if x is not None]
                for layer in layers:
                    data = layer.model_dump(exclude={"cases", "name"}, exclude_none=True)
                    values.update(data.pop("values", {}))
                    fields.update(data)
                fields["values"] = values
                fields["applies_to"] = kind
                label = None
                if cases is not None:
                    label = case.name if case is not None and case.name else str(i + 1)
                out.append((kind, label, fields))
        return out


class RuleFile(_Strict):
    rules: list[RuleEntry]


def money_value(raw: Any) -> tuple[Decimal, str]:
    """Parse a money parameter value `{amount, currency}`."""
    if not isinstance(raw, dict) or set(raw) != {"amount", "currency"}:
        raise ValueError("a money value is {amount: NUMBER, currency: ISO 4217 code}")
    given = raw["amount"]
    try:
        amount = None if isinstance(given, bool) else Decimal(str(given))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(f"money amount {shown_value(given)} must be a finite non-negative number")
    currency = raw["currency"]
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(
            f"currency {shown_value(currency)} must be a three-letter ISO 4217 code"
        )
    return amount, currency
