"""Parameter overrides, like a reform: change a pack's parameter for one run without copying the
pack. A decision made with overrides says so (its pack sha256 covers them and it lists them), so
it can never pass for a decision of the stock pack.

    RulePack.load("pk", overrides={"noc_decision_days": 90})
    RulePack.load("pk", overrides={"noc_decision_days": ParamOverride(90, date(2026, 7, 1))})
    vasp-rules evaluate FILE --as-of DATE --set-param noc_decision_days=90
    vasp-rules evaluate FILE --as-of DATE --set-param noc_decision_days@2026-07-01=90
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ..core.limits import invalid_unicode
from ..core.plaintext import iso_date
from ..core.yamlio import YamlError, parse_yaml, plain
from .loader import LoadedPack, PackError, PackIssue
from .params import check_value
from .schema import ParamSpec, ParamValue

OVERRIDE_SOURCE = "override for this run (not the pack's value)"


@dataclass(frozen=True)
class ParamOverride:
    """A parameter's value for one run: on every date (`from_` None), or from `from_` on (the
    pack's earlier values stay)."""

    value: Any
    from_: date | None = None


def parse_set_param(text: str) -> tuple[str, ParamOverride]:
    """`NAME=VALUE` or `NAME@YYYY-MM-DD=VALUE`; VALUE is read as YAML (`90`, `0.5`, `2026-07-01`,
    `[US, GB]`, `{amount: 1000000, currency: PKR}`). Raises ValueError with a clear message."""
    head, sep, raw = text.partition("=")
    if not sep or not head.strip():
        raise ValueError(f"--set-param {text!r}: expected NAME=VALUE or NAME@DATE=VALUE")
    name, at, day = head.strip().partition("@")
    start: date | None = None
    if at:
        try:
            start = iso_date(day.strip())
        except ValueError:
            raise ValueError(f"--set-param {text!r}: {day!r} is not a date (YYYY-MM-DD)") from None
    try:
        value = plain(parse_yaml(raw)) if raw.strip() else ""
    except YamlError as exc:
        raise ValueError(f"--set-param {text!r}: {exc.message}") from None
    return name.strip(), ParamOverride(value, start)


def _as_override(value: Any) -> ParamOverride:
    return value if isinstance(value, ParamOverride) else ParamOverride(value)


def _json_value(value: Any) -> Any:
    """The override's value as it is recorded in decisions (JSON: dates as ISO text, exact
    numbers as text)."""
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a parameter value")


def apply_overrides(
    loaded: LoadedPack, overrides: Mapping[str, Any]
) -> tuple[LoadedPack, list[dict[str, Any]]]:
    """The pack with its parameters overridden, and the overrides as recorded in decisions
    (sorted by name: `{"name", "value", "from"}`). Raises PackError for an unknown parameter or
    a value that does not fit the parameter's type."""
    params = dict(loaded.params)
    issues: list[PackIssue] = []
    records: list[dict[str, Any]] = []
    for name in sorted(overrides):
        override = _as_override(overrides[name])
        broken = invalid_unicode({name: override.value})
        if broken:
            path, problem = broken[0]
            issues.append(PackIssue("overrides", None, None, f"{path}: {problem}"))
            continue
        spec = params.get(name)
        if spec is None:
            issues.append(PackIssue("overrides", None, None, f"the pack has no parameter {name!r}"))
            continue
        try:
            check_value(spec, override.value)
            recorded = _json_value(override.value)
        except (ValueError, ArithmeticError, TypeError) as exc:
            where = loaded.param_sources.get(name)
            declared = f" (declared at {where[0]}:{where[1]})" if where and where[1] else ""
            issues.append(
                PackIssue(
                    "overrides", None, None, f"parameter {name!r} ({spec.type}): {exc}{declared}"
                )
            )
            continue
        params[name] = _overridden(spec, override)
        records.append(
            {
                "name": name,
                "value": recorded,
                "from": override.from_.isoformat() if override.from_ else None,
            }
        )
    if issues:
        raise PackError(issues)
    return replace(loaded, params=params), records


def _overridden(spec: ParamSpec, override: ParamOverride) -> ParamSpec:
    first = min(v.from_ for v in spec.values)
    start = override.from_ or first
    kept = [v for v in spec.values if v.from_ < start] if override.from_ else []
    new = ParamValue.model_validate(
        {
            "from": min(start, first) if override.from_ is None else start,
            "value": override.value,
            "source": OVERRIDE_SOURCE,
            "confidence": "A",
        }
    )
    return spec.model_copy(update={"values": [*kept, new]})

