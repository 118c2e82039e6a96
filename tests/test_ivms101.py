"""IVMS101 payloads mapped to transfers: the round-trip examples, both editions, the CLI's
--input-format ivms101, and one-line errors that name the IVMS101 path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support.repo import AS_OF, EXAMPLES

from vasp_rules import RulePack
from vasp_rules.cli import main
from vasp_rules.entities.ivms101 import Ivms101Error, parse_ivms101, to_transfer

IVMS = EXAMPLES / "ivms101"
ENVELOPES = sorted(p for p in IVMS.glob("*.json") if not p.name.endswith(".transfer.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((IVMS / name).read_text())
    return data


def errors_of(envelope: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(Ivms101Error) as info:
        parse_ivms101(envelope)
    return info.value.errors


@pytest.mark.parametrize("path", ENVELOPES, ids=lambda p: p.name)
def test_round_trip_example_maps_to_its_transfer_and_decides_the_same(
    path: Path, pk: RulePack
) -> None:
    envelope = json.loads(path.read_text())
    expected = json.loads(path.with_suffix(".transfer.json").read_text())
    assert to_transfer(envelope) == expected
    via_ivms = pk.evaluate(parse_ivms101(envelope), AS_OF)
    direct = pk.evaluate(expected, AS_OF)
    assert via_ivms.to_json() == direct.to_json()


def test_both_editions_are_covered_by_examples() -> None:
    versions = {load(p.name)["ivms101"]["payloadMetadata"]["payloadVersion"] for p in ENVELOPES}
    assert versions == {"101", "101.2023"}


def test_natural_person_fields_are_mapped() -> None:
    transfer = parse_ivms101(load("outgoing_2020.json"))
    o = transfer.originator
    assert o.name == "Bilal Ahmed Qureshi"  # secondaryIdentifier then primaryIdentifier
    assert o.national_id == "4210177342905"  # a dashed PK identity card, as 13 digits
    assert o.date_of_birth is not None and o.date_of_birth.isoformat() == "1994-03-08"
    assert o.place_of_birth == "Karachi"
    assert o.address == "12 Street 4, F-7/2, Islamabad, 44000, PK"
    assert o.customer_id == "CUST-00481977" and o.account_or_wallet == "CUST-00481977"
    assert transfer.counterparty_vasp is not None
    assert transfer.counterparty_vasp.name == "Gulf Crest Exchange"
    assert transfer.counterparty_vasp.jurisdiction == "AE"


def test_legal_person_with_lei_and_2023_person_accounts() -> None:
    transfer = parse_ivms101(load("incoming_2023.json"))
    assert transfer.originator.name == "Crescent Textile Mills Limited"  # LEGL, not TRAD
    assert transfer.originator.national_id == "5493001KJTIIGC8Y1R12"
    assert transfer.originator.customer_id == "LGL-000731"
    assert transfer.originator.account_or_wallet.startswith("bc1q")  # type: ignore[union-attr]
    assert transfer.beneficiary.name == "Sana Malik"
    assert transfer.counterparty_vasp is not None
    assert transfer.counterparty_vasp.name == "Bosphorus Digital Custody A.S."


def test_version_is_inferred_without_payload_metadata() -> None:
    for name in ("outgoing_2020.json", "incoming_2023.json"):
        envelope = load(name)
        del envelope["ivms101"]["payloadMetadata"]
        assert parse_ivms101(envelope).transfer_id == load(name)["transfer"]["transfer_id"]


def test_2020_name_as_a_single_object_is_accepted_but_2023_name_as_a_list_is_not() -> None:
    envelope = load("outgoing_2020.json")
    person = envelope["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"]
    person["name"] = person["name"][0]
    assert parse_ivms101(envelope).originator.name == "Bilal Ahmed Qureshi"
    envelope = load("incoming_2023.json")
    person = envelope["ivms101"]["beneficiary"]["beneficiaryPerson"][0]["naturalPerson"]
    person["name"] = [person["name"]]
    [(path, message)] = errors_of(envelope)
    assert path == "ivms101.beneficiary.beneficiaryPerson[0].naturalPerson.name"
    assert "one object, not a list" in message


BASE = "ivms101.originator.originatorPersons[0].naturalPerson"


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"][
                "nationalIdentification"
            ].update(nationalIdentifierType="LEIX"),
            f"{BASE}.nationalIdentification.nationalIdentifierType",
            "cannot identify a natural person",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"][
                "dateAndPlaceOfBirth"
            ].update(dateOfBirth="1994-02-30"),
            f"{BASE}.dateAndPlaceOfBirth.dateOfBirth",
            "not a calendar date",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"][
                "dateAndPlaceOfBirth"
            ].update(dateOfBirth="2026-03-02"),
            f"{BASE}.dateAndPlaceOfBirth.dateOfBirth",
            "after the transfer was executed",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0].update(
                legalPerson={"name": {"nameIdentifier": []}}
            ),
            "ivms101.originator.originatorPersons[0]",
            "exactly one of naturalPerson or legalPerson",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"][
                "geographicAddress"
            ][0].update(country="Pakistan"),
            f"{BASE}.geographicAddress[0].country",
            "ISO 3166-1",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"].update(
                nickname="BQ"
            ),
            f"{BASE}.nickname",
            "unknown field",
        ),
        (
            lambda e: e["transfer"]["counterparty_vasp"].update(jurisdiction="SA"),
            "transfer.counterparty_vasp.jurisdiction",
            "contradicts ivms101.beneficiaryVASP.beneficiaryVASP.legalPerson.countryOfRegistration",
        ),
        (
            lambda e: e["transfer"].update(originator={"name": "X"}),
            "transfer.originator",
            "comes from the IVMS101 payload",
        ),
        (
            lambda e: e["ivms101"]["beneficiaryVASP"]["beneficiaryVASP"].update(
                naturalPerson=e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"],
                legalPerson=None,
            ),
            "ivms101.beneficiaryVASP.beneficiaryVASP.naturalPerson",
            "a VASP is a legal person",
        ),
        (
            lambda e: e["ivms101"]["beneficiary"]["beneficiaryPersons"][0]["legalPerson"].update(
                customerIdentification="C-1"
            ),
            "ivms101.beneficiary.beneficiaryPersons[0].legalPerson.customerIdentification",
            "customerIdentification is IVMS101.2023",
        ),
        (
            lambda e: e["transfer"].pop("direction"),
            "transfer.direction",
            "required field is missing",
        ),
    ],
)
def test_unmappable_or_contradictory_payloads_name_the_ivms101_path(
    edit: Any, path: str, words: str
) -> None:
    envelope = copy.deepcopy(load("outgoing_2020.json"))
    edit(envelope)
    errors = errors_of(envelope)
    assert errors[0][0] == path
    assert words in errors[0][1]


def test_not_an_envelope() -> None:
    assert errors_of([])[0][0] == ""  # type: ignore[arg-type]
    assert errors_of({"kind": "transfer"})[0] == (
        "kind",
        "unknown field (an IVMS101 input has ivms101, transfer and optional screening)",
    )
    assert errors_of({"ivms101": {}, "transfer": {}})[0][0] == "ivms101.originator"


# -- joint accounts: several persons, one mapped to the party, the others screened too ----------

SCREENED_ON = "2026-03-01"
COMPANY = {
    "legalPerson": {
        "name": {
            "nameIdentifier": [
                {"legalPersonName": "Qureshi Holdings", "legalPersonNameIdentifierType": "LEGL"}
            ]
        }
    }
}


def natural(first: str, last: str, kind: str = "LEGL", key: str = "nameIdentifierType") -> Any:
    ident = {"primaryIdentifier": last, "secondaryIdentifier": first, key: kind}
    if key == "nameIdentifierType":  # IVMS101 2020: name is a list of NaturalPersonName
        return {"naturalPerson": {"name": [{"nameIdentifier": [ident]}]}}
    return {"naturalPerson": {"name": {"nameIdentifier": [ident]}}}


def screened(result: str) -> dict[str, str]:
    return {"result": result, "screened_on": SCREENED_ON}


def joint(*results: str | None) -> dict[str, Any]:
    """outgoing_2020 as a joint account of a company, Bilal (the example's person) and Ayesha,
    screened in that order (None: not screened)."""
    envelope = load("outgoing_2020.json")
    persons = envelope["ivms101"]["originator"]["originatorPersons"]
    persons[:] = [COMPANY, persons[0], natural("Ayesha", "Qureshi")]
    envelope["screening"] = {"originator": [None if r is None else screened(r) for r in results]}
    return envelope


def test_joint_account_maps_the_first_natural_person_and_the_others_to_joint_holders() -> None:
    single = to_transfer(load("outgoing_2020.json"))["originator"]
    mapped = to_transfer(joint(None, "CLEAR", "POTENTIAL_MATCH"))["originator"]
    # the originator is Bilal (the first natural person), with all his fields
    own = {k: v for k, v in mapped.items() if k not in ("joint_holders", "sanctions_screening")}
    assert own == single
    assert mapped["sanctions_screening"] == screened("CLEAR")
    # the company and Ayesha, in payload order, each with its own screening (if any)
    assert mapped["joint_holders"] == [
        {"name": "Qureshi Holdings"},
        {"name": "Ayesha Qureshi", "sanctions_screening": screened("POTENTIAL_MATCH")},
    ]


def test_a_joint_holder_with_a_potential_match_is_referred_and_named(pk: RulePack) -> None:
    decision = pk.evaluate(parse_ivms101(joint(None, "CLEAR", "POTENTIAL_MATCH")), AS_OF)
    assert decision.outcome == "REFER" and decision.fired == ["VER-03"]
    [finding] = decision.findings
    assert "joint holders with a potential match: originator's Ayesha Qureshi" in finding.reason
    assert finding.facts["originator.joint_holders[1].name"] == "Ayesha Qureshi"
    assert finding.facts["originator.joint_holders[1].sanctions_screening.result"] == (
        "POTENTIAL_MATCH"
    )


def test_a_joint_holder_confirmed_as_a_match_rejects_the_transfer(pk: RulePack) -> None:
    decision = pk.evaluate(parse_ivms101(joint("CONFIRMED_MATCH", "CLEAR", "CLEAR")), AS_OF)
    assert decision.outcome == "REJECT" and decision.fired == ["VER-02"]
    assert "originator's Qureshi Holdings" in decision.findings[0].reason


def test_a_joint_account_of_clear_holders_decides_as_the_single_holder_payload(
    pk: RulePack,
) -> None:
    single = load("outgoing_2020.json")
    single["screening"] = {"originator": screened("CLEAR")}
    alone = pk.evaluate(parse_ivms101(single), AS_OF)
    together = pk.evaluate(parse_ivms101(joint("CLEAR", "CLEAR", "CLEAR")), AS_OF)
    assert (together.outcome, together.fired) == (alone.outcome, alone.fired) == ("APPROVE", [])


def test_an_approved_joint_account_says_which_persons_were_mapped(
    pk: RulePack, tmp_path: Path
) -> None:
    """Clear holders fire nothing, yet the decision lists who was screened as what, and so
    does its text; the list comes from the mapped transfer alone, so both engines, worker
    processes and a replay give the same bytes. A single holder's decision has no list."""
    transfer = parse_ivms101(joint("CLEAR", "CLEAR", "CLEAR"))
    decision = pk.evaluate(transfer, AS_OF)
    assert decision.outcome == "APPROVE"
    assert [(p.role, p.path, p.name) for p in decision.persons or []] == [
        ("originator", "originator.name", "Bilal Ahmed Qureshi"),
        ("originator joint holder", "originator.joint_holders[0].name", "Qureshi Holdings"),
        ("originator joint holder", "originator.joint_holders[1].name", "Ayesha Qureshi"),
        ("beneficiary", "beneficiary.name", transfer.beneficiary.name),
    ]
    reference = pk.evaluate(transfer, AS_OF, engine="reference")
    assert reference.to_json() == decision.to_json()
    [pooled] = pk.evaluate_many([transfer], AS_OF, workers=2)
    assert pooled.to_json() == decision.to_json()
    single = pk.evaluate(parse_ivms101(load("outgoing_2020.json")), AS_OF)
    assert single.persons is None and '"persons"' not in single.to_json()

    path = tmp_path / "joint.json"
    path.write_text(json.dumps(joint("CLEAR", "CLEAR", "CLEAR")))
    res = CliRunner().invoke(
        main, ["evaluate", "--input-format", "ivms101", str(path), "--as-of", AS_OF.isoformat()]
    )
    assert res.exit_code == 0, res.output
    assert (
        "persons screened: originator Bilal Ahmed Qureshi (originator.name); originator joint "
        "holder Qureshi Holdings (originator.joint_holders[0].name)" in res.output
    )


@settings(max_examples=60, deadline=None)
@given(
    results=st.lists(
        st.sampled_from([None, "CLEAR", "POTENTIAL_MATCH", "CONFIRMED_MATCH"]),
        min_size=1,
        max_size=5,
    )
)
def test_every_person_of_a_joint_account_is_screened(
    results: list[str | None], pk: RulePack
) -> None:
    """VER-02 fires iff some person is a confirmed match, VER-03 iff some is a potential one,
    whichever person the match is and however many persons the account has."""
    envelope = load("outgoing_2020.json")
    persons = envelope["ivms101"]["originator"]["originatorPersons"]
    persons += [natural(f"Holder{i}", "Qureshi") for i in range(1, len(results))]
    envelope["screening"] = {"originator": [None if r is None else screened(r) for r in results]}
    decision = pk.evaluate(parse_ivms101(envelope), AS_OF)
    assert ("VER-02" in decision.fired) == ("CONFIRMED_MATCH" in results)
    assert ("VER-03" in decision.fired) == ("POTENTIAL_MATCH" in results)


def test_a_legl_name_is_preferred_to_an_earlier_person_without_one() -> None:
    envelope = load("outgoing_2020.json")
    persons = envelope["ivms101"]["originator"]["originatorPersons"]
    persons[:] = [natural("Bee", "Alias", kind="ALIA"), *persons]
    mapped = to_transfer(envelope)["originator"]
    assert mapped["name"] == "Bilal Ahmed Qureshi"
    assert mapped["joint_holders"] == [{"name": "Bee Alias"}]


def test_a_joint_beneficiary_and_a_2023_account_held_by_another_holder() -> None:
    envelope = load("incoming_2023.json")
    ivms = envelope["ivms101"]
    company = ivms["originator"]["originatorPerson"][0]
    # 2023: the account number sits with the company, the natural person is mapped
    key = "naturalPersonNameIdentifierType"
    ivms["originator"]["originatorPerson"] = [company, natural("Omar", "Khan", key=key)]
    ivms["beneficiary"]["beneficiaryPerson"].append(natural("Zara", "Malik", key=key))
    envelope["screening"] = {"beneficiary": [None, screened("CLEAR")]}
    transfer = parse_ivms101(envelope)
    assert transfer.originator.name == "Omar Khan"
    assert transfer.originator.account_or_wallet == company["accountNumber"][0]
    assert transfer.originator.joint_holders is not None
    assert [h.name for h in transfer.originator.joint_holders] == ["Crescent Textile Mills Limited"]
    assert transfer.beneficiary.name == "Sana Malik"
    assert transfer.beneficiary.joint_holders is not None
    [holder] = transfer.beneficiary.joint_holders
    assert holder.name == "Zara Malik" and holder.sanctions_screening is not None


def test_joint_account_errors_name_the_person_or_the_screening() -> None:
    envelope = joint(None, "CLEAR")  # three persons, two screenings
    [(path, message)] = errors_of(envelope)
    assert path == "screening.originator"
    assert "one per originator person in the payload (3), got 2" in message
    envelope = joint(None, None, None)
    person = envelope["ivms101"]["originator"]["originatorPersons"][2]["naturalPerson"]
    person["nationalIdentification"] = {"nationalIdentifier": "X", "nationalIdentifierType": "LEIX"}
    [(path, message)] = errors_of(envelope)
    assert path == (
        "ivms101.originator.originatorPersons[2].naturalPerson.nationalIdentification."
        "nationalIdentifierType"
    )


def test_a_transfer_without_joint_holders_dumps_as_before() -> None:
    """joint_holders is omitted when absent, so input_sha256 of existing documents is kept."""
    dumped = parse_ivms101(load("outgoing_2020.json")).model_dump(mode="json")
    assert "joint_holders" not in dumped["originator"]
    assert "joint_holders" not in dumped["beneficiary"]


def test_counterparty_vasp_name_is_required_only_when_the_payload_does_not_name_it() -> None:
    envelope = load("outgoing_2020.json")  # OUT: the beneficiaryVASP is the counterparty
    assert "name" not in envelope["transfer"]["counterparty_vasp"]
    del envelope["ivms101"]["beneficiaryVASP"]
    assert errors_of(envelope) == [
        ("transfer.counterparty_vasp.name", "required field is missing"),
        ("transfer.counterparty_vasp.jurisdiction", "required field is missing"),
    ]
    envelope["transfer"]["counterparty_vasp"].update(name="Gulf Crest Exchange", jurisdiction="AE")
    assert parse_ivms101(envelope).counterparty_vasp is not None
    # the payload names the VASP but says nothing of its licence: that is the transfer's part
    envelope = load("outgoing_2020.json")
    del envelope["transfer"]["counterparty_vasp"]
    assert errors_of(envelope) == [
        ("transfer.counterparty_vasp.licensed", "required field is missing")
    ]


def test_a_2020_vasp_given_without_its_wrapper_is_read_the_same() -> None:
    envelope = load("outgoing_2020.json")
    for key in ("originatingVASP", "beneficiaryVASP"):
        envelope["ivms101"][key] = envelope["ivms101"][key][key]
    assert to_transfer(envelope) == to_transfer(load("outgoing_2020.json"))
    envelope["ivms101"]["beneficiaryVASP"]["legalPerson"]["countryOfRegistration"] = "Dubai"
    [(path, _)] = errors_of(envelope)
    assert path == "ivms101.beneficiaryVASP.legalPerson.countryOfRegistration"


# -- unknown, mis-cased and missing members are named as such ---------------------------------


def _rename(container: dict[str, Any], old: str, new: str) -> None:
    container[new] = container.pop(old)


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        (
            lambda e: _rename(e["ivms101"], "originator", "Originator"),
            "ivms101.Originator",
            "unknown field (did you mean originator? member names are case-sensitive)",
        ),
        (
            lambda e: _rename(
                e["ivms101"]["originator"], "originatorPersons", "originator_persons"
            ),
            "ivms101.originator.originator_persons",
            "unknown field (did you mean originatorPersons? member names are case-sensitive)",
        ),
        (
            lambda e: _rename(
                e["ivms101"]["originator"], "originatorPersons", "originatorPersons1"
            ),
            "ivms101.originator.originatorPersons1",
            "unknown field (did you mean originatorPersons?)",
        ),
        (
            lambda e: e["ivms101"]["beneficiary"].update(accountnumber=["X"]),
            "ivms101.beneficiary.accountnumber",
            "unknown field (did you mean accountNumber? member names are case-sensitive)",
        ),
        (
            lambda e: e["ivms101"]["originator"]["originatorPersons"][0]["naturalPerson"].update(
                nickname="BQ"
            ),
            f"{BASE}.nickname",
            "unknown field",
        ),
        (
            lambda e: e["ivms101"].pop("originator"),
            "ivms101.originator",
            "required field is missing",
        ),
        (
            lambda e: e["ivms101"].pop("beneficiary"),
            "ivms101.beneficiary",
            "required field is missing",
        ),
        (
            lambda e: e["ivms101"]["originator"].pop("originatorPersons"),
            "ivms101.originator.originatorPersons",
            "required field is missing (originatorPersons in IVMS101 2020, originatorPerson in "
            "IVMS101.2023)",
        ),
        (lambda e: e.pop("ivms101"), "ivms101", "required field is missing"),
        (
            lambda e: _rename(e, "ivms101", "IVMS101"),
            "IVMS101",
            "unknown field (did you mean ivms101? member names are case-sensitive; an IVMS101 "
            "input has ivms101, transfer and optional screening)",
        ),
    ],
)
def test_unknown_or_missing_members_are_named_as_such(edit: Any, path: str, message: str) -> None:
    envelope = load("outgoing_2020.json")
    del envelope["ivms101"]["payloadMetadata"]  # the edition is inferred, or not
    edit(envelope)
    assert errors_of(envelope) == [(path, message)]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_evaluate_input_format_ivms101_matches_the_transfer_document() -> None:
    args = ("--as-of", "2026-06-01", "--format", "json")
    code, via_ivms, _ = run(
        "evaluate", "--input-format", "ivms101", str(IVMS / "outgoing_2020.json"), *args
    )
    assert code == 0
    code, direct, _ = run("evaluate", str(IVMS / "outgoing_2020.transfer.json"), *args)
    assert code == 0 and via_ivms == direct


