"""The rule-pack file formats (manifest, parameter files, rule files) as pydantic models.

These validate structure only; conditions are parsed and type-checked by the loader."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..decision import Outcome

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_TYPE = re.compile(
    r"^(bool|int|number|string|date|money"
    r"|list of (int|number|string|date|money)"
    r"|table of (bool|int|number|string|date|money))$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Manifest(_Strict):
    """pack.yaml: what the pack is."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    version: str
    title: str
    disclaimer: str = ""
    holidays_parameter: str | None = Field(
        default=None, description="a `list of date` parameter of days that are not working days"
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

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if not PARAM_TYPE.match(v):
            raise ValueError(
                f"unknown parameter type {v!r}: use bool, int, number, string, date, money, "
                "'list of T' or 'table of T'"
            )
        return v


class ParamFile(_Strict):
    parameters: dict[str, ParamSpec]


class RuleSpec(_Strict):
    """One rule as written in a rule file."""

    id: str
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    applies_to: Literal["licence_application", "customer", "amnesty_declaration", "transfer"]
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


class RuleFile(_Strict):
    rules: list[RuleSpec]


def money_value(raw: Any) -> tuple[Decimal, str]:
    """Parse a money parameter value `{amount, currency}`."""
    if not isinstance(raw, dict) or set(raw) != {"amount", "currency"}:
        raise ValueError("a money value is {amount: NUMBER, currency: ISO 4217 code}")
    amount = Decimal(str(raw["amount"]))
    if amount < 0 or not amount.is_finite():
        raise ValueError(f"money amount {raw['amount']!r} must be a finite non-negative number")
    currency = str(raw["currency"])
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"currency {currency!r} must be a three-letter ISO 4217 code")
    return amount, currency
