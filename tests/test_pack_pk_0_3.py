"""Behaviours of pack pk 0.3 that scenario files cannot state (the text of advice, citations
on each side of a date, what every human-read output carries), and canonical addresses."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from support.repo import EXAMPLES, example

from vasp_rules import RulePack
from vasp_rules.cli import main
from vasp_rules.entities.common import canonical_address
from vasp_rules.explain.render import render_html, render_markdown, render_text
from vasp_rules.model.decision import CONFIDENCE_TAGS


def _finding(pk: RulePack, doc: dict, day: date, rule_id: str):  # type: ignore[no-untyped-def]
    (finding,) = [f for f in pk.evaluate(doc, day).findings if f.rule_id == rule_id]
    return finding


@pytest.mark.parametrize(
    ("day", "overdue"),
    [(date(2026, 4, 16), False), (date(2026, 4, 17), False), (date(2026, 4, 18), True),
     (date(2026, 6, 1), True)],
)
def test_lic11_advice_is_right_on_as_of(pk: RulePack, day: date, overdue: bool) -> None:
    """Form A1 received 2026-02-16: the decision is due by 2026-04-17; after that it is
    overdue, and the advice says so instead of 'follow up if none arrives by' a past date."""
    finding = _finding(pk, example("licence_application"), day, "LIC-11")
    assert "2026-04-17" in finding.reason
    assert ("overdue" in finding.reason) is overdue
    assert ("Follow up with PVARA now" in finding.remediation) is overdue


def test_lic12_cites_the_act_once_it_replaced_the_ordinance(pk: RulePack) -> None:
    doc = example("licence_application")
    doc["firm"]["paid_up_capital"] = {"amount": "1.00", "currency": "PKR"}
    before = _finding(pk, doc, date(2026, 3, 2), "LIC-12")
    after = _finding(pk, doc, date(2026, 3, 3), "LIC-12")
    assert before.citation.instrument == "Virtual Assets Ordinance 2025"
    assert after.citation.instrument.startswith("Virtual Assets Act 2026")


def test_a_tagged_parameters_are_labelled_illustrative(pk: RulePack) -> None:
    for name, spec in pk.loaded.params.items():
        if any(v.confidence == "A" for v in spec.values):
            assert spec.illustrative, name


BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (" 0xAbCdEf00000000000000000000000000000001\t", "0xabcdef00000000000000000000000000000001"),
        ("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", BECH32),
        (BECH32, BECH32),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        (" TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf ", "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"),
        ("CUST-00481977", "CUST-00481977"),
    ],
)
def test_canonical_address(written: str, canonical: str) -> None:
    assert canonical_address(written) == canonical


def test_addresses_are_kept_as_written_in_facts_and_hashes(pk: RulePack) -> None:
    doc = example("amnesty_declaration")
    # holding 0 is on bitcoin: a valid address, written in upper case with spaces around it
    doc["holdings"][0]["wallet_address"] = " BC1QLVRY4TDWKRZ4ZPUAT425GXQMSEJEXT9JF9WHKG "
    decision = pk.evaluate(doc, date(2026, 6, 1))
    again = dict(doc)
    assert decision.input_sha256 == pk.evaluate(again, date(2026, 6, 1)).input_sha256
    from vasp_rules.entities.registry import parse_document

    model = parse_document(doc)
    written = model.model_dump(mode="json")["holdings"][0]["wallet_address"]
    assert written == " BC1QLVRY4TDWKRZ4ZPUAT425GXQMSEJEXT9JF9WHKG "


def _says_disclaimer_and_tags(text: str, pk: RulePack) -> None:
    flat = " ".join(text.split())
    assert "Not legal advice." in flat
    for tag, meaning in CONFIDENCE_TAGS.items():
        assert f"{tag} = {meaning}" in flat, tag


def test_every_human_read_output_states_the_disclaimer_and_the_tags(pk: RulePack) -> None:
    doc = example("licence_application")
    decision = pk.evaluate(doc, date(2026, 6, 1), explain=True)
    notice = pk.disclaimer
    _says_disclaimer_and_tags(notice, pk)
    for text in (
        render_text(decision, notice=notice, width=200),
        render_markdown(decision, notice=notice),
        render_html(decision, notice=notice),
    ):
        _says_disclaimer_and_tags(text, pk)
    runner = CliRunner()
    path = str(EXAMPLES / "licence_application.json")
    for args in (
        ["evaluate", path, "--as-of", "2026-06-01"],
        ["explain", path, "--as-of", "2026-06-01", "--no-suggest"],
        ["explain", path, "--as-of", "2026-06-01", "--no-suggest", "--format", "markdown"],
        ["explain", path, "--as-of", "2026-06-01", "--no-suggest", "--format", "html"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        _says_disclaimer_and_tags(result.output.replace("&#x27;", "'"), pk)


def test_evaluate_text_states_when_the_regime_starts() -> None:
    runner = CliRunner()
    path = str(EXAMPLES / "licence_application.json")
    result = runner.invoke(main, ["evaluate", path, "--as-of", "2025-07-07"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "NO_RULES_IN_FORCE" in flat
    assert "starts on 2025-07-08" in flat
