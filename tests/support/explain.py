"""Shared helpers for the explanation tests: a small rule pack whose rules
exercise every kind of explanation and suggestion, and base documents for it.

The pack has its own manifest and parameters (not copies of rules/pk, which is being
extended), so exact outcomes, thresholds and suggestions here do not move under the tests.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vasp_rules import RulePack
from vasp_rules.core.docpath import get_at, parse_path
from vasp_rules.model.explanation import TraceNode

AS_OF = date(2026, 6, 1)

MANIFEST = """\
name: explain-test
jurisdiction: PK
version: 1.0.0
title: Explanation test pack
holidays_parameter: holidays
"""

PARAMETERS = """\
parameters:
  fx_to_pkr:
    type: table of number
    description: PKR per unit of each currency.
    values:
      - from: 2018-01-01
        value: {USD: "280.00", AED: "76.25", EUR: "305.00"}
        source: Test reference rates
        confidence: A
  holidays:
    type: list of date
    description: Public holidays.
    values:
      - from: 2018-01-01
        value: [2026-03-23, 2026-05-01]
        source: Test holidays
        confidence: A
  capital_floor:
    type: table of money
    description: Minimum paid-up capital by activity.
    illustrative: true
    values:
      - from: 2018-01-01
        to: 2025-12-31
        value:
          EXCHANGE: {amount: 1000000, currency: AED}
          BROKER_DEALER: {amount: 400000, currency: AED}
          CUSTODY: {amount: 400000, currency: AED}
          VA_DERIVATIVES: {amount: 1000000, currency: AED}
          LENDING_BORROWING: {amount: 300000, currency: AED}
          ADVISORY: {amount: 100000, currency: AED}
          ASSET_MANAGEMENT: {amount: 300000, currency: AED}
          TRANSFER_SETTLEMENT: {amount: 300000, currency: AED}
          ISSUANCE: {amount: 300000, currency: AED}
          PAYMENTS: {amount: 300000, currency: AED}
        source: Old test floors
        confidence: A
      - from: 2026-01-01
        value:
          EXCHANGE: {amount: 1500000, currency: AED}
          BROKER_DEALER: {amount: 600000, currency: AED}
          CUSTODY: {amount: 600000, currency: AED}
          VA_DERIVATIVES: {amount: 1500000, currency: AED}
          LENDING_BORROWING: {amount: 500000, currency: AED}
          ADVISORY: {amount: 100000, currency: AED}
          ASSET_MANAGEMENT: {amount: 500000, currency: AED}
          TRANSFER_SETTLEMENT: {amount: 500000, currency: AED}
          ISSUANCE: {amount: 500000, currency: AED}
          PAYMENTS: {amount: 500000, currency: AED}
        source: Test floors modelled on VARA
        url: https://example.org/floors
        confidence: A
  required_documents:
    type: list of string
    description: Documents an EOI pack must contain.
    values:
      - from: 2018-01-01
        value: [COMPANY_PROFILE, FOREIGN_LICENCES, CAPITAL_DETAILS]
        source: Test EOI list
        confidence: S
  required_policies:
    type: list of string
    description: Board-approved policies a firm must have.
    values:
      - from: 2018-01-01
        value: [AML_CFT, SANCTIONS]
        source: Test policy list
        confidence: P
  full_deadline:
    type: date
    description: Last day for FULL applications.
    values:
      - from: 2018-01-01
        value: 2026-03-01
        source: Test deadline
        confidence: A
  overheads_fraction:
    type: number
    description: Capital must cover this share of annual fixed overheads.
    values:
      - from: 2018-01-01
        value: "0.25"
        source: Test fraction
        confidence: A
  fera_limit:
    type: money
    description: Annual outward limit.
    values:
      - from: 2018-01-01
        value: {amount: 100000, currency: USD}
        source: Test limit
        confidence: S
  travel_rule_threshold:
    type: money
    description: Travel-rule threshold.
    values:
      - from: 2018-01-01
        value: {amount: 1000, currency: USD}
        source: Test threshold
        confidence: P
  str_working_days:
    type: int
    description: Working days to file an STR.
    values:
      - from: 2018-01-01
        value: 7
        source: Test STR deadline
        confidence: S
