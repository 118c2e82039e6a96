"""IVMS101 payloads published in public travel-rule repositories (tests/fixtures/ivms101_public,
SOURCES.md names each one's repository, path, commit and licence): each is either accepted and
decided, or refused with a one-line error naming a member the standard does not define."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from support.repo import AS_OF

from vasp_rules import RulePack
from vasp_rules.entities.ivms101 import Ivms101Error, parse_ivms101

PUBLIC = Path(__file__).resolve().parent / "fixtures" / "ivms101_public"

#: the transfer's own fields, the same for every payload: an incoming transfer from a licensed,
#: diligenced VASP, so the counterparty VASP's name comes from the payload's originatingVASP
SIDE: dict[str, Any] = {
    "transfer_id": "T-PUBLIC",
    "direction": "IN",
    "asset": "BTC",
    "amount": "0.05",
    "value": {"amount": "2500", "currency": "USD"},
    "executed_at": "2026-03-02T10:00:00Z",
    "counterparty_type": "VASP",
    "counterparty_vasp": {"jurisdiction": "US", "licensed": True, "due_diligence_on": "2026-01-15"},
    "unhosted_ownership_verified": False,
    "data_transmitted_at": "2026-03-02T09:59:00Z",
}

#: file -> ("decided", outcome, rules fired, counterparty VASP name)
#:      or ("refused", error path, message fragment)
EXPECTED: dict[str, tuple[str, ...]] = {
    "trisa_identity_payload.json": ("decided", "APPROVE", "", "AliceCoin, Inc."),
    # no originator accountNumber: an incoming transfer lacks required information
    "trp_payload.json": ("decided", "REFER", "TR-04", "Alice VASP"),
    "trp_inquiry.json": ("decided", "REFER", "TR-04", "Alice VASP"),
    "trp_client_inquiry.json": ("decided", "REFER", "TR-04", "VASP A"),
    "testnet_openvasp_originator.json": ("decided", "REFER", "TR-04", "Openvasp"),
    # protocol-buffer field names are not the standard's JSON member names
    "trisa_envelope_identity.json": (
        "refused",
        "ivms101.originating_vasp",
        "unknown field (did you mean originatingVASP? member names are case-sensitive)",
    ),
    "testnet_openvasp_identity.json": (
        "refused",
        "ivms101.originating_vasp",
        "unknown field (did you mean originatingVASP?",
    ),
    "envoy_identity.pb.json": ("refused", "ivms101.@type", "unknown field"),
    # IVMS101 has addressLine (a list of lines), not address_lines
    "envoy_webhook_request_transaction_payload.json": (
        "refused",
        "ivms101.originator.originatorPersons[0].naturalPerson.geographicAddress[0].address_lines",
        "unknown field (did you mean addressLine?)",
    ),
    # TRISA's deliberately non-standard spellings: geographicAddresses, nameIdentifiers, dob...
    "trisa_identity_payload_alt.json": (
        "refused",
        "ivms101.originator.originatorPersons[0].naturalPerson.geographicAddresses",
        "unknown field (did you mean geographicAddress?)",
    ),
}


def payload_of(data: dict[str, Any]) -> Any:
    """The IVMS101 payload in a published file: a TRP request's IVMS101 member, a TRISA/Envoy
    webhook's identity member, else the file itself (SOURCES.md says which)."""
    for member in ("IVMS101", "identity"):
        if member in data:
            return data[member]
    return data


def test_the_corpus_has_ten_payloads_each_named_in_sources() -> None:
    files = sorted(p.name for p in PUBLIC.glob("*.json"))
    assert len(files) >= 10 and set(files) == set(EXPECTED)
    sources = (PUBLIC / "SOURCES.md").read_text()
    for name in files:
        row = next(line for line in sources.splitlines() if line.startswith(f"| `{name}` |"))
        assert re.search(r"\| [0-9a-f]{40} \| MIT \|", row), row


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_payload_is_decided_or_refused_as_pinned(name: str, pk: RulePack) -> None:
    data = json.loads((PUBLIC / name).read_text(encoding="utf-8"))
    envelope = {"ivms101": payload_of(data), "transfer": SIDE}
    expected = EXPECTED[name]
    if expected[0] == "decided":
        _, outcome, fired, vasp = expected
        transfer = parse_ivms101(envelope)
        assert transfer.counterparty_vasp is not None
        assert transfer.counterparty_vasp.name == vasp
        decision = pk.evaluate(transfer, AS_OF)
        assert (decision.outcome, " ".join(decision.fired)) == (outcome, fired)
    else:
        _, path, fragment = expected
        with pytest.raises(Ivms101Error) as info:
            parse_ivms101(envelope)
        [(got_path, message)] = info.value.errors
        assert got_path == path and fragment in message and "\n" not in message
