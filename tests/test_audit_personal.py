"""audit.personal: which values of a logged document and decision are personal, and whose.

The round trip (split, then join) must give back the document and decision exactly (values,
types, key order); after split no personal value may be readable in the redacted JSON; a text
quoting two persons belongs to both; public facts (outcome, rule ids, amounts, dates) stay.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.repo import AS_OF, EXAMPLES, ROOT
from support.strategies import documents

from vasp_rules import RulePack
from vasp_rules.audit.personal import (
    PLACEHOLDER,
    Item,
    Split,
    identifiers_of,
    join,
    split,
)
from vasp_rules.audit.personal_fields import node_at
from vasp_rules.core.docpath import format_path
from vasp_rules.entities import KINDS
from vasp_rules.entities.identity import canonical_address, looks_like_address
from vasp_rules.entities.ivms101 import parse_ivms101
from vasp_rules.entities.registry import json_schema
from vasp_rules.testing.scenarios import PackCache, discover, load_cases, run_case

#: hypothesis examples per kind (VASP_RULES_FUZZ=1 for a long run)
EXAMPLES_N = 500 if os.environ.get("VASP_RULES_FUZZ") else 40


def _decide(pk: RulePack, document: Any) -> dict[str, Any]:
    return json.loads(pk.evaluate(document, AS_OF).to_json())


def _items(result: Split) -> list[Item]:
    return [item for part in result.parts for item in part.items]


def _shape(value: Any) -> Any:
    """A value with its types and key order, for an exact comparison (1 == 1.0 == True and
    Decimal("1.0") == 1 otherwise)."""
    if isinstance(value, dict):
        return ("dict", tuple((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_shape(v) for v in value))
    return (type(value).__name__, repr(value))


def _round_trip(document: dict[str, Any], decision: dict[str, Any]) -> Split:
    before = (_shape(document), _shape(decision))
    result = split(document, decision)
    assert (_shape(document), _shape(decision)) == before, "split changed its arguments"
    back_input, back_decision = join(result.input, result.decision, _items(result))
    assert _shape(back_input) == _shape(document)
    assert _shape(back_decision) == _shape(decision)
    return result


def _redacted_text(result: Split) -> str:
    text = json.dumps(result.input, ensure_ascii=False, default=str)
    return (text + json.dumps(result.decision, ensure_ascii=False)).casefold()


def _spellings(value: str) -> set[str]:
    core = value.strip()
    forms = {core, unicodedata.normalize("NFKC", core).strip(), canonical_address(core)}
    if core.replace("-", "").isdigit() and len(core.replace("-", "")) == 13:
        digits = core.replace("-", "")
        forms |= {digits, f"{digits[:5]}-{digits[5:12]}-{digits[12]}"}
    return {f.casefold() for f in forms if len(f) >= 3}


def _assert_nowhere(result: Split, values: list[str]) -> None:
    text = _redacted_text(result)
    for value in values:
        for spelling in _spellings(value):
            assert spelling not in text, f"{value!r} readable after split as {spelling!r}"


def _subject_of(result: Split, role: str) -> int:
    return next(i for i, s in enumerate(result.subjects) if s.role == role)


def _part_of(result: Split, where: str, path: tuple[str | int, ...]) -> tuple[int, ...]:
    for part in result.parts:
        if any(i.where == where and i.path == path for i in part.items):
            return part.subjects
    raise AssertionError(f"{where} {path} is not personal")


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


# --- marking the personal fields of generated documents -------------------------------------------


class _Marker:
    """Replaces the personal values of a valid document by distinctive ones (that no public text
    can contain by chance) and remembers them: an oracle written apart from the module."""

    def __init__(self) -> None:
        self.count = itertools.count(1)
        self.values: list[str] = []

    def keep(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            self.values.append(value)
        return value

    def name(self, value: str) -> str:
        return self.keep(f"Zq{next(self.count)}x {value}")

    def token(self, prefix: str) -> str:
        return self.keep(f"{prefix}ZQ{next(self.count):06d}")

    def id_document(self, doc: dict[str, Any]) -> None:
        n = next(self.count)
        if doc["type"] == "PASSPORT":
            doc["number"] = self.keep(f"QP{n:07d}")
        else:
            digits = f"9{n:012d}"
            dashed = f"{digits[:5]}-{digits[5:12]}-{digits[12]}"
            doc["number"] = self.keep(dashed if n % 2 else digits)

    def account(self, party: dict[str, Any], key: str) -> None:
        value = party.get(key)
        if isinstance(value, str) and looks_like_address(value.strip()):
            self.keep(value)  # a valid address of the asset's network: kept
        elif value is not None:  # an account, or a wallet of a network not validated
            party[key] = self.token("ACC")

    def mark(self, doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        kind = doc["kind"]
        if kind == "licence_application":
            for person in doc["firm"]["people"]:
                self._person(person)
        elif kind == "customer":
            self._person(doc)
        elif kind == "amnesty_declaration":
            declarant = doc["declarant"]
            declarant["full_name"] = self.name(declarant["full_name"])
            self.id_document(declarant["id_document"])
            for proceeding in declarant["pending_proceedings"]:
                proceeding["reference"] = self.token("REF")
            for holding in doc["holdings"]:
                self.account(holding, "wallet_address")
        else:
            for role in ("originator", "beneficiary"):
                party = doc[role]
                if party.get("name") is not None:
                    party["name"] = self.name(party["name"])
                self.account(party, "account_or_wallet")
                for key in ("address", "national_id", "customer_id", "place_of_birth"):
                    if party.get(key) is not None:
                        party[key] = self.token(key[:3].upper())
                self.keep(party.get("date_of_birth"))
                for holder in party.get("joint_holders") or ():
                    holder["name"] = self.name(holder["name"])
        return doc

    def _person(self, person: dict[str, Any]) -> None:
        person["full_name"] = self.name(person["full_name"])
        self.keep(person["date_of_birth"])
        self.id_document(person["id_document"])


def _with_decimals(document: Any) -> Any:
    """The document as a reader with parse_float=Decimal would hold it: amounts as Decimal."""
    if isinstance(document, dict):
        return {
            k: Decimal(v)
            if k in ("amount", "quantity") and isinstance(v, str)
            else _with_decimals(v)
            for k, v in document.items()
        }
    if isinstance(document, list):
        return [_with_decimals(v) for v in document]
    return document


# --- properties -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=EXAMPLES_N)
@given(data=st.data())
def test_generated_documents_round_trip_and_leak_nothing(
    pk: RulePack, kind: str, data: st.DataObject
) -> None:
    marker = _Marker()
    document = marker.mark(data.draw(documents(kind)))
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    _assert_nowhere(result, marker.values)
    # exact numbers: the same document with Decimal amounts comes back with Decimal amounts
    _round_trip(_with_decimals(document), decision)
    # every subject holds data, and its identifiers are what an operator may type for it
    assert all(part.items for part in result.parts)
    for subject in result.subjects:
        for kind_, canonical in subject.identifiers:
            assert (kind_, canonical) in identifiers_of(canonical)


def _scenario_pairs() -> list[tuple[Any, dict[str, Any]]]:
    packs = PackCache()
    pairs: list[tuple[Any, dict[str, Any]]] = []
    for file in discover([ROOT / "tests" / "scenarios"]):
        for case in load_cases(file):
            outcome = run_case(case, packs)
            if not outcome.decisions:
                continue
            for doc, decision in zip(case.documents, outcome.decisions, strict=True):
                pairs.append((doc, json.loads(decision.to_json())))
    return pairs


def test_every_scenario_and_example_round_trips_without_leaking_personal_values(
    pk: RulePack,
) -> None:
    pairs = _scenario_pairs()
    for name in sorted(p.name for p in EXAMPLES.glob("*.json")):
        document = _example(name)
        pairs.append((document, _decide(pk, document)))
    assert len(pairs) > 300
    sealed = 0
    for document, decision in pairs:
        result = _round_trip(document, decision)
        values = [i.value for i in _items(result) if isinstance(i.value, str)]
        _assert_nowhere(result, values)
        sealed += len(values)
        assert result.decision["outcome"] == decision["outcome"]
        assert [f["rule_id"] for f in result.decision["findings"]] == [
            f["rule_id"] for f in decision["findings"]
        ]
    assert sealed > 1000


# --- what is personal, and whose ------------------------------------------------------------------


def test_licence_people_are_subjects_and_the_firm_is_not(pk: RulePack) -> None:
    document = _example("licence_application.json")
    result = _round_trip(document, _decide(pk, document))
    people = document["firm"]["people"]
    assert [s.role for s in result.subjects] == [f"people[{i}]" for i in range(len(people))]
    assert [s.name for s in result.subjects] == [p["full_name"] for p in people]
    firm = result.input["firm"]
    assert {k: v for k, v in firm.items() if k != "people"} == {
        k: v for k, v in document["firm"].items() if k != "people"
    }
    for person in firm["people"]:
        assert person["full_name"] == person["date_of_birth"] == PLACEHOLDER
        assert person["id_document"]["number"] == PLACEHOLDER
        assert person["id_document"]["type"] in ("CNIC", "NICOP", "PASSPORT")
        assert isinstance(person["ownership_pct"], str) and person["ownership_pct"] != PLACEHOLDER
    # VER-06 names Priya Raman: reason, remediation and the full_name fact are hers alone
    priya = _subject_of(result, "people[2]")
    finding = next(i for i, f in enumerate(result.decision["findings"]) if f["rule_id"] == "VER-06")
    found = result.decision["findings"][finding]
    assert found["reason"] == found["remediation"] == PLACEHOLDER
    assert found["facts"]["firm.people[2].full_name"] == PLACEHOLDER
    assert found["facts"]["firm.people[2].roles[0]"] == "CFO"
    assert found["title"] and found["citation"]["instrument"]
    assert _part_of(result, "decision", ("findings", finding, "reason")) == (priya,)
    assert result.subjects[priya].identifiers == (("passport", "548812093"),)


def test_a_reason_quoting_two_persons_is_one_part_under_both(pk: RulePack) -> None:
    document = _example("transfer.json")
    for role in ("originator", "beneficiary"):
        document[role]["sanctions_screening"] = {
            "result": "POTENTIAL_MATCH",
            "screened_on": "2026-03-01",
        }
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    index = next(i for i, f in enumerate(decision["findings"]) if f["rule_id"] == "VER-03")
    reason = decision["findings"][index]["reason"]
    assert "Bilal Ahmed Qureshi" in reason and "Hamza Traders LLC" in reason
    both = (_subject_of(result, "originator"), _subject_of(result, "beneficiary"))
    assert _part_of(result, "decision", ("findings", index, "reason")) == tuple(sorted(both))
    assert _part_of(result, "input", ("originator", "name")) == (both[0],)
    assert _part_of(result, "input", ("beneficiary", "account_or_wallet")) == (both[1],)
    assert result.decision["findings"][index]["outcome"] == decision["findings"][index]["outcome"]
    _assert_nowhere(result, ["Bilal Ahmed Qureshi", "Hamza Traders LLC", "4210177342905"])


def test_transfer_party_fields_and_identifiers(pk: RulePack) -> None:
    document = _example("transfer.json")
    result = _round_trip(document, _decide(pk, document))
    originator = result.subjects[_subject_of(result, "originator")]
    assert originator.name == "Bilal Ahmed Qureshi"
    assert set(originator.identifiers) == {
        ("account", "CUST-00481977"),
        ("customer_id", "CUST-00481977"),
        ("national_id", "4210177342905"),
    }
    beneficiary = result.subjects[_subject_of(result, "beneficiary")]
    assert beneficiary.identifiers == (("wallet", "0x9f3c1e7a42b8d05e6c1a7b3f94d2e8c05a6b71d2"),)
    assert set(result.input["originator"].values()) == {PLACEHOLDER}
    public = {k: v for k, v in result.input.items() if k not in ("originator", "beneficiary")}
    assert public == {k: v for k, v in document.items() if k in public}
    assert result.input["counterparty_vasp"]["name"] == "Gulf Crest Exchange"


def test_joint_holders_share_the_party_account_and_persons_names_are_sealed(
    pk: RulePack,
) -> None:
    document = _example("transfer.json")
    document["originator"]["joint_holders"] = [
        {
            "name": "Ayesha Qureshi",
            "sanctions_screening": {"result": "CLEAR", "screened_on": "2026-03-01"},
        }
    ]
    decision = _decide(pk, document)
    assert decision["persons"][1]["name"] == "Ayesha Qureshi"
    result = _round_trip(document, decision)
    assert result.decision["persons"][1] == {
        "name": PLACEHOLDER,
        "path": "originator.joint_holders[0].name",
        "role": "originator joint holder",
    }
    # one account, one subject: erasing the account holder erases the joint holder's name too
    holder = _part_of(result, "input", ("originator", "joint_holders", 0, "name"))
    assert holder == _part_of(result, "input", ("originator", "name"))
    _assert_nowhere(result, ["Ayesha Qureshi"])


def test_amnesty_wallets_are_the_declarants_and_custodians_are_public(pk: RulePack) -> None:
    document = _example("amnesty_declaration.json")
    result = _round_trip(document, _decide(pk, document))
    (declarant,) = result.subjects
    assert declarant.role == "declarant"
    wallets = [("wallet", canonical_address(h["wallet_address"])) for h in document["holdings"]]
    assert set(wallets) <= set(declarant.identifiers)
    for holding, original in zip(result.input["holdings"], document["holdings"], strict=True):
        assert holding["wallet_address"] == PLACEHOLDER
        assert holding.get("custodian_name") == original.get("custodian_name")
        assert holding["value_at_reference"] == original["value_at_reference"]
    assert result.input["destination_vasp"] == document["destination_vasp"]


def test_a_customer_id_that_is_the_document_id_stays_public(pk: RulePack) -> None:
    document = _example("customer.json")
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    (customer,) = result.subjects
    assert ("customer_id", document["customer_id"]) in customer.identifiers
    assert result.input["customer_id"] == document["customer_id"]
    assert result.decision["document_id"] == document["customer_id"]
    assert result.input["full_name"] == PLACEHOLDER


def test_a_batch_quotes_another_documents_person_under_a_subject_of_its_own(
    pk: RulePack,
) -> None:
    first = _example("amnesty_declaration.json")
    second = copy.deepcopy(first)
    second["declaration_id"] = "VDA-OTHER-1"
    second["declarant"]["full_name"] = "Nadia Hussain"
    second["declarant"]["id_document"]["number"] = "3520299999999"
    second["holdings"] = second["holdings"][:1]
    decisions = pk.evaluate_many([first, second], AS_OF)
    decision = json.loads(decisions[0].to_json())
    assert any(f["rule_id"] == "AMN-14" for f in decision["findings"])
    result = _round_trip(first, decision)
    roles = [s.role for s in result.subjects]
    assert roles == ["declarant", "batch.amnesty_declaration[VDA-OTHER-1].declarant"]
    wallet = first["holdings"][0]["wallet_address"]
    other = result.subjects[1]
    assert other.identifiers == (("wallet", canonical_address(wallet)),)
    index = next(i for i, f in enumerate(decision["findings"]) if f["rule_id"] == "AMN-14")
    key = "batch.amnesty_declaration[VDA-OTHER-1].holdings[0].wallet_address"
    assert _part_of(result, "decision", ("findings", index, "facts", key)) == (0, 1)
    _assert_nowhere(result, [wallet])


def _mapped_values(mapped: dict[str, Any]) -> list[str]:
    """The personal values of the transfer an IVMS101 envelope maps to (the oracle)."""
    keys = ("name", "account_or_wallet", "address", "national_id", "customer_id")
    keys += ("date_of_birth", "place_of_birth")
    values: list[str] = []
    for role in ("originator", "beneficiary"):
        party = mapped[role]
        values += [party[key] for key in keys if party.get(key)]
        values += [holder["name"] for holder in party.get("joint_holders") or ()]
    return values


def _ivms_envelopes() -> list[Any]:
    envelopes = [
        json.loads((EXAMPLES / "ivms101" / name).read_text())
        for name in ("outgoing_2020.json", "incoming_2023.json")
    ]
    for case in load_cases(ROOT / "tests" / "scenarios" / "ivms101.scenarios.yaml"):
        if case.input_format == "ivms101" and (case.expect is None or not case.expect.error):
            envelopes += case.documents
    return envelopes


def test_ivms101_envelopes(pk: RulePack) -> None:
    envelopes = _ivms_envelopes()
    assert len(envelopes) > 10
    joint = 0
    for envelope in envelopes:
        transfer = parse_ivms101(envelope)
        decision = _decide(pk, transfer)
        result = _round_trip(envelope, decision)
        mapped = transfer.model_dump(mode="json")
        values = _mapped_values(mapped)
        _assert_nowhere(result, values)
        joint += bool(mapped["originator"].get("joint_holders"))
        roles = [s.role for s in result.subjects]
        assert set(roles) <= {"originator", "beneficiary"} and len(roles) == len(set(roles))
        assert result.input["transfer"] == envelope["transfer"]  # amounts, dates, ids: public
        for vasp in ("originatingVASP", "beneficiaryVASP"):  # a VASP is a firm: public
            assert result.input["ivms101"].get(vasp) == envelope["ivms101"].get(vasp)
        # the mapped transfer, as the log stores it, splits alike
        _assert_nowhere(_round_trip(mapped, decision), values)
    assert joint  # a joint account among them


def test_an_unknown_structure_is_sealed_but_for_obviously_public_keys() -> None:
    document = {
        "kind": "mystery",
        "document_id": "M-1",
        "owner": {
            "full_name": "Zara Khan",
            "passport": "ab1234567",
            "dob": "1990-01-01",
            "wallet": "0xAbC0000000000000000000000000000000000001",
            "scores": [1, 2.5, Decimal("3.25")],
            "cnic": 4210177342905,
        },
        "amount": "12.50",
        "currency": "USD",
        "created_at": "2026-01-01",
        "status": "OPEN",
        "notes": "paid by Zara Khan",
        "type": "not a code",
    }
    decision = {
        "outcome": "APPROVE",
        "findings": [
            {
                "rule_id": "X-1",
                "reason": "Zara Khan passes",
                "facts": {"owner.dob": "1990-01-01", "amount": "12.50"},
                "missing": [],
            }
        ],
    }
    result = _round_trip(document, decision)
    assert result.input == {
        "kind": "mystery",
        "document_id": "M-1",
        "owner": {
            "full_name": PLACEHOLDER,
            "passport": PLACEHOLDER,
            "dob": PLACEHOLDER,
            "wallet": PLACEHOLDER,
            "scores": [1, 2.5, Decimal("3.25")],
            "cnic": PLACEHOLDER,
        },
        "amount": "12.50",
        "currency": "USD",
        "created_at": "2026-01-01",
        "status": "OPEN",
        "notes": PLACEHOLDER,
        "type": PLACEHOLDER,
    }
    assert result.decision["findings"][0]["reason"] == PLACEHOLDER
    assert result.decision["findings"][0]["facts"] == {"owner.dob": PLACEHOLDER, "amount": "12.50"}
    (subject,) = result.subjects
    assert subject.role == "document" and subject.name == "Zara Khan"
    assert ("passport", "AB1234567") in subject.identifiers
    assert ("cnic", "4210177342905") in subject.identifiers
    assert ("wallet", "0xabc0000000000000000000000000000000000001") in subject.identifiers


# --- the hard cases -------------------------------------------------------------------------------


def test_a_name_inside_public_text_seals_that_text_and_nothing_public(pk: RulePack) -> None:
    document = _example("licence_application.json")
    # a person named like words of the pack's texts and like the firm itself
    document["firm"]["people"][0]["full_name"] = "Form"
    document["firm"]["people"][1]["full_name"] = document["firm"]["legal_name"]
    document["firm"]["people"][3]["full_name"] = "REFER"
    names = [p["full_name"] for p in document["firm"]["people"]]
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    # public members stay whatever a name says
    assert result.decision["outcome"] == decision["outcome"] == "REFER"
    assert result.input["stage"] == document["stage"]
    assert [d["type"] for d in result.input["documents"]] == [
        d["type"] for d in document["documents"]
    ]
    for got, want in zip(result.decision["findings"], decision["findings"], strict=True):
        assert (got["rule_id"], got["title"], got["citation"]) == (
            want["rule_id"],
            want["title"],
            want["citation"],
        )
        for key in ("reason", "remediation"):  # a text quoting a name is sealed, others stay
            quotes = any(n.casefold() in want[key].casefold() for n in names)
            assert (got[key] == PLACEHOLDER) == quotes, want[key]
    lic11 = next(f for f in result.decision["findings"] if f["rule_id"] == "LIC-11")
    assert lic11["reason"] == PLACEHOLDER  # "Form A1 was received ...": quotes "Form"
    # the firm's own name quotes people[1]: sealed with them
    assert result.input["firm"]["legal_name"] == PLACEHOLDER
    assert _part_of(result, "input", ("firm", "legal_name")) == (_subject_of(result, "people[1]"),)


def test_unicode_names_are_found_in_every_spelling(pk: RulePack) -> None:
    document = _example("customer.json")
    document["full_name"] = "\uff21\uff59\uff45\uff53\uff48\uff41  Kh\u0101n"  # fullwidth
    document["pep"] = "DOMESTIC"
    decision = _decide(pk, document)
    folded = unicodedata.normalize("NFKC", document["full_name"])
    assert any(folded in f["reason"] for f in decision["findings"])
    result = _round_trip(document, decision)
    assert result.subjects[0].name == folded
    _assert_nowhere(result, [document["full_name"], folded])
    urdu = _example("customer.json")
    urdu["full_name"] = "\u0639\u0627\u0626\u0634\u06c1 \u062e\u0627\u0646"
    urdu["pep"] = "FOREIGN"
    _assert_nowhere(_round_trip(urdu, _decide(pk, urdu)), [urdu["full_name"]])


def test_blank_fields_are_no_value_and_name_nobody(pk: RulePack) -> None:
    document = _example("transfer.json")
    document["originator"]["address"] = "   "
    document["originator"]["place_of_birth"] = ""
    document["beneficiary"] = {"name": "\u00a0", "account_or_wallet": None}
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    assert result.input["originator"]["address"] == "   "
    assert result.input["originator"]["place_of_birth"] == ""
    assert result.input["beneficiary"] == document["beneficiary"]
    assert [s.role for s in result.subjects] == ["originator"]
    # the blank is looked for nowhere: texts that quote no one stay readable
    public = [f for f in result.decision["findings"] if f["rule_id"] in ("TR-01", "TR-02")]
    assert public and all(f["reason"] != PLACEHOLDER for f in public)


def test_two_persons_with_one_identifier_are_one_subject(pk: RulePack) -> None:
    document = _example("licence_application.json")
    people = document["firm"]["people"]
    people[1]["id_document"] = dict(people[0]["id_document"])
    people[1]["id_document"]["number"] = people[0]["id_document"]["number"].replace("-", "")
    result = _round_trip(document, _decide(pk, document))
    assert [s.role for s in result.subjects] == ["people[0]", "people[2]", "people[3]"]
    assert result.subjects[0].name == people[0]["full_name"]
    assert _part_of(result, "input", ("firm", "people", 1, "full_name")) == (0,)


# --- identifiers an operator types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("35202-4718263-4", ("cnic", "3520247182634")),
        ("3520247182634", ("cnic", "3520247182634")),
        (" 37405-2291846-7 ", ("nicop", "3740522918467")),
        ("ab1234563", ("passport", "AB1234563")),
        (
            "0X9F3C1E7A42B8D05E6C1A7B3F94D2E8C05A6B71D2",
            ("wallet", "0x9f3c1e7a42b8d05e6c1a7b3f94d2e8c05a6b71d2"),
        ),
        ("CUST-00481977", ("customer_id", "CUST-00481977")),
        ("CUST-00481977", ("account", "CUST-00481977")),
        ("42101-7734290-5", ("national_id", "4210177342905")),
    ],
)
def test_identifiers_of_what_an_operator_types(typed: str, wanted: tuple[str, str]) -> None:
    assert wanted in identifiers_of(typed)


def test_identifiers_of_blank_is_nobody() -> None:
    assert identifiers_of("") == identifiers_of(" \u00a0") == []


def test_identifiers_of_finds_the_subjects_of_the_examples(pk: RulePack) -> None:
    cases = [
        ("licence_application.json", "35202-4718263-4"),
        ("transfer.json", "42101-7734290-5"),
        ("transfer.json", "cust-00481977".upper()),
        ("amnesty_declaration.json", "BC1QLVRY4TDWKRZ4ZPUAT425GXQMSEJEXT9JF9WHKG"),
    ]
    for name, typed in cases:
        document = _example(name)
        result = split(document, _decide(pk, document))
        found = [s for s in result.subjects if set(identifiers_of(typed)) & set(s.identifiers)]
        assert len(found) == 1, (name, typed)


# --- join -----------------------------------------------------------------------------------------


def test_join_refuses_an_item_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match=r"input a\.b"):
        join({"a": 1}, {}, [Item("input", ("a", "b"), "x")])
    with pytest.raises(ValueError, match="expected input or decision"):
        join({}, {}, [Item("elsewhere", ("a",), "x")])
    assert join({"a": PLACEHOLDER}, {}, [Item("input", ("a",), Decimal("1.50"))]) == (
        {"a": Decimal("1.50")},
        {},
    )


@pytest.mark.parametrize("name", ["licence_application.json", "amnesty_declaration.json"])
def test_an_explained_decision_leaks_nothing(pk: RulePack, name: str) -> None:
    document = _example(name)
    decision = json.loads(pk.evaluate(document, AS_OF, explain=True).to_json())
    assert decision["explanation"]["rules"]
    result = _round_trip(document, decision)
    _assert_nowhere(result, [i.value for i in _items(result) if isinstance(i.value, str)])
    assert any(i.path[0] == "explanation" for i in _items(result))


def test_a_fact_read_from_a_personal_field_is_sealed_however_short(pk: RulePack) -> None:
    document = _example("licence_application.json")
    document["firm"]["people"][2]["full_name"] = "Li"  # too short to be looked for in text
    decision = _decide(pk, document)
    result = _round_trip(document, decision)
    facts = [f["facts"] for f in result.decision["findings"]]
    assert [f["firm.people[2].full_name"] for f in facts if "firm.people[2].full_name" in f] == [
        PLACEHOLDER
    ]
    assert result.subjects[_subject_of(result, "people[2]")].name == "Li"


# --- any shape: split never fails, and join undoes it ---------------------------------------------

_KEYS = st.sampled_from(
    [
        "kind", "firm", "people", "full_name", "id_document", "type", "number", "originator",
        "beneficiary", "joint_holders", "name", "account_or_wallet", "holdings",
        "wallet_address", "declarant", "customer_id", "transfer_id", "ivms101",
        "originatorPersons", "naturalPerson", "nameIdentifier", "primaryIdentifier",
        "accountNumber", "nationalIdentification", "nationalIdentifier", "transfer",
        "findings", "facts", "persons", "path", "reason", "outcome", "explanation",
        "originator.name", "firm.people[0].full_name", "batch.transfer[T-1].originator.name",
        "holdings[0].wallet_address", "batch.x[", "status", "created_at", "amount",
    ]
)  # fmt: skip
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["CNIC", "PASSPORT", "transfer", "customer", "licence_application"])
    | st.sampled_from(
        ["35202-4718263-4", "Ayesha Khan", "0xAbC0000000000000000000000000000000000001"]
    )
    | st.text(max_size=12)
)
_ANY = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=EXAMPLES_N * 5)
@given(
    document=st.dictionaries(_KEYS, _ANY, max_size=6),
    kind=st.sampled_from([*sorted(KINDS), None, 7]),
    decision=st.dictionaries(_KEYS, _ANY, max_size=6),
)
def test_any_shape_splits_and_joins_back(
    document: dict[str, Any], kind: Any, decision: dict[str, Any]
) -> None:
    if kind is not None:
        document["kind"] = kind
    result = _round_trip(document, decision)
    for part in result.parts:
        assert part.subjects and list(part.subjects) == sorted(set(part.subjects))
        assert all(0 <= s < len(result.subjects) for s in part.subjects)
    used = {s for part in result.parts for s in part.subjects}
    assert used == set(range(len(result.subjects)))


def test_linked_transfers_quoted_by_tr10_are_subjects_of_their_own() -> None:
    """TR-10 quotes the identifiers of the other transfers of the batch: each other transfer's
    originator is a subject with those identifiers (so that erasing that person finds this
    record too), and a value this document's originator shares is sealed under both."""
    packs = PackCache()
    checked = shared = 0
    for case in load_cases(ROOT / "tests" / "scenarios" / "travel_rule.scenarios.yaml"):
        outcome = run_case(case, packs)
        for doc, made in zip(case.documents, outcome.decisions, strict=True):
            decision = json.loads(made.to_json())
            result = _round_trip(doc, decision)
            originator = result.subjects[_subject_of(result, "originator")]
            for i, finding in enumerate(decision["findings"]):
                for key, value in finding["facts"].items():
                    other = key.removesuffix(".national_id")
                    itself = f"[{doc['transfer_id']}]" in key  # this transfer: its originator
                    if not key.startswith("batch.") or other == key or not value or itself:
                        continue
                    who = _part_of(result, "decision", ("findings", i, "facts", key))
                    subjects = [result.subjects[s] for s in who]
                    assert other in [s.role for s in subjects]
                    theirs = next(s for s in subjects if s.role == other)
                    assert ("national_id", value) in theirs.identifiers
                    mine = ("national_id", value) in originator.identifiers
                    assert (originator in subjects) == mine
                    checked += 1
                    shared += mine
    assert checked and shared


def _schema_paths(schema: dict[str, Any], node: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """Every field path of a document kind's JSON schema (list items at index 0)."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    for option in node.get("anyOf", ()):
        yield from _schema_paths(schema, option, path)
    if "items" in node:
        yield from _schema_paths(schema, node["items"], (*path, 0))
    for key, sub in node.get("properties", {}).items():
        yield (*path, key)
        yield from _schema_paths(schema, sub, (*path, key))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_of_every_kind_is_classified(kind: str) -> None:
    """A field the description does not name would be read as free structure: a new field of
    ENTITIES.md must be classified (public, text or personal) here first."""
    schema = json_schema(kind)
    paths = set(_schema_paths(schema, schema, ()))
    assert len(paths) > 10
    unnamed = sorted(format_path(p) for p in paths if node_at(kind, p) is None)
    assert unnamed == []