"""

_CITE = "citation: {instrument: Test instrument, provision: s.1, confidence: A}"


def _rule(
    rule_id: str,
    kind: str,
    when: str,
    outcome: str,
    *,
    title: str | None = None,
    reason: str = "Rule fired.",
    extra: str = "",
) -> str:
    lines = [
        f"  - id: {rule_id}",
        "    version: 1",
        f"    title: {title or rule_id + ' test rule'}",
        f"    applies_to: {kind}",
        f"    when: {when!r}".replace("\\'", "''"),
        f"    outcome: {outcome}",
        f"    reason: {reason!r}",
        f"    {_CITE}",
        "    remediation: Fix it.",
        "    effective_from: 2018-01-01",
    ]
    if extra:
        lines.append(extra)
    return "\n".join(lines)


RULES = "\n".join(
    [
        "rules:",
        _rule(
            "X-CAP",
            "licence_application",
            "firm.paid_up_capital < max(a in activities: param.capital_floor[a])",
            "REJECT",
            title="Capital below the floor",
            reason="Capital {firm.paid_up_capital} is below the floor.",
        ),
        _rule(
            "X-CAPA",
            "licence_application",
            "any(a in activities: firm.paid_up_capital < param.capital_floor[a])",
            "REJECT",
            title="Capital below an activity's floor",
        ),
        _rule(
            "X-POL",
            "licence_application",
            "any(t in param.required_policies: "
            "none(p in firm.policies: p.type == t and p.board_approved_on <= as_of))",
            "REQUIRE_DOCUMENTS",
            title="Board policy missing",
        ),
        _rule(
            "X-MLRO",
            "licence_application",
            'any(p in firm.people where "MLRO" in p.roles: p.outsourced)',
            "REJECT",
            title="MLRO outsourced",
        ),
        _rule(
            "X-DOCS",
            "licence_application",
            'stage == "EOI" and any(t in param.required_documents: t not in documents.type)',
            "REQUIRE_DOCUMENTS",
            title="EOI pack incomplete",
        ),
        _rule(
            "X-GOAML",
            "licence_application",
            'firm.noc_status == "GRANTED" and not firm.goaml_registered',
            "APPROVE_WITH_CONDITIONS",
        ),
        _rule(
            "X-OVH",
            "licence_application",
            "firm.paid_up_capital < firm.annual_fixed_overheads * param.overheads_fraction",
            "REJECT",
            title="Capital below the overheads share",
        ),
        _rule(
            "X-CONV",
            "licence_application",
            "any(p in firm.people: any(c in p.convictions: "
            'c.category in ["MONEY_LAUNDERING", "TERRORIST_FINANCING", "FRAUD"]))',
            "REJECT",
            title="Relevant conviction",
        ),
        _rule(
            "X-FIT",
            "licence_application",
            'any(p in firm.people where "CEO" in p.roles: p.fit_and_proper_declared_on is missing)',
            "REQUIRE_DOCUMENTS",
        ),
        _rule(
            "X-CUST",
            "licence_application",
            'firm.custody_model == "IN_HOUSE" and "EXCHANGE" in activities',
            "REFER",
        ),
        _rule(
            "X-LATE",
            "licence_application",
            'stage == "FULL" and submitted_on > param.full_deadline',
            "REFER",
            title="Full application late",
        ),
        _rule(
            "X-EXP",
            "licence_application",
            'any(l in firm.foreign_licences where l.status == "ACTIVE": l.expires_on < as_of)',
            "REFER",
            title="Licence relied on has expired",
        ),
        _rule(
            "X-BAN",
            "licence_application",
            "any(p in firm.people: p.regulatory_ban)",
            "REJECT",
            extra="    not_clearable_reason: A regulatory ban is decided by a regulator.",
        ),
        _rule(
            "X-DATA",
            "licence_application",
            'any(c in firm.data_locations: c != "PK")',
            "INFO",
        ),
        _rule(
            "C-STR",
            "customer",
            "suspicion_flagged_on is present and (str_filed_on is missing and as_of > "
            "suspicion_flagged_on + working_days(param.str_working_days) or str_filed_on > "
            "suspicion_flagged_on + working_days(param.str_working_days))",
            "REFER",
            title="STR overdue",
        ),
        _rule(
            "C-SOF",
            "customer",
            'risk_rating == "HIGH" and not source_of_funds.evidenced',
            "REQUIRE_DOCUMENTS",
        ),
        _rule(
            "C-FERA",
            "customer",
            "outward_transfers_this_year > param.fera_limit",
            "REFER",
        ),
        _rule(
            "T-TR",
            "transfer",
            'direction == "OUT" and value >= param.travel_rule_threshold and '
            "(originator.name is missing or originator.account_or_wallet is missing)",
            "REJECT",
            title="Originator data missing",
        ),
        _rule(
            "T-BIG",
            "transfer",
            "any(t in batch.transfer: t.value > value)",
            "INFO",
        ),
        _rule(
            "T-BIGGER",
            "transfer",
            "any(t in batch.transfer: t.value > value)",
            "REFER",
            title="A larger transfer in the batch",
        ),
        _rule(
            "A-POC",
            "amnesty_declaration",
            'any(h in holdings where h.location == "SELF_HOSTED": h.proof_of_control == "NONE")',
            "REQUIRE_DOCUMENTS",
            title="Self-hosted wallet without proof of control",
        ),
    ]
)


@functools.cache
def pack_dir() -> Path:
    """The test pack, written once per session to a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="explain-pack-"))
    (root / "parameters").mkdir()
    (root / "rules").mkdir()
    (root / "pack.yaml").write_text(MANIFEST)
    (root / "parameters" / "test.yaml").write_text(PARAMETERS)
    (root / "rules" / "test.yaml").write_text(RULES + "\n")
    return root


