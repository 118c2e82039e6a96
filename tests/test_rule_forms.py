"""One rule id for several document kinds and several outcomes (`kinds:`, `cases:`), dated
citations, retired ids and regimes in force: written once, expanded at load time, and every
finding carries the written id."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from support.packs import make_pack
from support.repo import AS_OF, example

from vasp_rules import PackError, RulePack

MULTI = """\
rules:
  - id: T-01
    version: 1
    title: sanctions on any kind
    outcome: REJECT
    citation: {instrument: Test, provision: s.1, confidence: P, url: "https://example.org/"}
    effective_from: 2025-07-08
    kinds:
      customer:
        when: sanctions_screening.result == "CONFIRMED_MATCH"
        reason: customer {full_name} is designated
        remediation: freeze the customer's assets now
      licence_application:
        when: 'any(p in firm.people: p.sanctions_screening.result == "CONFIRMED_MATCH")'
        values:
          names: >-
            select(p in firm.people where p.sanctions_screening.result == "CONFIRMED_MATCH":
                   p.full_name)
        reason: person {names} is designated
        remediation: remove {names} from the firm
  - id: T-02
    version: 1
    title: one condition over a shared shape
    applies_to: [customer, licence_application]
    when: as_of >= date("2026-01-01")
    outcome: INFO
    reason: shared on {as_of}
    remediation: nothing to do at all
    citation: {instrument: Test, provision: s.2, confidence: A}
    effective_from: 2025-07-08
  - id: T-03
    version: 1
    title: outcome by case
    applies_to: customer
    citation: {instrument: Test, provision: s.3, confidence: A}
    effective_from: 2025-07-08
    remediation: resolve the screening result
    cases:
      - name: confirmed
        when: sanctions_screening.result == "CONFIRMED_MATCH"
        outcome: REJECT
        reason: confirmed for {full_name}
      - name: potential
        when: sanctions_screening.result == "POTENTIAL_MATCH"
        outcome: REFER
        reason: potential for {full_name}
  - id: T-04
    version: 1
    title: dated citation
    applies_to: customer
    when: risk_rating == "LOW"
    outcome: INFO
    reason: low risk for {full_name}
    remediation: nothing to do at all
    effective_from: 2025-07-08
    citation:
      - {from: 2025-07-08, instrument: Old Ordinance, provision: s.1, confidence: A}
      - {from: 2026-03-03, instrument: New Act, provision: s.1, confidence: A}
"""


@pytest.fixture()
def pack(tmp_path: Path) -> RulePack:
    return RulePack.load(make_pack(tmp_path, MULTI))


def test_one_id_fires_on_every_kind_it_names(pack: RulePack) -> None:
    customer = example("customer")
    customer["sanctions_screening"]["result"] = "CONFIRMED_MATCH"
    licence = example("licence_application")
    licence["firm"]["people"][0]["sanctions_screening"]["result"] = "CONFIRMED_MATCH"
    on_customer = pack.evaluate(customer, AS_OF)
    on_licence = pack.evaluate(licence, AS_OF)
    assert "T-01" in on_customer.fired and "T-01" in on_licence.fired
    (fc,) = [f for f in on_customer.findings if f.rule_id == "T-01"]
    (fl,) = [f for f in on_licence.findings if f.rule_id == "T-01"]
    assert fc.reason.startswith("customer ") and fl.reason.startswith("person ")
    assert pack.rule_ids(kind="customer").count("T-01") == 1
    assert "T-02" in on_customer.fired and "T-02" in on_licence.fired
    assert on_customer.rules_evaluated == sorted(set(on_customer.rules_evaluated))


def test_cases_choose_the_outcome_under_one_id(pack: RulePack) -> None:
    doc = example("customer")
    for result, outcome in (("CONFIRMED_MATCH", "REJECT"), ("POTENTIAL_MATCH", "REFER")):
        doc["sanctions_screening"]["result"] = result
        decision = pack.evaluate(doc, AS_OF)
        (finding,) = [f for f in decision.findings if f.rule_id == "T-03"]
        assert finding.outcome.value == outcome
    doc["sanctions_screening"]["result"] = "CLEAR"
    assert "T-03" not in pack.evaluate(doc, AS_OF).fired
    for engine in ("durable", "reference"):
        doc["sanctions_screening"]["result"] = "POTENTIAL_MATCH"
        decision = pack.evaluate(doc, AS_OF, engine=engine)  # type: ignore[arg-type]
        assert decision.fired.count("T-03") == 1


def test_a_dated_citation_cites_the_instrument_in_force(pack: RulePack) -> None:
    doc = example("customer")
    doc["risk_rating"] = "LOW"
    before = pack.evaluate(doc, date(2026, 3, 2)).findings
    after = pack.evaluate(doc, date(2026, 3, 3)).findings
    assert [f.citation.instrument for f in before if f.rule_id == "T-04"] == ["Old Ordinance"]
    assert [f.citation.instrument for f in after if f.rule_id == "T-04"] == ["New Act"]


def test_explanations_trace_the_case_that_fired(pack: RulePack) -> None:
    doc = example("customer")
    doc["sanctions_screening"]["result"] = "POTENTIAL_MATCH"
    decision = pack.evaluate(doc, AS_OF, explain=True)
    assert decision.explanation is not None
    trace = decision.explanation.rule("T-03")
    assert trace is not None and trace.rule_outcome == "REFER" and "POTENTIAL" in trace.condition


def issues_of(root: Path) -> list[str]:
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    return [str(i) for i in info.value.issues]


def test_a_retired_id_cannot_come_back(tmp_path: Path) -> None:
    text = MULTI.replace("id: T-03", "id: VER-02-C")
    found = issues_of(make_pack(tmp_path, text))
    assert any("[VER-02-C]" in i and "retired" in i and "VER-02" in i for i in found)


def test_a_kind_form_is_checked_against_its_own_kind(tmp_path: Path) -> None:
    text = MULTI.replace(
        'when: sanctions_screening.result == "CONFIRMED_MATCH"\n        reason: customer',
        'when: firm.paid_up_capital > 0\n        reason: customer',
    )
    found = issues_of(make_pack(tmp_path, text))
    assert any("[T-01]" in i and "firm" in i for i in found), found


def test_applies_to_and_kinds_must_agree(tmp_path: Path) -> None:
    text = MULTI.replace(
        "    kinds:\n      customer:", "    applies_to: transfer\n    kinds:\n      customer:"
    )
    found = issues_of(make_pack(tmp_path, text))
    assert any("[T-01]" in i and "different document kinds" in i for i in found), found


def test_a_case_without_an_outcome_is_an_error(tmp_path: Path) -> None:
    text = MULTI.replace(
        "        outcome: REFER\n        reason: potential", "        reason: potential"
    )
    found = issues_of(make_pack(tmp_path, text))
    assert any("[T-03]" in i and "outcome" in i for i in found), found


def test_dated_citations_start_on_effective_from(tmp_path: Path) -> None:
    text = MULTI.replace("{from: 2025-07-08, instrument: Old", "{from: 2025-07-09, instrument: Old")
    found = issues_of(make_pack(tmp_path, text))
    assert any("[T-04]" in i and "dated citations start on effective_from" in i for i in found)


def test_before_its_regime_a_kind_is_no_rules_in_force(pack: RulePack) -> None:
    doc = example("customer")
    decision = pack.evaluate(doc, date(2025, 7, 7))
    assert decision.outcome.value == "NO_RULES_IN_FORCE"
    assert decision.regime_starts_on == date(2025, 7, 8)
