"""Behaviours of pack pk 0.4 that scenario files cannot state: the texts of the rules the
updated catalogue changed (LIC-12's licensed-custodian floor, AMN-04's summed and AMN-12's
combined shares, TR-07's two cases), LIC-18's citation tag, and that both engines agree on them.
The boundaries themselves are in tests/scenarios/review_0_4.scenarios.yaml."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.repo import example

from vasp_rules import RulePack
from vasp_rules.model.decision import Finding


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


ACTIVITIES = ["EXCHANGE", "BROKER_DEALER", "CUSTODY", "VA_DERIVATIVES", "LENDING_BORROWING",
              "ADVISORY", "ASSET_MANAGEMENT", "TRANSFER_SETTLEMENT", "ISSUANCE", "PAYMENTS"]
_FLOORS_AED = {"EXCHANGE": 1_500_000, "BROKER_DEALER": 600_000, "CUSTODY": 600_000,
               "VA_DERIVATIVES": 1_500_000, "LENDING_BORROWING": 500_000, "ADVISORY": 100_000,
               "ASSET_MANAGEMENT": 500_000, "TRANSFER_SETTLEMENT": 500_000,
               "ISSUANCE": 500_000, "PAYMENTS": 500_000}


@settings(max_examples=60)
@given(
    activities=st.lists(st.sampled_from(ACTIVITIES), min_size=1, max_size=4, unique=True),
    custody=st.sampled_from(["NONE", "IN_HOUSE", "THIRD_PARTY_LICENSED"]),
    near=st.sampled_from([100_000, 500_000, 600_000, 800_000, 1_500_000]),
    offset_paisa=st.sampled_from([-1, 0, 1]),
)
def test_lic12_fires_exactly_below_the_most_demanding_effective_floor(
    pk: RulePack, activities: list[str], custody: str, near: int, offset_paisa: int
) -> None:
    """The plain definition: the floor of each requested activity (the exchange's lowered to
    AED 800,000 when a licensed custodian holds client assets and CUSTODY is not requested),
    the largest of them named; capital one paisa either side of each figure. Both engines."""
    floors = dict(_FLOORS_AED)
    if custody == "THIRD_PARTY_LICENSED" and "CUSTODY" not in activities:
        floors["EXCHANGE"] = 800_000
    floor_pkr = max(floors[a] for a in activities) * 7625  # AED 76.25, in paisa
    capital = near * 7625 + offset_paisa
    doc = _exchange(f"{capital // 100}.{capital % 100:02d}", activities)
    doc["firm"]["custody_model"] = custody
    day = date(2026, 9, 15)
    decision = pk.evaluate(doc, day)
    assert decision.to_json() == pk.evaluate(doc, day, engine="reference").to_json()
    lic12 = [f for f in decision.findings if f.rule_id == "LIC-12"]
    assert len(lic12) == (1 if capital < floor_pkr else 0), (activities, custody, capital)
    if lic12:
        assert f"PKR {floor_pkr // 100:,}" in lic12[0].reason