@functools.cache
def explain_pack() -> RulePack:
    return RulePack.load(pack_dir())


def person(name: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "full_name": name,
        "date_of_birth": "1980-01-01",
        "nationalities": ["PK"],
        "residence_country": "PK",
        "id_document": {"type": "PASSPORT", "number": "AB1234567", "expires_on": "2030-01-01"},
        "roles": roles,
        "ownership_pct": "0",
        "pep": "NONE",
        "sanctions_screening": {"result": "CLEAR", "screened_on": "2026-01-10"},
        "convictions": [],
        "regulatory_ban": False,
        "insolvent": False,
        "years_relevant_experience": 10,
        "outsourced": False,
        "fit_and_proper_declared_on": "2026-01-28",
        "security_clearance": "NOT_REQUIRED",
    }
    base.update(extra)
    return base


_APPLICATION: dict[str, Any] = {
    "kind": "licence_application",
    "application_id": "APP-1",
    "stage": "NOC",
    "submitted_on": "2026-02-16",
    "activities": ["EXCHANGE", "CUSTODY"],
    "documents": [
        {"type": "COMPANY_PROFILE", "received_on": "2025-10-02"},
        {"type": "FOREIGN_LICENCES", "received_on": "2025-10-02"},
        {"type": "CAPITAL_DETAILS", "received_on": "2025-10-02"},
    ],
    "firm": {
        "legal_name": "Test Markets FZE",
        "incorporation_country": "AE",
        "pk_entity_status": "IN_PROGRESS",
        "foreign_licences": [
            {
                "regulator": "VARA",
                "jurisdiction": "AE",
                "licence_no": "VL-1",
                "activities": ["EXCHANGE"],
                "status": "ACTIVE",
                "expires_on": "2027-07-14",
            }
        ],
        "noc_status": "APPLIED",
        "goaml_registered": False,
        "paid_up_capital": {"amount": "850000000.00", "currency": "PKR"},
        "annual_fixed_overheads": {"amount": "2400000.00", "currency": "USD"},
        "custody_model": "THIRD_PARTY_LICENSED",
        "proprietary_trading": False,
        "pk_registered_office": True,
        "data_locations": ["PK"],
        "shariah_products": False,
        "uses_pk_banking_rails": False,
        "policies": [
            {"type": "AML_CFT", "board_approved_on": "2025-09-18"},
            {"type": "SANCTIONS", "board_approved_on": "2025-09-18"},
        ],
        "record_retention_years": 10,
        "enforcement_history": [],
        "people": [
            person("Ayesha Siddiqui", ["DIRECTOR", "CEO"]),
            person("Omar Malik", ["COMPLIANCE_OFFICER", "MLRO"]),
            person("Khalid Chaudhry", ["DIRECTOR", "UBO"], ownership_pct="82.5"),
        ],
    },
}

