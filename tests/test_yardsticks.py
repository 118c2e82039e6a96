"""The same-output yardsticks of benchmarks/fastpath.py stay same-output.

benchmarks/handwritten_decisions.py is plain Python that must build, byte for byte, the
decision `pack.evaluate` builds on a pack of only its rules (issue 22's fair baseline); if a rule
text, a fact recorded or the decision's form changes, the baseline (or the change) is wrong and
the benchmark's ratio would compare different work. benchmarks/subset_pack.py makes those packs.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from fastpath import licence_applications, transfers  # noqa: E402
from handwritten_decisions import (  # noqa: E402
    LICENCE_RULES,
    TRANSFER_RULES,
    LicenceDecisions,
    TransferDecisions,
)
from subset_pack import subset_pack  # noqa: E402

# before the regimes, when some rules are not yet in force, and when all are
DATES = [date(2025, 1, 1), date(2025, 10, 1), date(2026, 6, 1), date(2031, 1, 1)]


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    where = tmp_path_factory.mktemp("subsets")
    return {
        "licence_application": subset_pack(LICENCE_RULES, where / "licence"),
        "transfer": subset_pack(TRANSFER_RULES, where / "transfer"),
    }


EVALUATORS = {
    "licence_application": (LicenceDecisions, lambda: licence_applications(60, 7)),
    "transfer": (TransferDecisions, lambda: transfers(120, 8)),
}


@pytest.mark.parametrize("kind", sorted(EVALUATORS))
@pytest.mark.parametrize("as_of", DATES, ids=str)
def test_hand_written_decisions_are_byte_identical(packs, kind: str, as_of: date) -> None:
    pack = packs[kind]
    evaluator, documents = EVALUATORS[kind]
    hand = evaluator(pack, as_of)
    for doc in documents():
        assert hand.decide(doc).to_json() == pack.evaluate(doc, as_of).to_json()


def test_a_subset_pack_holds_only_the_rules_named(packs) -> None:
    assert packs["licence_application"].rule_ids() == sorted(LICENCE_RULES)
    # VER-02 applies to every kind; the pack keeps it whole
    assert packs["transfer"].rule_ids(kind="transfer") == sorted(TRANSFER_RULES)


def test_a_subset_of_rules_the_pack_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="LIC-99"):
        subset_pack(["LIC-03", "LIC-99"], tmp_path)
