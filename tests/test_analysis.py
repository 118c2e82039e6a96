"""Rule-pack analysis: the symbolic model agrees with the engine, analyze finds what is there
(and only that), diff witnesses reproduce, and the CLI's shapes and exit codes."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import z3
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, PK
from support.strategies import any_document, documents

from vasp_rules import RulePack
from vasp_rules.analysis import Side, analyze, diff
from vasp_rules.cli import main
from vasp_rules.entities.amnesty import ExposurePct
from vasp_rules.solver.schema import fields_of
from vasp_rules.solver.symbolic import Encoder, SymDoc, rule_model

EXTRA_PARAMS = """
parameters:
  risk_limits:
    type: table of number
    description: A table with no row for any risk rating (the rule reading it is never decided).
    values:
      - from: 2018-01-01
        value: {NOPE: "1"}
        source: test
        confidence: A
"""

RULES = "rules:\n" + "".join(
    [
        rule_yaml("T-DEAD", "customer", 'pep == "NONE" and pep != "NONE"'),
        rule_yaml("T-ALWAYS", "customer", 'pep == "NONE" or pep != "NONE"', "REFER"),
        rule_yaml("T-SANC", "customer", 'sanctions_screening.result == "CONFIRMED_MATCH"'),
        rule_yaml(
            "T-RED",
            "customer",
            'sanctions_screening.result == "CONFIRMED_MATCH" and risk_rating == "HIGH"',
            "REFER",
        ),
        rule_yaml("T-UNDEC", "customer", "param.risk_limits[risk_rating] > 0", "REFER"),
        rule_yaml("T-REGEX", "customer", 'matches(full_name, "A.*")', "REFER"),
        rule_yaml("T-CASH", "customer", "largest_cash_transaction >= param.ctr_threshold", "REFER"),
    ]
)


@pytest.fixture(scope="module")
def test_pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    root = make_pack(tmp_path_factory.mktemp("analysis"), RULES, params_yaml=EXTRA_PARAMS)
    return RulePack.load(root)


@pytest.fixture(scope="module")
def analysis(test_pack: RulePack) -> dict[str, Any]:
    return analyze(test_pack, AS_OF).to_json()


def test_analyze_finds_dead_always_redundant_undecidable_and_unknown(
    analysis: dict[str, Any],
) -> None:
    customer = analysis["kinds"]["customer"]
    assert customer["dead"] == ["T-DEAD"]
    assert customer["always"] == ["T-ALWAYS"]
    assert {"rule": "T-RED", "implied_by": "T-SANC"} in customer["redundant"]
    assert customer["undecidable"] == ["T-UNDEC"]
    assert customer["unknown"] == ["T-REGEX"]
    # a rule that always fires makes every rule of lower or equal severity redundant
    assert {"rule": "T-CASH", "implied_by": "T-ALWAYS"} in customer["redundant"]
    assert all("T-CASH" not in customer[k] for k in ("dead", "always", "undecidable", "unknown"))


def test_redundancy_respects_severity(analysis: dict[str, Any]) -> None:
    # T-SANC (REJECT) fires whenever T-RED (REFER) does; not the other way round
    pairs = analysis["kinds"]["customer"]["redundant"]
    assert {"rule": "T-SANC", "implied_by": "T-RED"} not in pairs


@settings(max_examples=60, suppress_health_check=list(HealthCheck))
@given(doc=documents("customer"))
def test_no_document_fires_a_rule_called_dead(
    test_pack: RulePack, analysis: dict[str, Any], doc: dict[str, Any]
) -> None:
    dead = set(analysis["kinds"]["customer"]["dead"])
    always = set(analysis["kinds"]["customer"]["always"])
    decision = test_pack.evaluate(doc, AS_OF, engine="reference")
    fired = {f.rule_id for f in decision.findings}
    assert not dead & fired
    assert always <= fired


@pytest.fixture(scope="module")
def pk_analysis(pk: RulePack) -> dict[str, Any]:
    return analyze(pk, AS_OF).to_json()


@settings(max_examples=40, suppress_health_check=list(HealthCheck))
@given(doc=any_document())
def test_no_document_fires_a_pk_rule_called_dead(
    pk: RulePack, pk_analysis: dict[str, Any], doc: dict[str, Any]
) -> None:
    dead = {rid for report in pk_analysis["kinds"].values() for rid in report["dead"]}
    assert dead  # AMN-10 and LIC-01 on 2026-06-01 (see docs/analysis.md)
    fired = {f.rule_id for f in pk.evaluate(doc, AS_OF).findings}
    assert not dead & fired


def _rule_witnesses(pack: RulePack, on: date) -> list[tuple[str, str, dict[str, Any], bool | None]]:
    """For every exactly encoded rule of the pack: a document on which the model says each of
    its internal rules (cases, kinds) fires holding, one on which it fires for missing facts,
    and one on which none fires (when such documents exist)."""
    compiled = pack.compiled(on)
    out: list[tuple[str, str, dict[str, Any], bool | None]] = []
    docs: dict[str, SymDoc] = {}
    groups: dict[tuple[str, str], list[Any]] = {}
    for rule in compiled.rules:
        doc = docs.setdefault(rule.kind, SymDoc(rule.kind, 2, compiled.fx))
        m = rule_model(Encoder(doc, compiled, alone=True), rule, opaque=False)
        groups.setdefault((rule.kind, rule.id), []).append(m)
    for (kind, rule_id), cases in groups.items():
        if not all(m.exact for m in cases):
            continue
        doc = docs[kind]
        questions: list[tuple[Any, bool | None]] = []
        for m in cases:
            questions += [(m.fires_true, True), (m.fires_unknown, False)]
        questions.append((z3.And([z3.Not(m.fires) for m in cases]), None))
        for formula, held in questions:
            s = z3.Solver()
            s.add(*doc.axioms, formula)
            if s.check() == z3.sat:
                out.append((rule_id, kind, doc.document(s.model()), held))
    return out


@pytest.mark.parametrize("on", [AS_OF, date(2025, 12, 10)])
def test_model_agrees_with_engine_on_every_pk_rule(pk: RulePack, on: date) -> None:
    """Documents built from the model make each rule fire (held or for missing facts) or not,
    exactly as the model says, through the durable-rules engine."""
    cases = _rule_witnesses(pk, on)
    assert len(cases) > 80
    for rule_id, _kind, document, held in cases:
        decision = pk.evaluate(document, on)
        # one finding per case that fired: a rule id with several cases may have more than one
        findings = [f for f in decision.findings if f.rule_id == rule_id]
        if held is None:
            assert not findings, (rule_id, document)
        else:
            assert findings, (rule_id, held, document)
            asked = any(f.outcome == "REQUIRE_DOCUMENTS" and f.missing != [] for f in findings)
            assert held or asked, (rule_id, document)


@pytest.mark.parametrize("on", [AS_OF, date(2025, 12, 10), date(2030, 12, 31)])
def test_model_agrees_with_engine_case_by_case(pk: RulePack, on: date) -> None:
    """Each compiled rule (a kind or case of a rule id) fires holding, fires for missing facts,
    or does not fire on the model's witness exactly as the model says, in both engines. (A
    finding carries only the rule id: comparing one case's verdict with the id's findings
    mistakes another case firing on the same document, say AMN-01's unknown programme on a
    document where its window case is false, for a disagreement.)"""
    from vasp_rules.runtime.evaluate import context_for, fired_rules
    from vasp_rules.runtime.rulepack import _item

    compiled = pk.compiled(on)
    docs: dict[str, SymDoc] = {}
    models = []
    for rule in compiled.rules:
        doc = docs.setdefault(rule.kind, SymDoc(rule.kind, 2, compiled.fx))
        models.append((doc, rule_model(Encoder(doc, compiled, alone=True), rule, opaque=False)))
    checked = 0
    for doc, m in models:
        if not m.exact:
            continue
        questions = [(m.fires_true, True), (m.fires_unknown, False), (z3.Not(m.fires), None)]
        for formula, held in questions:
            s = z3.Solver()
            s.add(*doc.axioms, formula)
            if s.check() != z3.sat:
                continue
            item = _item(doc.document(s.model()), None)
            ctx = context_for(compiled, item, [item])
            for engine in ("durable", "reference"):
                fired = {r.key: h for r, h in fired_rules(compiled, item, ctx, engine)}
                assert fired.get(m.rule.key) == held, (m.rule.key, engine, held, item.model)
                checked += 1
    assert checked > 250


def test_decimals_in_the_model_have_at_most_18_places() -> None:
    """The schema admits at most 18 decimal places: a value between two of them has no
    document (rendered, it rounds to a neighbour on which a rule may decide otherwise: AMN-12
    at a mixer share of 20 + 10^-20 percent, exactly at its 20% limit once written)."""
    doc = SymDoc("amnesty_declaration", 1)
    shape = fields_of(ExposurePct)["mixer"]
    mixer = doc.scalar(shape, ("holdings", 0, "exposure_pct", "mixer"))
    s = z3.Solver()
    s.add(*doc.axioms, mixer > 20, mixer < z3.RealVal("20.000000000000000001"))
    assert s.check() == z3.unsat
    s = z3.Solver()
    s.add(*doc.axioms, mixer > 20, mixer <= z3.RealVal("20.000000000000000001"))
    assert s.check() == z3.sat
    assert doc._value(shape, ("holdings", 0, "exposure_pct", "mixer"), s.model()) == (
        "20.000000000000000001"
    )


def test_diff_of_a_pack_with_itself_is_equivalent(pk: RulePack) -> None:
    result = diff(Side(pk, AS_OF), Side(pk, AS_OF))
    assert result.equivalent
    assert result.to_json() == {"on": "2026-06-01", "equivalent": True, "witnesses": []}


@pytest.fixture(scope="module")
def raised_threshold(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    root = tmp_path_factory.mktemp("pk2") / "pk"
    shutil.copytree(PK, root)
    params = root / "parameters" / "travel_rule.yaml"
    text = params.read_text()
    assert "value: {amount: 1000, currency: USD}" in text
    params.write_text(
        text.replace(
            "value: {amount: 1000, currency: USD}", "value: {amount: 1200, currency: USD}", 1
        )
    )
    return RulePack.load(root)


def test_changed_threshold_yields_witnesses_at_the_boundary(
    pk: RulePack, raised_threshold: RulePack
) -> None:
    result = diff(Side(pk, AS_OF), Side(raised_threshold, AS_OF), kinds=["transfer"])
    data = result.to_json()
    assert data["equivalent"] is False
    assert data["witnesses"]
    assert result.unconfirmed == {}  # every solver answer reproduced through the engine
    old_t, new_t = 1000 * 280, 1200 * 280  # PKR at the pack's USD rate
    for w in data["witnesses"]:
        assert w["kind"] == "transfer"
        value = w["document"]["value"]
        assert value["currency"] == "PKR"
        assert old_t <= float(value["amount"]) < new_t
        # every witness reproduces through the normal engine
        a = pk.evaluate(w["document"], AS_OF)
        b = raised_threshold.evaluate(w["document"], AS_OF)
        assert (str(a.outcome), sorted({f.rule_id for f in a.findings})) == (
            w["old"]["outcome"],
            w["old"]["fired"],
        )
        assert (str(b.outcome), sorted({f.rule_id for f in b.findings})) == (
            w["new"]["outcome"],
            w["new"]["fired"],
        )
        assert w["old"] != w["new"]


def test_two_dates_of_one_pack(pk: RulePack) -> None:
    """What changes on the day LIC-19 takes effect (2026-03-03)."""
    result = diff(Side(pk, date(2026, 3, 2)), Side(pk, date(2026, 3, 3)), witnesses=2)
    assert not result.equivalent
    assert result.unconfirmed == {}
    # only cross-document rules are not modelled exactly (AMN-14, TR-10); they are unchanged,
    # so every kind is settled: a confirmed witness or proved equivalent
    assert result.undetermined == {}
    assert set(result.differing) >= {"licence_application"}
    # each change comes from a rule that starts that day or reads the date
    dated = {
        r.id
        for r in pk.loaded.rules
        if "as_of" in r.spec.when or r.spec.effective_from == date(2026, 3, 3)
    }
    for w in result.witnesses:
        old, new = set(w.to_json()["old"]["fired"]), set(w.to_json()["new"]["fired"])
        assert old != new
        assert (old ^ new) <= dated, (old ^ new, w.to_json())


# -- command line ------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_cli_analyze_json_shape_and_exit_codes(test_pack: RulePack) -> None:
    res = _run("analyze", str(test_pack.root), "--on", "2026-06-01", "--format", "json")
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert set(data) == {"on", "kinds", "timeline"}
    assert data["on"] == "2026-06-01"
    assert set(data["kinds"]["customer"]) == {
        "dead",
        "always",
        "redundant",
        "undecidable",
        "unknown",
    }
    assert _run("analyze", "no-such-pack", "--on", "2026-06-01").exit_code == 2
    assert _run("analyze", "pk", "--on", "yesterday").exit_code == 2


def test_cli_analyze_exit_0_when_nothing_found(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-OK", "customer", 'pep != "NONE"'))
    res = _run("analyze", str(root), "--on", "2026-06-01")
    assert res.exit_code == 0, res.output
    assert "nothing found" in res.output


def test_cli_analyze_reports_parameter_gaps(tmp_path: Path) -> None:
    params = """
    parameters:
      gappy:
        type: int
        description: a parameter with a hole in its timeline
        values:
          - {from: 2018-01-01, to: 2019-12-31, value: 1, source: test, confidence: A}
          - {from: 2020-02-01, value: 2, source: test, confidence: A}
    """
    root = make_pack(
        tmp_path, "rules:\n" + rule_yaml("T-OK", "customer", 'pep != "NONE"'), params_yaml=params
    )
    res = _run("analyze", str(root), "--on", "2026-06-01", "--format", "json")
    assert res.exit_code == 1
    assert {
        "type": "parameter_gap",
        "parameter": "gappy",
        "from": "2020-01-01",
        "to": "2020-01-31",
    } in json.loads(res.output)["timeline"]


def test_cli_diff_json(raised_threshold: RulePack) -> None:
    res = _run(
        "diff",
        "pk",
        str(raised_threshold.root),
        "--on",
        "2026-06-01",
        "--kind",
        "transfer",
        "--format",
        "json",
        "--witnesses",
        "1",
    )
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["equivalent"] is False
    (w,) = data["witnesses"]
    assert set(w) == {"kind", "document", "old", "new"}
    assert set(w["old"]) == {"outcome", "fired"}
    same = _run("diff", "pk", "pk", "--on", "2026-06-01", "--kind", "customer")
    assert same.exit_code == 0, same.output
    assert "equivalent" in same.output


def test_cli_diff_with_set_param_finds_the_same_change_as_an_edited_pack(
    raised_threshold: RulePack, pk: RulePack
) -> None:
    """`--set-param` in place of a second pack: the reform as an override decides like the
    pack edited by hand, and its witnesses are confirmed by the engine with the override."""
    args = ["--on", "2026-06-01", "--kind", "transfer", "--format", "json"]
    edited = _run("diff", "pk", str(raised_threshold.root), *args)
    reform = _run(
        "diff", "pk", *args, "--set-param", "travel_rule_threshold={amount: 1200, currency: USD}"
    )
    assert reform.exit_code == 1, reform.output
    got, want = json.loads(reform.output), json.loads(edited.output)
    assert got["equivalent"] is want["equivalent"] is False
    overridden = RulePack.load(
        "pk", overrides={"travel_rule_threshold": {"amount": 1200, "currency": "USD"}}
    )
    stock = pk
    for w in got["witnesses"]:
        assert stock.evaluate(w["document"], AS_OF).outcome.value == w["old"]["outcome"]
        assert overridden.evaluate(w["document"], AS_OF).outcome.value == w["new"]["outcome"]
    same = _run(
        "diff", "pk", *args, "--set-param", "travel_rule_threshold={amount: 1000, currency: USD}"
    )
    assert same.exit_code == 0 and json.loads(same.output)["equivalent"] is True
    bad = _run("diff", "pk", *args, "--set-param", "no_such_parameter=1")
    assert bad.exit_code == 2 and "no_such_parameter" in bad.output


def _population(path: Path, pk_docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in pk_docs))
    return path


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = []
    for i, amount in enumerate([100, 290_000, 300_000, 330_000, 400_000]):
        doc = json.loads((PK.parent.parent / "examples" / "transfer.json").read_text())
        doc["transfer_id"] = f"T{i}"
        doc["value"] = {"amount": str(amount), "currency": "PKR"}
        doc["originator"] = {"name": "A", "account_or_wallet": "w1"}
        docs.append(doc)
    return _population(tmp_path_factory.mktemp("pop") / "pop.jsonl", docs)


def test_cli_population_impact(raised_threshold: RulePack, population: Path) -> None:
    args = ["diff", "pk", str(raised_threshold.root), "--on", "2026-06-01"]
    res = _run(*args, "--population", str(population), "--format", "json")
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["documents"] == 5
    assert data["changed"] == 3
    moved = [t for t in data["transitions"] if t["old"] != t["new"]]
    assert sum(t["count"] for t in moved) == 3
    assert sorted(x for t in moved for x in t["examples"]) == ["T1", "T2", "T3"]
    assert {r["rule"] for r in data["no_longer_firing"]} >= {"TR-01"}
    text = _run(*args, "--population", str(population))
    assert "transition matrix" in text.output and "T1" in text.output
    page = _run(*args, "--population", str(population), "--format", "html")
    assert page.exit_code == 1 and 'id="impact-data"' in page.output
    # both packs share the disclaimer: it is stated once, with the P/S/A legend
    stated = html.escape(raised_threshold.disclaimer)
    assert page.output.count(f'<p class="notice">{stated}</p>') == 1
    assert page.output.count('<p class="notice">') == 1
    assert text.output.count(raised_threshold.disclaimer) == 1


def test_population_impact_states_each_packs_notice(
    raised_threshold: RulePack, population: Path, tmp_path: Path, pk: RulePack
) -> None:
    """Packs with different disclaimers: the page states each one, old first."""
    root = tmp_path / "pk"
    shutil.copytree(raised_threshold.root, root)
    manifest = root / "pack.yaml"
    manifest.write_text(
        manifest.read_text().replace("Not legal advice.", "Not legal advice (a draft).", 1)
    )
    draft = RulePack.load(root)
    args = ["diff", "pk", str(root), "--on", "2026-06-01", "--population", str(population)]
    page = _run(*args, "--format", "html").output
    stock = pk.disclaimer
    notices = re.findall(r'<p class="notice">(.*?)</p>', page, re.S)
    assert notices == [html.escape(stock), html.escape(draft.disclaimer)]
    assert "P = seen in primary or official text" in notices[1]


def test_cli_population_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "transfer"}\n')
    res = _run("diff", "pk", "pk", "--on", "2026-06-01", "--population", str(bad))
    assert res.exit_code == 2
    assert "bad.jsonl:1: invalid document" in res.output
    bad.write_text('\n{"kind": "transfer"}\nnot json\n')
    res = _run("diff", "pk", "pk", "--on", "2026-06-01", "--population", str(bad))
    assert res.exit_code == 2
    assert "bad.jsonl:3: invalid JSON" in res.output


@settings(max_examples=15, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_witness_documents_are_schema_valid(pk: RulePack, data: st.DataObject) -> None:
    """Random solver answers (random extra constraints on a kind) give valid documents."""
    kind = data.draw(st.sampled_from(["customer", "transfer", "amnesty_declaration"]))
    compiled = pk.compiled(AS_OF)
    doc = SymDoc(kind, 2, compiled.fx)
    models = [
        rule_model(Encoder(doc, compiled, alone=True), r, opaque=True)
        for r in compiled.rules_for(kind)
    ]
    pick = data.draw(st.lists(st.sampled_from(models), max_size=3))
    s = z3.Solver()
    s.add(*doc.axioms, *[m.fires for m in pick])
    if s.check() == z3.sat:
        document = doc.document(s.model())
        pk.evaluate(document, AS_OF)  # validates, or raises DocumentError


@settings(max_examples=40, deadline=None)
@given(
    day=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    steps=st.integers(-25, 25),
)
def test_working_days_model_matches_the_engine(pk: RulePack, day: date, steps: int) -> None:
    """`date + working_days(n)` is encoded exactly: the one solution is the engine's day."""
    from vasp_rules.interp.reference import add_working_days

    compiled = pk.compiled(AS_OF)
    doc = SymDoc("customer", 1, compiled.fx)
    x = z3.Int("x")
    result = Encoder(doc, compiled, alone=True).working_days(x, steps)
    want = add_working_days(day.toordinal(), steps, compiled.calendar.holidays)
    s = z3.Solver()
    s.add(*doc.axioms, x == day.toordinal(), result != want)
    assert s.check() == z3.unsat