_CUSTOMER: dict[str, Any] = {
    "kind": "customer",
    "customer_id": "CUST-1",
    "customer_type": "NATURAL",
    "full_name": "Sara Ahmed",
    "date_of_birth": "1990-05-05",
    "nationality": "PK",
    "residence_country": "PK",
    "id_document": {"type": "CNIC", "number": "35202-4718263-4", "expires_on": "2031-05-20"},
    "biometric_verified": True,
    "pep": "NONE",
    "sanctions_screening": {"result": "CLEAR", "screened_on": "2026-01-10"},
    "risk_rating": "LOW",
    "identity_verified_on": "2026-01-02",
    "account_activated_on": "2026-01-03",
    "source_of_funds": {"declared": True, "evidenced": False},
    "exposure_countries": [],
    "outward_transfers_this_year": {"amount": "5000", "currency": "USD"},
}

_TRANSFER: dict[str, Any] = {
    "kind": "transfer",
    "transfer_id": "TX-1",
    "direction": "OUT",
    "asset": "USDT",
    "amount": "2500",
    "value": {"amount": "2500", "currency": "USD"},
    "executed_at": "2026-05-30T10:00:00+05:00",
    "originator": {"name": "Sara Ahmed", "account_or_wallet": "PK-ACC-1"},
    "beneficiary": {"name": "Bilal", "account_or_wallet": "0xabc"},
    "counterparty_type": "VASP",
    "unhosted_ownership_verified": False,
}

_DECLARATION: dict[str, Any] = {
    "kind": "amnesty_declaration",
    "declaration_id": "DEC-1",
    "programme_id": "VA-AMNESTY-2026",
    "submitted_on": "2026-04-10",
    "declarant": {
        "full_name": "Hamid Raza",
        "id_document": {"type": "CNIC", "number": "6110159023417", "expires_on": "2030-01-01"},
        "residence_country": "PK",
        "public_office": "NONE",
        "pending_proceedings": [],
        "sanctions_screening": {"result": "CLEAR", "screened_on": "2026-04-01"},
        "kyc_completed": True,
    },
    "destination_vasp": {"name": "Local VASP", "licensed": True},
    "holdings": [
        {
            "asset_symbol": "BTC",
            "chain": "bitcoin",
            "quantity": "0.5",
            "location": "FOREIGN_VASP",
            "wallet_address": "bc1qglkhyeyuqxhtgd9564tqu200zuj7lfxvg76fu7",
            "acquired_on": "2024-01-01",
            "value_at_reference": {"amount": "30000", "currency": "USD"},
            "proof_of_control": "CUSTODIAN_STATEMENT",
            "exposure_pct": {"sanctions": 0, "darknet": 0, "mixer": 0, "ransomware": 0, "scam": 0},
            "privacy_coin": False,
        },
        {
            "asset_symbol": "ETH",
            "chain": "ethereum",
            "quantity": "3",
            "location": "SELF_HOSTED",
            "wallet_address": "0x3eda1a3c38330c07f55ef9d3662f8ed65340b417",
            "acquired_on": "2024-01-01",
            "value_at_reference": {"amount": "9000", "currency": "USD"},
            "proof_of_control": "SIGNED_MESSAGE",
            "exposure_pct": {"sanctions": 0, "darknet": 0, "mixer": 0, "ransomware": 0, "scam": 0},
            "privacy_coin": False,
        },
    ],
    "attestation_signed": True,
}


