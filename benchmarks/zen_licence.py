"""Ten pk licence-application rules as a zen-engine decision graph (GoRules JDM), behind the
project's pydantic validation: a yardstick for benchmarks/fastpath.py (issue 22: `pack.evaluate`
on a pack of the same rules at least 2x zen-engine).

The graph is input -> one expression node (a boolean per rule, in ZEN's expression language)
-> output; the rules' parameters and `as_of` travel in the input, as the engine's do. It answers
which rules fire, no reasons or facts: the cheapest honest use of zen. zen reads the document as
given once `parse_document` has accepted it (the generated documents have no text the
validation would normalise). LIC-11 fires under its one id in either case (due or overdue).
zen-engine is a benchmark-only dependency (the `bench` extra).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from vasp_rules import RulePack
from vasp_rules.entities.registry import parse_document

ZEN_RULES = ["LIC-02", "LIC-03", "LIC-07", "LIC-08", "LIC-09", "LIC-11", "LIC-14", "LIC-16",
             "LIC-19", "VER-12"]

_EXPRESSIONS = {
    "LIC-02": 'stage == "EOI" and not some(firm.foreign_licences, #.status == "ACTIVE" and '
              "date(#.expires_on) >= date(as_of) and #.jurisdiction in param.recognised)",
    "LIC-03": 'some(firm.foreign_licences, #.status != "ACTIVE" or '
              "date(#.expires_on) < date(as_of))",
    "LIC-07": 'some(firm.people, "MLRO" in #.roles and #.outsourced)',
    "LIC-08": 'firm.noc_status == "GRANTED" and not firm.goaml_registered',
    "LIC-09": 'stage == "FULL" and firm.pk_entity_status != "INCORPORATED"',
    "LIC-11": 'stage == "NOC" and "FORM_A1" in map(documents, #.type)',
    "LIC-14": "firm.annual_fixed_overheads == null",
    "LIC-16": "firm.proprietary_trading == true",
    "LIC-19": 'some(firm.data_locations, # != "PK")',
    "VER-12": "firm.record_retention_years < param.min_record_retention_years",
}


def graph() -> str:
    """The JDM graph: input, one expression node with a boolean per rule, output."""
    at = {"x": 0, "y": 0}
    expressions = [
        {"id": f"e{i}", "key": rule.replace("-", "_"), "value": text}
        for i, (rule, text) in enumerate(_EXPRESSIONS.items())
    ]
    return json.dumps({
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "document", "position": at},
            {"id": "rules", "type": "expressionNode", "name": "rules", "position": at,
             "content": {"expressions": expressions}},
            {"id": "out", "type": "outputNode", "name": "fired", "position": at},
        ],
        "edges": [
            {"id": "a", "sourceId": "in", "targetId": "rules", "type": "edge"},
            {"id": "b", "sourceId": "rules", "targetId": "out", "type": "edge"},
        ],
    })


class ZenLicence:
    """Validation + the zen decision, on one date."""

    def __init__(self, pack: RulePack, as_of: date) -> None:
        import zen  # benchmark-only: pip install -e '.[bench]'

        values = pack.compiled(as_of).param_values
        self.params = {
            "recognised": list(values["recognised_jurisdictions"]),
            "min_record_retention_years": values["min_record_retention_years"],
        }
        self.as_of = as_of.isoformat()
        self.decision = zen.ZenEngine().create_decision(graph())
        self.ids = {rule.replace("-", "_"): rule for rule in _EXPRESSIONS}

    def fired(self, doc: dict[str, Any]) -> set[str]:
        parse_document(doc)
        out = self.decision.evaluate({**doc, "as_of": self.as_of, "param": self.params})
        return {self.ids[key] for key, hit in out["result"].items() if hit}
