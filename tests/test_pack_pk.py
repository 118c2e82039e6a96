"""The bundled Pakistan pack: complete against the catalogue, cited with the right confidence,
effective-dated along the regime's timeline, free of A-tagged literals, and fully covered by the
scenario suites (the CI gate: every rule fired and seen not firing)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.dates import sample_dates
from support.repo import EXAMPLES, PK, ROOT, example

from vasp_rules import RulePack
from vasp_rules.compiler.compile import compile_pack
from vasp_rules.entities.ivms101 import parse_ivms101
from vasp_rules.lang.ast import Literal, walk
from vasp_rules.pack.params import value_on
from vasp_rules.testing.scenarios import Coverage, PackCache, discover, load_cases, run_case

SCENARIOS = ROOT / "tests" / "scenarios"
# A copy of the project's shared rule catalogue (shared/domain/CATALOGUE.md, outside this
# repository), kept here so the check below runs on any checkout; refresh it when that file changes.
SHARED_CATALOGUE = ROOT / "tests" / "fixtures" / "CATALOGUE.md"

# Every rule of the shared CATALOGUE.md: its outcome and the confidence tag of the source it
# is modelled on (the first tag of its "modelled on" column; LIC-14 is "as LIC-13"). The rule's
# citation carries that tag; A-tagged figures live in parameters. Checked against the copy of
# the shared file below.
CATALOGUE: dict[str, tuple[str, str]] = {
    "LIC-01": ("REFER", "S"),
    "LIC-02": ("REJECT", "S"),
    "LIC-03": ("REFER", "S"),
    "LIC-04": ("REQUIRE_DOCUMENTS", "S"),
    "LIC-05": ("REJECT", "S"),
    "LIC-06": ("REQUIRE_DOCUMENTS", "S"),
    "LIC-07": ("REJECT", "S"),
    "LIC-08": ("APPROVE_WITH_CONDITIONS", "S"),
    "LIC-09": ("REFER", "S"),
    "LIC-10": ("REFER", "A"),  # counted from an assumed date
    "LIC-11": ("INFO", "S"),
    "LIC-12": ("REJECT", "A"),
    "LIC-13": ("REJECT", "P"),
    "LIC-14": ("REQUIRE_DOCUMENTS", "P"),
    "LIC-15": ("REFER", "A"),  # comparators [P]; applying them to Pakistan [A]
    "LIC-16": ("REFER", "A"),
    "LIC-17": ("REQUIRE_DOCUMENTS", "A"),
    "LIC-18": ("REJECT", "A"),  # SECP practice [S]; PVARA [A]; PENDING: REQUIRE_DOCUMENTS
    "LIC-19": ("INFO", "S"),
    "LIC-20": ("REFER", "S"),
    "LIC-21": ("REFER", "S"),
    "LIC-22": ("REQUIRE_DOCUMENTS", "P"),
    "VER-01": ("REJECT", "P"),
    "VER-02": ("REJECT", "P"),
    "VER-03": ("REFER", "P"),
    "VER-04": ("REFER", "P"),
    "VER-05": ("REQUIRE_DOCUMENTS", "S"),
    "VER-06": ("REQUIRE_DOCUMENTS", "S"),
    "VER-07": ("REFER", "S"),
    "VER-08": ("REFER", "S"),
    "VER-09": ("REJECT", "P"),
    "VER-10": ("REFER", "S"),
    "VER-11": ("INFO", "S"),
    "VER-12": ("APPROVE_WITH_CONDITIONS", "S"),
    "VER-13": ("REJECT", "P"),
    "VER-14": ("REFER", "S"),
    "VER-15": ("REQUIRE_DOCUMENTS", "P"),
    "AMN-01": ("REJECT", "S"),
    "AMN-02": ("REJECT", "S"),
    "AMN-03": ("REJECT", "S"),
    "AMN-04": ("REJECT", "P"),
    "AMN-05": ("REQUIRE_DOCUMENTS", "P"),
    "AMN-06": ("REQUIRE_DOCUMENTS", "P"),
    "AMN-07": ("REJECT", "A"),
    "AMN-08": ("INFO", "S"),
    "AMN-09": ("REFER", "P"),
    "AMN-10": ("REJECT", "S"),
    "AMN-11": ("REQUIRE_DOCUMENTS", "A"),
    "AMN-12": ("REFER", "P"),
    "AMN-13": ("INFO", "P"),
    "AMN-14": ("REFER", "A"),
    "AMN-15": ("REJECT", "A"),
    "TR-01": ("REJECT", "P"),
    "TR-02": ("REJECT", "P"),
    "TR-03": ("REJECT", "P"),
    "TR-04": ("REFER", "P"),
    "TR-05": ("REFER", "P"),
    "TR-06": ("REQUIRE_DOCUMENTS", "P"),
    "TR-07": ("APPROVE_WITH_CONDITIONS", "P"),
    "TR-08": ("REJECT", "P"),
    "TR-09": ("REJECT", "P"),
    "TR-10": ("REFER", "S"),
}

# Outcomes a rule's other cases yield besides its catalogue outcome (one id per catalogue rule:
# the -C / -P variants and AMN-00 of pack 0.2 are cases or kinds of the catalogue rule now).
CASE_OUTCOMES: dict[str, set[str]] = {
    "LIC-12": {"REQUIRE_DOCUMENTS"},  # no activity requested
    "LIC-18": {"REQUIRE_DOCUMENTS"},  # clearance PENDING
}
RETIRED = {"VER-02-C", "VER-03-C", "VER-04-C", "LIC-18-P", "AMN-00"}

# The regime's timeline (REGIME.md): every rule takes effect on one of these dates.
TIMELINE = {
    date(2018, 4, 6): "SBP BPRD Circular 3 of 2018",
    date(2025, 7, 8): "Virtual Assets Ordinance 2025",
    date(2025, 9, 13): "PVARA Expression of Interest",
    date(2025, 12, 2): "PVARA NOC Regulations 2025",
    date(2025, 12, 5): "amnesty announced (illustrative programme)",
    date(2026, 3, 3): "Virtual Assets Act 2026",
    date(2030, 12, 31): "FATF revised R.16 applied",
}

PROGRAMME = "PK-VA-AMNESTY-2026"


def _rules(pk: RulePack) -> dict[str, Any]:
    return {r.id: r for r in pk.loaded.rules}


# -- completeness and citations -------------------------------------------------------------------


def test_every_catalogued_rule_is_in_the_pack_under_its_own_id(pk: RulePack) -> None:
    ids = {r.id for r in pk.loaded.rules}
    assert ids == set(CATALOGUE)
    assert set(pk.loaded.manifest.retired_ids) == RETIRED


def test_one_id_applies_to_every_kind_the_catalogue_names(pk: RulePack) -> None:
    kinds: dict[str, set[str]] = {}
    for rule in pk.loaded.rules:
        kinds.setdefault(rule.id, set()).add(rule.kind)
    every = {"licence_application", "customer", "amnesty_declaration", "transfer"}
    assert kinds["VER-02"] == kinds["VER-03"] == every
    assert kinds["VER-04"] == kinds["VER-13"] == {"licence_application", "customer"}


def test_embedded_catalogue_matches_the_shared_one() -> None:
    rows = {}
    for line in SHARED_CATALOGUE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| ((?:LIC|VER|AMN|TR)-\d+) \| .*? \| (.*?) \| (.*?) \|$", line.strip())
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    assert set(rows) == set(CATALOGUE)
    for rule_id, (outcome, modelled_on) in rows.items():
        tags = re.findall(r"\[([PSA])\]", modelled_on)
        if modelled_on.startswith("as "):
            tags = re.findall(r"\[([PSA])\]", rows[modelled_on[3:].strip()][1])
        expected_outcome, expected_tag = CATALOGUE[rule_id]
        # the rule's tag is one of its sources' tags: the first, or A where the rule as a
        # whole rests on an assumption (LIC-10, LIC-15, LIC-16, LIC-17)
        assert expected_tag in tags, rule_id
        assert outcome.startswith(expected_outcome) or outcome == "as stated", rule_id


def test_outcomes_and_confidence_tags_match_the_catalogue(pk: RulePack) -> None:
    for rule in pk.loaded.rules:
        outcome, tag = CATALOGUE[rule.id]
        assert rule.spec.outcome.value in {outcome} | CASE_OUTCOMES.get(rule.id, set()), rule.id
        assert rule.spec.citation.confidence == tag, rule.id
    for rule_id, extra in CASE_OUTCOMES.items():
        outcomes = {r.spec.outcome.value for r in pk.loaded.rules if r.id == rule_id}
        assert outcomes == {CATALOGUE[rule_id][0]} | extra, rule_id


def test_citations_name_an_instrument_and_link_to_their_source(pk: RulePack) -> None:
    for rule in pk.loaded.rules:
        c = rule.spec.citation
        assert c.instrument and c.provision
        if c.confidence in ("P", "S"):
            assert c.url and c.url.startswith("https://"), rule.id
        if c.confidence == "A":
            text = (c.instrument + c.provision).lower()
            assert "illustrative" in text or "assum" in text or rule.id == "LIC-12", rule.id


def test_every_reason_shows_values_and_every_remediation_says_what_clears_it(pk: RulePack) -> None:
    for rule in pk.loaded.rules:
        assert re.search(r"\{[^{}]+\}", rule.spec.reason), f"{rule.id}: reason shows no value"
        assert len(rule.spec.remediation.split()) >= 5, rule.id


# -- parameters ----------------------------------------------------------------------------------


def test_no_number_literal_in_rules_except_0_1_100(pk: RulePack) -> None:
    """A-tagged figures are parameters: a rule may only use 0, 1 and 100 as literal numbers."""
    for rule in pk.loaded.rules:
        trees = [rule.condition, *(e for e, _t in rule.values.values())]
        trees += [p.expr for p in (*rule.reason, *rule.remediation) if p.expr is not None]
        for tree in trees:
            for node in walk(tree):
                if isinstance(node, Literal) and isinstance(node.value, int | Decimal):
                    if not isinstance(node.value, bool):
                        assert node.value in (0, 1, 100), f"{rule.id}: literal {node.value}"
                if isinstance(node, Literal) and isinstance(node.value, date):
                    pytest.fail(f"{rule.id}: literal date {node.value}; use a parameter")


def test_parameters_carry_provenance_and_a_values_are_flagged(pk: RulePack) -> None:
    for name, spec in pk.loaded.params.items():
        for entry in spec.values:
            assert entry.source.strip(), name
            assert entry.confidence in ("P", "S", "A"), name
        if name.startswith("amnesty_"):
            assert spec.illustrative, f"{name}: amnesty figures are illustrative"
            assert all(e.confidence == "A" for e in spec.values), name
            assert "ILLUSTRATIVE" in spec.description, name
        if spec.illustrative:
            assert any(e.confidence == "A" for e in spec.values), name


def test_amnesty_parameters_are_keyed_by_programme(pk: RulePack) -> None:
    for name, spec in pk.loaded.params.items():
        if name.startswith("amnesty_") and spec.type.startswith("table of "):
            for entry in spec.values:
                assert set(entry.value) == {PROGRAMME}, name


def test_the_published_extension_moves_the_window_close(pk: RulePack) -> None:
    closes = pk.loaded.params["amnesty_window_closes"]
    before = value_on(closes, date(2026, 6, 23))
    after = value_on(closes, date(2026, 6, 24))
    assert before is not None and after is not None
    assert before.value[PROGRAMME] == date(2026, 6, 30)
    assert after.value[PROGRAMME] == date(2026, 7, 31)
    assert "extension" in after.source


# -- effective dating -----------------------------------------------------------------------------


def test_rules_take_effect_on_the_regime_timeline(pk: RulePack) -> None:
    for rule in pk.loaded.rules:
        assert rule.spec.effective_from in TIMELINE, rule.id


@pytest.mark.parametrize(
    ("kind", "day", "added"),
    [
        ("licence_application", date(2025, 7, 8), {"LIC-12", "LIC-21", "VER-01", "VER-05"}),
        ("licence_application", date(2025, 9, 13), {"LIC-02", "LIC-03", "LIC-04", "VER-08"}),
        ("licence_application", date(2025, 12, 2), {"LIC-05", "LIC-11", "VER-06", "VER-12"}),
        ("licence_application", date(2026, 3, 3), {"LIC-01", "LIC-19"}),
        ("amnesty_declaration", date(2025, 12, 5), {"AMN-01", "AMN-13", "AMN-14"}),
        ("transfer", date(2025, 7, 8), {"TR-01", "TR-10"}),
        ("transfer", date(2030, 12, 31), {"TR-09"}),
    ],
)
def test_the_same_document_gets_the_rules_in_force_on_each_date(
    pk: RulePack, kind: str, day: date, added: set[str]
) -> None:
    doc = example(kind)
    before = set(pk.evaluate(doc, day - timedelta(days=1)).rules_evaluated)
    on = set(pk.evaluate(doc, day).rules_evaluated)
    assert before < on
    assert added <= on - before


def test_licensing_decides_nothing_before_the_ordinance(pk: RulePack) -> None:
    """LIC-21 (the 2018 circular) is in force, but the licensing regime is not: a regime
    that is not in force decides nothing, and the decision says when it starts."""
    assert "LIC-21" in pk.rule_ids(on=date(2020, 1, 1), kind="licence_application")
    for day in (date(2019, 6, 1), date(2025, 7, 7)):
        decision = pk.evaluate(example("licence_application"), day)
        assert decision.outcome.value == "NO_RULES_IN_FORCE"
        assert decision.findings == [] and decision.rules_evaluated == []
        assert decision.regime_starts_on == date(2025, 7, 8)
        assert '"regime_starts_on": "2025-07-08"' in decision.to_json()
    after = pk.evaluate(example("licence_application"), date(2025, 7, 8))
    assert after.regime_starts_on is None and "regime_starts_on" not in after.to_json()
    assert "LIC-21" in after.fired


@pytest.mark.parametrize(
    ("kind", "day"),
    [
        ("licence_application", date(2018, 4, 5)),
        ("licence_application", date(2025, 7, 7)),
        ("customer", date(2025, 7, 7)),
        ("transfer", date(2025, 7, 7)),
        ("amnesty_declaration", date(2025, 12, 4)),
    ],
)
def test_no_rule_in_force_is_reported_not_approved_silently(
    pk: RulePack, kind: str, day: date
) -> None:
    decision = pk.evaluate(example(kind), day)
    assert decision.rules_evaluated == []
    assert decision.no_rules_in_force
    assert decision.outcome.value == "NO_RULES_IN_FORCE"  # not an approval
    assert pk.evaluate(example(kind), date(2026, 6, 1)).no_rules_in_force is False


def test_matcher_builds_on_every_date_the_pack_changes(pk: RulePack) -> None:
    """Folding as_of and parameters changes the matcher patterns from one date to another, and
    durable-rules refuses patterns with too many expressions. Build the matcher on every date a
    rule or parameter value starts or ends, on every date a date parameter names, and on a
    sample of the days between (support.dates: the day before each change, month ends near
    them, holidays, leap days, seeded random days)."""
    days: set[date] = set()
    for rule in pk.loaded.rules:
        days.add(rule.spec.effective_from)
        if rule.spec.effective_to:
            days.add(rule.spec.effective_to + timedelta(days=1))
    # the holiday calendar's days are never compared with as_of in a pattern (working-day counts
    # run in Python, lang.dates), so they change no matcher: its 2018-2040 days are left out
    calendar = set(pk.loaded.manifest.holidays_parameters)
    for name, spec in pk.loaded.params.items():
        for entry in spec.values:
            days.add(entry.from_)
            if entry.to:
                days.add(entry.to + timedelta(days=1))
            raw = entry.value
            items = (
                raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
            )
            for item in items:
                if isinstance(item, date) and name not in calendar:
                    days |= {item, item + timedelta(days=1)}
    # between changes the patterns differ only in the folded dates: a sample of those days
    days.update(sample_dates(date(2025, 1, 1), date(2032, 1, 1), pk, random_days=12))
    for day in sorted(days):
        compiled = compile_pack(pk.loaded, day)
        try:
            compiled.matcher().create_all()
        finally:
            compiled.close()


# -- amnesty semantics ---------------------------------------------------------------------------


def _amnesty(**changes: Any) -> dict[str, Any]:
    doc = json.loads((EXAMPLES / "amnesty_declaration_extension.json").read_text())
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("amount", "tier", "levy"),
    [
        ("5000000.00", "T1", "PKR 100,000"),
        ("5000000.01", "T2", "PKR 150,000"),
        ("50000000.00", "T2", "PKR 1,500,000"),
        ("50000000.01", "T3", "PKR 2,500,000"),
    ],
)
def test_amn08_states_tier_and_levy_in_pkr(pk: RulePack, amount: str, tier: str, levy: str) -> None:
    doc = _amnesty()
    doc["holdings"] = doc["holdings"][:1]
    doc["holdings"][0]["value_at_reference"] = {"amount": amount, "currency": "PKR"}
    decision = pk.evaluate(doc, date(2026, 8, 10))
    (finding,) = [f for f in decision.findings if f.rule_id == "AMN-08"]
    assert f"tier {tier}" in finding.reason
    assert f"is {levy} " in finding.reason


def test_amn13_is_on_every_decision_under_the_programme(pk: RulePack) -> None:
    variants = [
        _amnesty(),
        _amnesty(submitted_on="2026-09-01"),
        _amnesty(attestation_signed=False),
        _amnesty(holdings=[]),
        json.loads((EXAMPLES / "amnesty_declaration.json").read_text()),
    ]
    for day in (date(2025, 12, 5), date(2026, 7, 15), date(2027, 1, 1)):
        for doc in variants:
            assert "AMN-13" in pk.evaluate(doc, day).fired


def test_amn01_honours_the_extension(pk: RulePack) -> None:
    late = _amnesty(submitted_on="2026-07-15")
    assert "AMN-01" not in pk.evaluate(late, date(2026, 7, 20)).fired
    assert "AMN-01" in pk.evaluate(_amnesty(submitted_on="2026-08-01"), date(2026, 8, 2)).fired


# -- examples -----------------------------------------------------------------------------------


def test_examples_decide_as_the_readme_shows(pk: RulePack) -> None:
    """`vasp-rules evaluate examples/*.json --as-of 2026-06-01` (README)."""
    expected = {
        "licence_application": ("REFER", {"LIC-21", "VER-06", "LIC-11", "LIC-19"}),
        "customer": ("APPROVE", set()),
        "amnesty_declaration": ("REFER", {"AMN-09", "AMN-08", "AMN-13"}),
        "transfer": ("APPROVE", set()),
    }
    for kind, (outcome, fired) in expected.items():
        decision = pk.evaluate(example(kind), date(2026, 6, 1))
        assert decision.outcome.value == outcome, kind
        assert set(decision.fired) == fired, kind


def test_every_example_file_is_valid(pk: RulePack) -> None:
    for path in sorted(EXAMPLES.rglob("*.json")):
        data = json.loads(path.read_text())
        docs = data if isinstance(data, list) else [data]
        if path.parent.name == "ivms101" and "ivms101" in docs[0]:  # IVMS101 envelopes
            docs = [parse_ivms101(d) for d in docs]
        assert pk.evaluate_many(docs, date(2026, 6, 1)), path


# -- the scenario suites: the CI coverage gate ----------------------------------------------


def test_scenario_suites_pass_and_cover_every_rule(pk: RulePack) -> None:
    """Every rule of the bundled pack fires in some case and is seen not firing in another."""
    files = discover([SCENARIOS])
    assert {f.name for f in files} >= {
        f"{area}.scenarios.yaml"
        for area in ("licensing", "verification", "amnesty", "travel_rule", "end_to_end")
    }
    packs = PackCache()
    coverage = Coverage()
    failures = []
    for file in files:
        for case in load_cases(file):
            assert Path(case.pack).resolve() == PK.resolve(), case.name
            result = run_case(case, packs)
            coverage.add(result)
            if not result.passed:
                failures.append(f"{file.name}::{case.name}\n{result.diff()}")
    assert failures == []
    assert pk.always_rule_ids() == ["AMN-13"]
    assert coverage.gaps(pk.rule_ids(), pk.always_rule_ids()) == []