def application(**changes: Any) -> dict[str, Any]:
    """A clean licence application (only INFO findings), with dotted-path changes applied:
    `application(**{"firm.people[1].outsourced": True})`."""
    return _changed(_APPLICATION, changes)


def customer(**changes: Any) -> dict[str, Any]:
    return _changed(_CUSTOMER, changes)


def transfer(**changes: Any) -> dict[str, Any]:
    return _changed(_TRANSFER, changes)


def declaration(**changes: Any) -> dict[str, Any]:
    return _changed(_DECLARATION, changes)


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    from vasp_rules.core.docpath import set_at

    doc = copy.deepcopy(base)
    for path, value in changes.items():
        set_at(doc, parse_path(path), copy.deepcopy(value))
    return doc


# -- checks shared by the example tests and the property tests ----------------------------------


def same_value(a: Any, b: Any) -> bool:
    """JSON values equal, numbers compared as decimals ("5" == "5.00")."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str) and isinstance(b, str) and "T" in a and "T" in b:
        try:  # the same instant, whether written Z or +00:00
            return datetime.fromisoformat(a) == datetime.fromisoformat(b)
        except ValueError:
            return a == b
    if a == b:  # equal JSON: text such as "NAN" reads as a decimal that equals nothing
        return True
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except ArithmeticError:
        return False


def document_value(document: dict[str, Any], path: str) -> Any:
    return get_at(document, parse_path(path))


KLEENE_AND = {
    ("true", "true"): "true",
    ("false", "true"): "false",
    ("true", "false"): "false",
    ("false", "false"): "false",
    ("false", "unknown"): "false",
    ("unknown", "false"): "false",
}


def kleene(op: str, left: str, right: str) -> str:
    """The three-valued and / or of two verdicts."""
    if op == "and":
        return KLEENE_AND.get((left, right), "unknown")
    flip = {"true": "false", "false": "true", "unknown": "unknown"}
    return flip[KLEENE_AND.get((flip[left], flip[right]), "unknown")]


def nodes(node: TraceNode) -> list[TraceNode]:
    """Every node of a trace tree, including those under quantifier items."""
    out = [node]
    for child in node.children:
        out.extend(nodes(child))
    for item in node.items:
        for part in (item.where, item.body):
            if part is not None:
                out.extend(nodes(part))
    return out


def check_tree(node: TraceNode) -> None:
    """Every logical node's verdict follows from its children's (the tree never disagrees
    with itself), and each quantifier's verdict follows from its items'."""
    if node.kind in ("and", "or"):
        left, right = (c.verdict for c in node.children)
        assert left is not None and right is not None
        assert node.verdict == kleene(node.kind, left, right), node.text
    if node.kind == "not":
        flip = {"true": "false", "false": "true", "unknown": "unknown"}
        assert node.verdict == flip[node.children[0].verdict or ""], node.text
    if node.kind == "quantifier" and node.verdict is not None and not node.items and node.missing:
        # its source list is itself missing (an optional list left out): nothing was visited
        assert node.verdict == "unknown", node.text
    elif node.kind == "quantifier" and node.verdict is not None:
        kind = node.text.split("(", 1)[0]
        verdicts = [i.verdict for i in node.items if i.included]
        if kind == "any":
            expected = (
                "true" if "true" in verdicts else "unknown" if "unknown" in verdicts else "false"
            )
            assert node.verdict == expected, node.text
        if kind == "all":
            expected = (
                "false" if "false" in verdicts else "unknown" if "unknown" in verdicts else "true"
            )
            assert node.verdict == expected, node.text
    for child in node.children:
        check_tree(child)
    for item in node.items:
        for part in (item.where, item.body):
            if part is not None:
                check_tree(part)