def test_cli_ivms101_error_is_one_line_with_the_path(tmp_path: Path) -> None:
    envelope = load("outgoing_2020.json")
    envelope["ivms101"]["payloadMetadata"]["payloadVersion"] = "102"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(envelope))
    code, out, err = run(
        "evaluate", "--input-format", "ivms101", str(path), "--as-of", "2026-06-01"
    )
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err + out
    assert err.startswith("error: invalid document: ivms101.payloadMetadata.payloadVersion:")


def test_cli_ivms101_batch_paths_start_with_the_document_index(tmp_path: Path) -> None:
    good, bad = load("outgoing_2020.json"), load("incoming_2023.json")
    bad["transfer"]["amount"] = "-1"
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([good, bad]))
    code, _, err = run("evaluate", "--input-format", "ivms101", str(path), "--as-of", "2026-06-01")
    assert code == 2 and "documents[1].transfer.amount:" in err


# -- any edit of a payload: a transfer or one clear error, never a crash ----------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150)
@given(
    name=st.sampled_from([p.name for p in ENVELOPES]),
    picks=st.lists(
        st.tuples(st.integers(0, 10_000), st.booleans(), _JSON_VALUES), min_size=1, max_size=3
    ),
)
def test_any_edit_maps_or_fails_with_one_line_naming_a_path(
    name: str, picks: list[tuple[int, bool, Any]]
) -> None:
    envelope = load(name)
    for index, delete, value in picks:
        paths = _paths(envelope)[1:]
        if not paths:
            break
        path = paths[index % len(paths)]
        parent: Any = envelope
        for part in path[:-1]:
            parent = parent[part]
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    try:
        transfer = parse_ivms101(envelope)
    except Ivms101Error as exc:
        assert exc.errors and all("\n" not in m for _, m in exc.errors)
        assert all(
            p == ""
            or p.split(".")[0].split("[")[0] in ("ivms101", "transfer", "screening")
            or p in ("kind",)
            or "." not in p
            for p, _ in exc.errors
        )
    else:
        assert transfer.kind == "transfer"
