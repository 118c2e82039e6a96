"""Parameter overrides (like a reform): a parameter changed for one run, from the library and
the command line; the decision records it, so it can never pass for a stock decision."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from support.repo import AS_OF, EXAMPLES, example

from vasp_rules import PackError, ParamOverride, RulePack
from vasp_rules.cli import main
from vasp_rules.pack.overrides import parse_set_param

TRANSFER = example("transfer")


def test_stock_decisions_are_unchanged_and_list_no_overrides(pk: RulePack) -> None:
    decision = pk.evaluate(TRANSFER, AS_OF)
    assert "overrides" not in json.loads(decision.to_json())["rulepack"]
    assert decision.rulepack.sha256 == pk.files_sha256


def test_an_override_changes_the_decision_and_is_recorded(pk: RulePack) -> None:
    unhosted = example("transfer_unhosted")
    assert "TR-06" in pk.evaluate(unhosted, AS_OF).fired
    higher = {"unhosted_wallet_threshold": {"amount": 10_000_000, "currency": "PKR"}}
    reform = RulePack.load("pk", overrides=higher).evaluate(unhosted, AS_OF)
    assert "TR-06" not in reform.fired
    assert reform.rulepack.overrides is not None
    assert reform.rulepack.overrides[0].value == {"amount": 10_000_000, "currency": "PKR"}
    days = RulePack.load("pk", overrides={"noc_decision_days": 90})
    same = days.evaluate(TRANSFER, AS_OF)
    data = json.loads(same.to_json())
    assert data["rulepack"]["overrides"] == [
        {"name": "noc_decision_days", "value": 90, "effective_from": None}
    ]
    assert days.sha256 != pk.sha256 and days.files_sha256 == pk.sha256
    assert same.rulepack.sha256 == days.sha256
    # the decision differs from the stock one even where the outcome is the same
    assert same.to_json() != pk.evaluate(TRANSFER, AS_OF).to_json()


def test_an_override_from_a_date_keeps_earlier_values(pk: RulePack) -> None:
    start = date(2026, 7, 1)
    pack = RulePack.load("pk", overrides={"noc_decision_days": ParamOverride(75, start)})
    params = pack.loaded.params["noc_decision_days"]
    assert [v.value for v in params.values][-1] == 75
    assert pack.compiled(AS_OF).params["noc_decision_days"].value == 60
    assert pack.compiled(start).params["noc_decision_days"].value == 75
    decision = pack.evaluate(TRANSFER, AS_OF)
    assert decision.rulepack.overrides is not None
    assert decision.rulepack.overrides[0].effective_from == start


def test_overrides_are_checked(pk: RulePack) -> None:
    with pytest.raises(PackError, match="no parameter 'nope'"):
        RulePack.load("pk", overrides={"nope": 1})
    with pytest.raises(PackError, match="noc_decision_days"):
        RulePack.load("pk", overrides={"noc_decision_days": "ninety"})


def test_parse_set_param() -> None:
    assert parse_set_param("noc_decision_days=90") == ("noc_decision_days", ParamOverride(90))
    assert parse_set_param("a@2026-07-01=[US, GB]") == (
        "a", ParamOverride(["US", "GB"], date(2026, 7, 1)))
    for bad in ("novalue", "=3", "a@July=1", "a=[unclosed"):
        with pytest.raises(ValueError):
            parse_set_param(bad)


def test_set_param_on_the_command_line() -> None:
    file = str(EXAMPLES / "licence_application.json")
    args = ["evaluate", file, "--as-of", "2026-06-01", "--format", "json"]
    stock = json.loads(CliRunner().invoke(main, args).stdout)
    result = CliRunner().invoke(main, [*args, "--set-param", "noc_decision_days@2026-01-01=90"])
    assert result.exit_code == 0, result.output
    changed = json.loads(result.stdout)
    assert changed["rulepack"]["overrides"] == [
        {"name": "noc_decision_days", "value": 90, "effective_from": "2026-01-01"}]
    assert changed["rulepack"]["sha256"] != stock["rulepack"]["sha256"]
    text = CliRunner().invoke(main, [*args[:-2], "--set-param", "noc_decision_days=90"]).stdout
    assert "parameter overridden for this run: noc_decision_days = 90" in text
    bad = CliRunner().invoke(main, [*args, "--set-param", "noc_decision_days=x"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    logged = CliRunner().invoke(main, [*args, "--set-param", "noc_decision_days=90",
                                       "--log", "never.db"])
    assert logged.exit_code == 2 and "--log" in logged.stderr


@pytest.mark.slow
def test_overrides_reach_worker_processes() -> None:
    pack = RulePack.load("pk", overrides={"noc_decision_days": 90})
    docs = [TRANSFER, example("customer")]
    one = pack.evaluate_many(docs, AS_OF, batch=False)
    two = pack.evaluate_many(docs, AS_OF, batch=False, workers=2)
    assert [d.to_json() for d in one] == [d.to_json() for d in two]
