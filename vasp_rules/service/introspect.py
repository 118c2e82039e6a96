"""What a pack holds, for `/v1/packs/{name}` and `/v1/packs/{name}/parameters` (OpenFisca's
introspection endpoints are the model): each rule with its title, kinds, outcomes, citations
(with their confidence tag and the dates each applies), effective dates and the parameters it
reads; each parameter with its values by date and the legal source of each."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..pack.loader import LoadedRule
from ..pack.params import value_on
from ..pack.schema import ParamSpec
from ..runtime.rulepack import RulePack


def rule_details(pack: RulePack) -> list[dict[str, Any]]:
    """Every written rule once, in the pack's order. A rule written for several kinds, cases
    or citation periods is loaded as several; here they are one, their kinds, outcomes,
    citations and parameters gathered."""
    parts: dict[str, list[LoadedRule]] = {}
    for loaded in pack.loaded.rules:
        parts.setdefault(loaded.id, []).append(loaded)
    return [_rule(rule_id, group) for rule_id, group in parts.items()]


def _rule(rule_id: str, group: list[LoadedRule]) -> dict[str, Any]:
    first = group[0].spec
    ends = [r.spec.effective_to for r in group]
    citations: list[dict[str, Any]] = []
    for r in group:
        c = r.spec.citation
        entry = {
            "instrument": c.instrument,
            "provision": c.provision,
            "url": c.url,
            "confidence": c.confidence,
            "text": f"{c.instrument}, {c.provision} [{c.confidence}]",
            "from": r.spec.effective_from.isoformat(),
            "to": None if r.spec.effective_to is None else r.spec.effective_to.isoformat(),
        }
        if entry not in citations:
            citations.append(entry)
    return {
        "id": rule_id,
        "version": first.version,
        "title": first.title,
        "kinds": list(dict.fromkeys(r.kind for r in group)),
        "outcomes": list(dict.fromkeys(r.spec.outcome.value for r in group)),
        "citations": citations,
        "effective_from": min(r.spec.effective_from for r in group).isoformat(),
        "effective_to": None if None in ends else max(e for e in ends if e).isoformat(),
        "parameters": sorted(set().union(*(r.params for r in group))),
        "tags": first.tags,
        "file": group[0].file,
        "line": group[0].line,
    }


def parameter_values(pack: RulePack, on: date | None = None) -> dict[str, Any]:
    """Every parameter of the pack by name: its description, type, values by date with their
    sources, where it is written and, with `on`, the value in force that day (None: none)."""
    out: dict[str, Any] = {}
    for name in sorted(pack.loaded.params):
        spec = pack.loaded.params[name]
        file, line = pack.loaded.param_sources.get(name, (None, None))
        entry: dict[str, Any] = {
            "description": spec.description,
            "type": spec.type,
            "illustrative": spec.illustrative,
            "values": [v.model_dump(mode="json", by_alias=True) for v in spec.values],
            "file": file,
            "line": line,
        }
        if on is not None:
            entry["value_on"] = _value_on(spec, on)
        out[name] = entry
    return out


def _value_on(spec: ParamSpec, on: date) -> Any:
    entry = value_on(spec, on)  # as evaluation resolves it
    return None if entry is None else entry.model_dump(mode="json", by_alias=True)["value"]
