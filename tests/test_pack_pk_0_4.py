"""Behaviours of pack pk 0.4 that scenario files cannot state: the texts of the rules the
updated catalogue changed (LIC-12's licensed-custodian floor, AMN-04's summed and AMN-12's
combined shares, TR-07's two cases), LIC-18's citation tag, and that both engines agree on them.
The boundaries themselves are in tests/scenarios/review_0_4.scenarios.yaml."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from conftest import example

from vasp_rules import RulePack
from vasp_rules.decision import Finding


def _finding(pk: RulePack, doc: dict[str, Any], day: date, rule_id: str) -> Finding:
    durable = pk.evaluate(doc, day)
    assert durable.to_json() == pk.evaluate(doc, day, engine="reference").to_json()
    (finding,) = [f for f in durable.findings if f.rule_id == rule_id]
    return finding


def test_pack_version_is_0_4_0(pk: RulePack) -> None:
    assert pk.version == "0.4.0"
    assert pk.evaluate(example("transfer"), date(2026, 3, 2)).rulepack.version == "0.4.0"


def _exchange(capital: str, activities: list[str]) -> dict[str, Any]:
    doc = example("licence_application_full")
    doc["activities"] = activities
    doc["firm"]["paid_up_capital"] = {"amount": capital, "currency": "PKR"}
    doc["firm"]["annual_fixed_overheads"] = {"amount": "6.00", "currency": "PKR"}
    return doc


def test_lic12_names_the_licensed_custodian_floor(pk: RulePack) -> None:
    finding = _finding(pk, _exchange("60999999.99", ["EXCHANGE"]), date(2026, 9, 15), "LIC-12")
    assert "below the PKR 61,000,000 required for EXCHANGE" in finding.reason
    assert "licensed third-party custodian" in finding.reason
    assert "PKR 61,000,000" in finding.remediation
    assert finding.rule_version == 4


@pytest.mark.parametrize(
    ("activities", "floor", "named"),
    [
        (["EXCHANGE", "VA_DERIVATIVES"], "PKR 114,375,000", "VA_DERIVATIVES"),
        (["EXCHANGE", "CUSTODY"], "PKR 114,375,000", "EXCHANGE"),
    ],
)
def test_lic12_names_the_most_demanding_floor(
    pk: RulePack, activities: list[str], floor: str, named: str
) -> None:
    """With VA derivatives the derivatives floor is the most demanding; with CUSTODY requested
    the exchange keeps its full floor."""
    finding = _finding(pk, _exchange("60999999.99", activities), date(2026, 9, 15), "LIC-12")
    assert f"below the {floor} required for {named}, the most demanding" in finding.reason
    assert "custodian" not in finding.reason


def test_the_licensed_custodian_floor_is_an_a_tagged_effective_dated_parameter(
    pk: RulePack,
) -> None:
    spec = pk.loaded.params["capital_floor_exchange_licensed_custodian"]
    assert spec.illustrative
    (value,) = spec.values
    assert value.confidence == "A" and value.from_ == date(2025, 7, 8)
    assert "VARA" in (value.source or "")


def test_lic18_is_tagged_a_like_the_other_pakistan_a_rules(pk: RulePack) -> None:
    """Catalogue "SECP practice [S]; PVARA [A]": tagged A, as LIC-15/16/17 ("...; Pakistan
    [A]") are, with both tags named in the provision."""
    tags = {r.id: r.spec.citation.confidence for r in pk.loaded.rules}
    assert tags["LIC-18"] == tags["LIC-15"] == tags["LIC-16"] == tags["LIC-17"] == "A"
    doc = example("licence_application_full")
    doc["firm"]["people"][2]["security_clearance"] = "REFUSED"
    doc["firm"]["people"][2]["ownership_pct"] = "0.01"
    finding = _finding(pk, doc, date(2026, 9, 15), "LIC-18")
    assert finding.citation.confidence == "A"
    assert "[S]" in finding.citation.provision and "[A]" in finding.citation.provision
    assert "Priya Raman" in finding.reason


def test_amn04_says_the_illicit_shares_are_summed(pk: RulePack) -> None:
    doc = example("amnesty_declaration_extension")
    for key in ("darknet", "ransomware", "scam"):
        doc["holdings"][1]["exposure_pct"][key] = "1.67"
    finding = _finding(pk, doc, date(2026, 8, 10), "AMN-04")
    assert "darknet, ransomware and scam exposure, summed, above 5%" in finding.reason


def test_amn12_says_the_shares_are_combined(pk: RulePack) -> None:
    doc = example("amnesty_declaration_extension")
    doc["holdings"][0]["exposure_pct"]["mixer"] = "30"
    finding = _finding(pk, doc, date(2026, 8, 10), "AMN-12")
    assert "combined" in finding.reason and "20%" in finding.reason


def test_tr07_says_never_or_late(pk: RulePack) -> None:
    never = example("transfer")
    never["data_transmitted_at"] = None
    finding = _finding(pk, never, date(2026, 3, 2), "TR-07")
    assert "no travel-rule data transmitted at all" in finding.reason
    assert "counterparty VASP" in finding.reason and "unknown" not in finding.reason
    late = example("transfer")
    late["data_transmitted_at"] = "2026-03-01T14:45:00+05:00"
    finding = _finding(pk, late, date(2026, 3, 2), "TR-07")
    assert "transmitted only at 2026-03-01T09:45:00Z" in finding.reason
    assert finding.rule_version == 3
