"""The generated rule catalogue: up to date with the pack (the CI gate), deterministic, complete,
and readable (conditions in plain words, citations with tags, windows, parameters)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner
from support.repo import PK, ROOT

from vasp_rules import RulePack
from vasp_rules.cli import main
from vasp_rules.cli.catalogue import docs, label, plain_words, render_catalogue

COMMITTED = ROOT / "docs" / "catalogue.md"


def test_committed_catalogue_is_up_to_date(pk: RulePack) -> None:
    """CI gate: docs/catalogue.md is exactly what `vasp-rules docs pk` generates."""
    assert COMMITTED.exists(), "run: vasp-rules docs pk -o docs/catalogue.md"
    assert COMMITTED.read_text(encoding="utf-8") == render_catalogue(pk), (
        "docs/catalogue.md is stale: run `vasp-rules docs pk -o docs/catalogue.md`"
    )


def test_rendering_is_deterministic_and_independent_of_how_the_pack_is_named(
    pk: RulePack,
) -> None:
    text = render_catalogue(pk)
    assert render_catalogue(pk) == text
    assert render_catalogue(RulePack.load("pk")) == text
    assert render_catalogue(RulePack.load(str(PK))) == text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_every_rule_has_its_section_with_outcome_citation_window(pk: RulePack) -> None:
    text = render_catalogue(pk)
    for rule in pk.loaded.rules:  # a rule's kinds, cases and dated citations share its section
        spec = rule.spec
        section = text.split(f"### {spec.id}: {spec.title}\n", 1)[1].split("\n### ", 1)[0]
        outcomes = section.split("| Outcome | ", 1)[1].split(" |", 1)[0].split(", ")
        assert spec.outcome.value in outcomes
        assert f"**[{spec.citation.confidence}]**" in section
        assert spec.citation.instrument in section
        first = min(r.spec.effective_from for r in pk.loaded.rules if r.id == spec.id)
        assert f"| In force | from {first}" in section
        assert rule.kind in section.split("| Applies to | ", 1)[1].split(" |", 1)[0]
        assert "**Fires when**" in section
        for name in rule.params:
            assert f"[`{name}`]" in section, (spec.id, name)


def test_parameters_are_listed_with_values_and_provenance(pk: RulePack) -> None:
    text = render_catalogue(pk)
    for name in pk.loaded.params:
        assert f"### Parameter `{name}`" in text
    section = text.split("### Parameter `capital_floor`", 1)[1].split("### ", 1)[0]
    assert "EXCHANGE: AED 1,500,000" in section
    assert "**illustrative**" in section and "| A |" in section
    assert "rulebooks.vara.ae" in section
    closes = text.split("### Parameter `amnesty_window_closes`", 1)[1].split("### ", 1)[0]
    assert "| 2025-12-05 to 2026-06-23 | PK-VA-AMNESTY-2026: 2026-06-30 |" in closes
    assert "| from 2026-06-24 | PK-VA-AMNESTY-2026: 2026-07-31 |" in closes


def test_conditions_read_as_plain_words(pk: RulePack) -> None:
    rules = {r.key: r for r in pk.loaded.rules}
    assert plain_words(rules["LIC-12/licence_application/below_floor/from-2025-07-08"]) == [
        "all of the following hold:",
        "",
        "- it is not the case that (the firm's custody model is `THIRD_PARTY_LICENSED` and "
        "`EXCHANGE` is one of the activities and `CUSTODY` is not one of the activities)",
        "- for at least one a of the activities: "
        "the firm's paid-up capital is less than _capital floor_ for a",
    ]
    lic02 = plain_words(rules["LIC-02"])
    assert lic02[0] == "all of the following hold:"
    assert "- the stage is `EOI`" in lic02
    assert any(line.startswith("- for no l of the firm's foreign licences:") for line in lic02)
    assert plain_words(rules["LIC-14"]) == ["the firm's annual fixed overheads is not given."]
    assert plain_words(rules["LIC-16"]) == ["the firm's proprietary trading is true."]
    ver10 = "\n".join(plain_words(rules["VER-10"]))
    assert "_STR working days_ working days after the suspicion flagged date" in ver10
    assert "the evaluation date is after" in ver10
    tr10 = "\n".join(plain_words(rules["TR-10"]))
    assert "the other transfers in the batch" in tr10
    assert "_structuring window hours_ hours before the executed time" in tr10


def test_labels() -> None:
    assert label("paid_up_capital") == "paid-up capital"
    assert label("ownership_pct") == "ownership%"
    assert label("submitted_on") == "submitted date"
    assert label("executed_at") == "executed time"
    assert label("goaml_registered") == "goAML registered"


def test_docs_command_writes_the_file(tmp_path: Path, pk: RulePack) -> None:
    out = tmp_path / "catalogue.md"
    result = CliRunner().invoke(main, ["docs", "pk", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_catalogue(pk)
    rules = len(pk.rule_ids())  # one per id, whatever kinds and cases it has
    assert f"({rules} rules)" in result.stderr


def test_docs_command_prints_without_output_option(pk: RulePack) -> None:
    result = CliRunner().invoke(docs, [str(PK)])
    assert result.exit_code == 0
    assert result.stdout == render_catalogue(pk)


def test_docs_command_reports_a_bad_pack_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "pk"
    shutil.copytree(PK, broken)
    rules = broken / "rules" / "licensing.yaml"
    rules.write_text(rules.read_text().replace("firm.noc_status", "firm.noc_statu", 1))
    result = CliRunner().invoke(docs, [str(broken)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 1 problem(s) in rule pack")
    assert "Traceback" not in result.output
    assert re.search(r"did you mean 'noc_status'", result.stderr)
