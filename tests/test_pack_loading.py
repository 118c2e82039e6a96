"""Loading a pack checks everything before anything runs, and reports every problem at once
with its file, line and rule id."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, example

from vasp_rules import PackError, RulePack


def issues_of(root: Path) -> list[str]:
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    return [str(i) for i in info.value.issues]


def test_all_errors_are_reported_at_once_with_file_line_and_rule(tmp_path: Path) -> None:
    rules = "rules:\n" + "".join([
        rule_yaml("T-01", "licence_application",
                  "firm.paid_up_capitol > param.capital_floor[\"EXCHANGE\"]"),
        rule_yaml("T-02", "licence_application", "submitted_on < firm.paid_up_capital"),
        rule_yaml("T-03", "customer", "param.no_such_parameter > 3"),
        rule_yaml("T-01", "customer", "risk_rating == \"HIGH\""),
        rule_yaml("T-05", "customer", "risk_rating == \"HIGH\" and"),
    ])
    found = issues_of(make_pack(tmp_path, rules))
    text = "\n".join(found)
    assert "rules/test.yaml:2 [T-01]: when: LicenceApplication has no field 'paid_up_capitol'" \
        not in text  # the field is on the firm, reached through firm.
    assert any("[T-01]" in i and "did you mean 'paid_up_capital'" in i for i in found)
    assert any("[T-02]" in i and "cannot compare date with money" in i for i in found)
    assert any("[T-03]" in i and "unknown parameter 'no_such_parameter'" in i for i in found)
    assert any("[T-01]" in i and "duplicate rule id" in i for i in found)
    assert any("[T-05]" in i and "expected a value" in i for i in found)
    assert len(found) == 5
    for issue in found:
        assert issue.startswith("rules/test.yaml:")


def test_line_numbers_point_at_the_rule(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml("T-01", "customer", "risk_rating == \"HIGH\"") + rule_yaml(
        "T-02", "customer", "risk_rating == \"NOPE\"")
    (issue,) = issues_of(make_pack(tmp_path, rules))
    text = (tmp_path / "pack" / "rules" / "test.yaml").read_text().splitlines()
    line = int(issue.split(":")[1].split(" ")[0])
    assert text[line - 1].strip().startswith("when:") and "NOPE" in text[line - 1]


def test_missing_citation_and_bad_dates(tmp_path: Path) -> None:
    rules = """\
    rules:
      - id: T-01
        version: 1
        title: no citation
        applies_to: customer
        when: risk_rating == "HIGH"
        outcome: REFER
        reason: r
        remediation: fix
        effective_from: 2026-01-01
      - id: T-02
        version: 1
        title: bad confidence
        applies_to: customer
        when: risk_rating == "HIGH"
        outcome: REFER
        reason: r
        citation: {instrument: X, provision: s.1, confidence: Q}
        remediation: fix
        effective_from: 2026-01-01
      - id: T-04
        version: 1
        title: window backwards
        applies_to: customer
        when: risk_rating == "HIGH"
        outcome: REFER
        reason: r
        citation: {instrument: X, provision: s.1, confidence: A}
        remediation: fix
        effective_from: 2026-01-01
        effective_to: 2025-01-01
      - id: T-03
        version: 1
        title: not a date
        applies_to: customer
        when: risk_rating == "HIGH"
        outcome: REFERRED
        reason: r
        citation: {instrument: X, provision: s.1, confidence: A}
        remediation: fix
        effective_from: 2026-13-01
    """
    found = issues_of(make_pack(tmp_path, rules))
    text = "\n".join(found)
    assert "[T-01]" in text and "citation: Field required" in text
    assert "[T-02]: citation.confidence:" in text
    assert "[T-04]" in text and "effective_to (2025-01-01) is before" in text
    assert "[T-03]: outcome:" in text and "[T-03]: effective_from:" in text
    assert len(found) == 5


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n  - id: T-01\n    when: [unclosed\n")
    (issue,) = issues_of(root)
    assert issue.startswith("rules/test.yaml:") and "invalid YAML" in issue


def test_parameter_with_no_value_while_a_rule_is_in_force(tmp_path: Path) -> None:
    params = """\
    parameters:
      late_param:
        type: int
        description: starts after the rule
        values:
          - {from: 2027-01-01, value: 5, source: test, confidence: A}
    """
    rules = "rules:\n" + rule_yaml("T-01", "customer", "param.late_param > 3",
                                   effective_from="2026-01-01")
    (issue,) = issues_of(make_pack(tmp_path, rules, params_yaml=params))
    assert "[T-01]" in issue and "'late_param' has no value on 2026-01-01" in issue


def test_parameter_value_must_fit_its_type(tmp_path: Path) -> None:
    params = """\
    parameters:
      bad_money:
        type: money
        description: wrong shape
        values:
          - {from: 2020-01-01, value: 5, source: test, confidence: A}
      bad_list:
        type: list of date
        description: not dates
        values:
          - {from: 2020-01-01, value: [tomorrow], source: test, confidence: A}
    """
    rules = "rules:\n" + rule_yaml("T-01", "customer", "risk_rating == \"HIGH\"")
    found = issues_of(make_pack(tmp_path, rules, params_yaml=params))
    assert any("bad_money" in i and "money value" in i for i in found)
    assert any("bad_list" in i and "not a valid date" in i for i in found)
    assert all(i.startswith("parameters/extra.yaml:") for i in found)


def test_template_placeholders_are_checked(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml("T-01", "customer", "risk_rating == \"HIGH\"",
                                   reason="rating {risk_ratin} is high")
    (issue,) = issues_of(make_pack(tmp_path, rules))
    assert "[T-01]" in issue and "reason:" in issue and "did you mean 'risk_rating'" in issue


def test_not_a_pack() -> None:
    with pytest.raises(PackError, match="no such rule pack"):
        RulePack.load("no-such-pack-anywhere")


def test_rule_outside_its_window_is_not_evaluated(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml("T-01", "customer", "true", effective_from="2026-01-01",
                                   effective_to="2026-03-31")
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("customer")
    from datetime import date

    assert pack.evaluate(doc, date(2025, 12, 31)).rules_evaluated == []
    assert pack.evaluate(doc, date(2025, 12, 31)).no_rules_in_force
    assert pack.evaluate(doc, date(2025, 12, 31)).outcome.value == "NO_RULES_IN_FORCE"
    assert pack.evaluate(doc, date(2026, 1, 1)).fired == ["T-01"]
    assert pack.evaluate(doc, date(2026, 3, 31)).fired == ["T-01"]
    assert pack.evaluate(doc, date(2026, 4, 1)).fired == []


def test_missing_fact_yields_require_documents_naming_it(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-01", "licence_application",
        "firm.paid_up_capital < firm.annual_fixed_overheads * 0.25")
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("licence_application")
    del doc["firm"]["annual_fixed_overheads"]
    decision = pack.evaluate(doc, AS_OF)
    (finding,) = decision.findings
    assert finding.outcome.value == "REQUIRE_DOCUMENTS"
    assert finding.missing == ["firm.annual_fixed_overheads"]
    assert "firm.annual_fixed_overheads" in finding.reason
    # false AND unknown is false: no finding, nothing asked for
    rules = "rules:\n" + rule_yaml(
        "T-01", "licence_application",
        "stage == \"FULL\" and firm.paid_up_capital < firm.annual_fixed_overheads * 0.25")
    pack = RulePack.load(make_pack(tmp_path, rules))
    assert pack.evaluate(doc, AS_OF).findings == []


def test_a_condition_may_use_the_rules_named_values(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-01", "customer", "risky and p > 0", values="{risky: 'risk_rating == \"HIGH\"', "
        "p: 'count(p in exposure_countries: p != \"PK\")'}")
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("customer")
    doc["risk_rating"], doc["exposure_countries"] = "HIGH", ["AE"]
    assert pack.evaluate(doc, AS_OF).fired == ["T-01"]
    doc["risk_rating"] = "LOW"
    assert pack.evaluate(doc, AS_OF).fired == []
    for engine in ("durable", "reference"):
        doc["risk_rating"] = "HIGH"
        assert pack.evaluate(doc, AS_OF, engine=engine).fired == ["T-01"]


def test_reason_templates_format_lists_of_dates_and_money(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-01", "licence_application", "len(firm.foreign_licences) > 0",
        reason="expiring {firm.foreign_licences.expires_on}; capital {firm.paid_up_capital}")
    pack = RulePack.load(make_pack(tmp_path, rules))
    (finding,) = pack.evaluate(example("licence_application"), AS_OF).findings
    assert finding.reason == "expiring 2027-07-14, 2028-01-31; capital PKR 850,000,000"


def test_parameters_are_not_reported_as_document_facts(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-01", "licence_application",
        "any(t in param.eoi_required_documents: t not in documents.type)",
        effective_from="2025-09-13")
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("licence_application")
    doc["documents"] = doc["documents"][:2]
    (finding,) = pack.evaluate(doc, AS_OF).findings
    assert finding.facts and all(not k.startswith("param.") for k in finding.facts)
    assert "documents[0].type" in finding.facts


def test_max_of_an_empty_list_asks_for_an_item(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-01", "licence_application",
        "firm.paid_up_capital < max(a in activities: param.capital_floor[a])",
        effective_from="2025-09-13")
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("licence_application")
    doc["activities"] = []
    (finding,) = pack.evaluate(doc, AS_OF).findings
    assert finding.missing == ["activities (at least one item)"]