def test_bundled_pack_findings_are_explained_in_the_docs(pk_analysis: dict[str, Any]) -> None:
    """CI analyses pk: each finding is fixed in the pack or explained in docs/analysis.md."""
    docs = (PK.parent.parent / "docs" / "analysis.md").read_text()
    section = docs.split("## Findings on the bundled pack")[1].split("\n## ")[0]
    result = pk_analysis
    findings = []
    for report in result["kinds"].values():
        for category in ("dead", "always", "undecidable"):
            findings += [(rid, category) for rid in report[category]]
        findings += [(pair["rule"], "redundant") for pair in report["redundant"]]
    assert findings, "expected the documented findings"
    for rid, category in findings:
        assert f"**{rid} {category}" in section, f"{rid} is {category}: fix it or explain it"
    assert result["timeline"] == []


def test_rules_sharing_an_id_are_one_rule(test_pack: RulePack) -> None:
    """The loader may make several internal rules of one id (a rule's cases, or its condition
    for each kind): findings name the id, so analysis judges them together."""
    import dataclasses

    from vasp_rules.analysis.analyze import group_rules

    compiled = test_pack.compiled(AS_OF)
    doc = SymDoc("customer", 2, compiled.fx)
    enc = Encoder(doc, compiled, alone=True)
    by_id = {r.id: r for r in compiled.rules_for("customer")}

    def as_case(rule_id: str, new_id: str) -> Any:
        rule = by_id[rule_id]
        spec = rule.rule.spec.model_copy(update={"id": new_id})
        return dataclasses.replace(rule, rule=dataclasses.replace(rule.rule, spec=spec))

    # T-DEAD's case never fires, T-SANC's does: the rule "T-X" is not dead
    (group,) = group_rules(
        [rule_model(enc, as_case(i, "T-X"), opaque=False) for i in ("T-DEAD", "T-SANC")]
    )
    s = z3.Solver()
    s.add(*doc.axioms, group.fires)
    assert s.check() == z3.sat
    assert len(group.cases) == 2 and group.exact and not group.info
