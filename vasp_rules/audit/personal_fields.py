"""What each document kind holds, for :mod:`vasp_rules.audit.personal`: which fields are
personal data, which person (data subject) they belong to, and the identifiers they give.

A kind is described as a tree of nodes: :class:`Obj` (an object and its fields), :class:`ListOf`
(its items), :class:`Person` (a data subject starts here), :class:`Leaf` (a field: PUBLIC, TEXT
public unless it quotes a personal value, or PERSONAL) and :class:`Generic` (free structure,
sealed but for public keys: IVMS101 persons, documents of no known kind). ENTITIES.md is the
source of the field names; a field the tree does not name is read as free structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from vasp_rules.entities.identity import canonical_address, looks_like_address
from vasp_rules.entities.registry import ID_FIELD

__all__ = [
    "FALLBACK",
    "ID_FIELD",
    "IVMS_ENVELOPE",
    "IVMS_PERSON",
    "KINDS",
    "NADRA_LOOSE",
    "OPEN",
    "PERSONAL",
    "PUBLIC",
    "TEXT",
    "UNKNOWN",
    "Free",
    "Generic",
    "Leaf",
    "ListOf",
    "Obj",
    "Path",
    "Person",
    "identifiers",
    "nadra_dashed",
    "nadra_digits",
    "node_at",
]

Path = tuple[str | int, ...]

# --- identifiers ---------------------------------------------------------------------------------

_NADRA = re.compile(r"[0-9]{5}-?[0-9]{7}-?[0-9]")
NADRA_LOOSE = re.compile(r"[0-9]{5}[- ]?[0-9]{7}[- ]?[0-9]")


def nadra_digits(text: str) -> str:
    """A CNIC or NICOP number as 13 digits (its canonical form)."""
    return "".join(ch for ch in text if ch.isdigit())


def nadra_dashed(digits: str) -> str:
    """13 digits as a CNIC or NICOP is printed: 12345-1234567-1."""
    return f"{digits[:5]}-{digits[5:12]}-{digits[12:]}"


def _wallet_kind(core: str) -> str:
    return "wallet" if looks_like_address(core) else "account"


def _id_document_identifier(number: str, doc_type: object) -> tuple[str, str]:
    """An identity document's number: CNIC/NICOP digits only, passport upper case; a number
    that is not what its type says (a document the engine would refuse) as given."""
    core = number.strip()
    nadra = bool(NADRA_LOOSE.fullmatch(core))
    if nadra and doc_type in ("CNIC", "NICOP", None):
        return ("nicop" if doc_type == "NICOP" else "cnic", nadra_digits(core))
    if doc_type == "PASSPORT":
        return ("passport", core.upper())
    return ("national_id", core)


def _ivms_identifier(number: str, parent: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An IVMS101 nationalIdentifier: as the transfer it maps to carries it (national_id), and
    as its kind (CCPT: passport; IDCD issued in PK: CNIC) where the payload says which."""
    core = " ".join(number.split())
    kind, country = parent.get("nationalIdentifierType"), parent.get("countryOfIssue")
    if kind == "IDCD" and country == "PK" and _NADRA.fullmatch(core):
        digits = nadra_digits(core)
        return [("national_id", digits), ("cnic", digits)]
    if kind == "LEIX":
        return [("national_id", core.replace(" ", "").upper())]
    if kind == "CCPT":
        return [("national_id", core), ("passport", core.upper())]
    return [("national_id", core)]


def identifiers(how: str, value: str, parent: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The identifiers a personal leaf of kind `how` gives its subject."""
    core = value.strip()
    if how in ("customer_id", "national_id"):
        return [(how, core)]
    if how == "wallet":
        return [("wallet", canonical_address(core))]
    if how == "account_or_wallet":
        return [(_wallet_kind(core), canonical_address(core))]
    if how == "id_document":
        return [_id_document_identifier(core, parent.get("type"))]
    if how in ("cnic", "nicop", "passport"):
        return [_id_document_identifier(core, how.upper())]
    if how == "ivms_id":
        return _ivms_identifier(value, parent)
    return []


# --- what the documents hold --------------------------------------------------------------------

PUBLIC, TEXT, PERSONAL = 0, 1, 2


class Leaf(NamedTuple):
    """A field: PUBLIC (never sealed), TEXT (public unless it quotes a personal value) or
    PERSONAL (sealed). `ident` says which identifier it gives its subject (a PUBLIC leaf with
    one is an identifier left in clear: the document id); `name` marks the subject's name;
    `owner` names the subject when it is not the enclosing person."""

    mode: int
    ident: str | None = None
    name: bool = False
    owner: str | None = None


class Obj(NamedTuple):
    fields: dict[str, Any]


class ListOf(NamedTuple):
    item: Any


class Person(NamedTuple):
    """A data subject: `role` (``{i}``: the index in the enclosing list); `inherit`: takes the
    enclosing person's wallets and accounts (a joint holder of the party's account)."""

    role: str
    body: Any
    inherit: bool = False


class Generic(NamedTuple):
    """Free structure: every string leaf is sealed but under `public` keys; `idents` maps
    a key to the identifier it gives; `names` are the keys holding a name."""

    public: Callable[[str, Any], bool]
    idents: Mapping[str, str]
    names: frozenset[str]


OPEN = Leaf(PUBLIC)
_T = Leaf(TEXT)
_X = Leaf(PERSONAL)
_NAME = Leaf(PERSONAL, name=True)


def _public(*keys: str, **special: Any) -> Obj:
    fields: dict[str, Any] = dict.fromkeys(keys, OPEN)
    fields.update(special)
    return Obj(fields)


_MONEY = _public("amount", "currency")
_SCREENING = _public("result", "screened_on")
_ID_DOCUMENT = _public("type", "expires_on", number=Leaf(PERSONAL, "id_document"))

_LICENCE_PERSON = _public(
    "residence_country", "ownership_pct", "pep", "regulatory_ban", "insolvent",
    "years_relevant_experience", "outsourced", "fit_and_proper_declared_on",
    "security_clearance",
    full_name=_NAME, date_of_birth=_X, nationalities=ListOf(OPEN), id_document=_ID_DOCUMENT,
    roles=ListOf(OPEN), sanctions_screening=_SCREENING,
    convictions=ListOf(_public("category", "convicted_on", "jurisdiction")),
)  # fmt: skip
_FIRM = _public(
    "incorporation_country", "pk_entity_status", "lei", "noc_status", "noc_granted_on",
    "goaml_registered", "custody_model", "proprietary_trading", "pk_registered_office",
    "shariah_products", "uses_pk_banking_rails", "record_retention_years",
    legal_name=_T, secp_registration_no=_T, shariah_clearance_ref=_T,
    foreign_licences=ListOf(
        _public("jurisdiction", "status", "expires_on", regulator=_T, licence_no=_T,
                activities=ListOf(OPEN))
    ),
    paid_up_capital=_MONEY, annual_fixed_overheads=_MONEY, data_locations=ListOf(OPEN),
    policies=ListOf(_public("type", "board_approved_on")),
    enforcement_history=ListOf(_public("on", "type", "resolved", regulator=_T)),
    people=ListOf(Person("people[{i}]", _LICENCE_PERSON)),
)  # fmt: skip
_LICENCE = _public(
    "kind", "application_id", "stage", "submitted_on",
    activities=ListOf(OPEN), documents=ListOf(_public("type", "received_on")), firm=_FIRM,
)  # fmt: skip
_CUSTOMER = Person(
    "customer",
    _public(
        "kind", "customer_type", "nationality", "residence_country", "biometric_verified",
        "pep", "risk_rating", "identity_verified_on", "account_activated_on",
        "suspicion_flagged_on", "str_filed_on",
        customer_id=Leaf(PUBLIC, "customer_id"),  # the document id: public (module doc)
        full_name=_NAME, date_of_birth=_X, id_document=_ID_DOCUMENT,
        sanctions_screening=_SCREENING, source_of_funds=_public("declared", "evidenced"),
        exposure_countries=ListOf(OPEN), outward_transfers_this_year=_MONEY,
        largest_cash_transaction=_MONEY,
    ),
)  # fmt: skip
_AMNESTY = _public(
    "kind", "declaration_id", "programme_id", "submitted_on", "attestation_signed",
    "levy_paid_on", "migrated_on",
    declarant=Person(
        "declarant",
        _public(
            "residence_country", "public_office", "public_office_since", "kyc_completed",
            full_name=_NAME, id_document=_ID_DOCUMENT, sanctions_screening=_SCREENING,
            pending_proceedings=ListOf(_public("forum", reference=_X)),
        ),
    ),
    destination_vasp=_public("licensed", name=_T),
    holdings=ListOf(
        _public(
            "asset_symbol", "quantity", "location", "acquired_on", "proof_of_control",
            "privacy_coin",
            chain=_T, custodian_name=_T, value_at_reference=_MONEY,
            wallet_address=Leaf(PERSONAL, "wallet", owner="declarant"),
            exposure_pct=_public("sanctions", "darknet", "mixer", "ransomware", "scam"),
        )
    ),
)  # fmt: skip


def _party(role: str, **fields: Any) -> Person:
    """A transfer party: a person whose joint holders share its account."""
    holder = Person(
        role + ".joint_holders[{i}]",
        _public(name=_NAME, sanctions_screening=_SCREENING),
        inherit=True,
    )
    return Person(
        role,
        _public(
            name=_NAME,
            account_or_wallet=Leaf(PERSONAL, "account_or_wallet"),
            sanctions_screening=_SCREENING,
            joint_holders=ListOf(holder),
            **fields,
        ),
    )


_TRANSFER_FIELDS: dict[str, Any] = _public(
    "kind", "transfer_id", "direction", "asset", "amount", "executed_at", "counterparty_type",
    "unhosted_ownership_verified", "data_transmitted_at", "settled_at",
    value=_MONEY,
    counterparty_vasp=_public("jurisdiction", "licensed", "due_diligence_on", name=_T),
).fields  # fmt: skip
_TRANSFER = Obj(
    {
        **_TRANSFER_FIELDS,
        "originator": _party(
            "originator",
            address=_X,
            national_id=Leaf(PERSONAL, "national_id"),
            customer_id=Leaf(PERSONAL, "customer_id"),
            date_of_birth=_X,
            place_of_birth=_X,
        ),
        "beneficiary": _party("beneficiary"),
    }
)

#: keys of an IVMS101 party that hold codes, not data about the person
_IVMS_CODES = frozenset(
    {
        "nameIdentifierType",
        "naturalPersonNameIdentifierType",
        "legalPersonNameIdentifierType",
        "addressType",
        "nationalIdentifierType",
        "countryOfIssue",
        "countryOfResidence",
        "countryOfRegistration",
        "country",
        "registrationAuthority",
    }
)
IVMS_PERSON = Generic(
    lambda key, _value: key in _IVMS_CODES,
    {
        "nationalIdentifier": "ivms_id",
        "customerIdentification": "customer_id",
        "customerNumber": "customer_id",
        "accountNumber": "account_or_wallet",
    },
    frozenset({"legalPersonName"}),
)


class Free(NamedTuple):
    """Public text of any shape (a VASP's IVMS101 record, metadata): TEXT leaves."""


IVMS_ENVELOPE = Obj(
    {
        "ivms101": Obj(
            {
                "originator": Person("originator", IVMS_PERSON),
                "beneficiary": Person("beneficiary", IVMS_PERSON),
                "originatingVASP": Free(),
                "beneficiaryVASP": Free(),
                "payloadMetadata": Free(),
            }
        ),
        "transfer": Obj(_TRANSFER_FIELDS),
        "screening": Free(),
    }
)

KINDS: dict[str, Any] = {
    "licence_application": _LICENCE,
    "customer": _CUSTOMER,
    "amnesty_declaration": _AMNESTY,
    "transfer": _TRANSFER,
}

# --- a structure this module does not know ------------------------------------------------------

_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?")
_AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
#: keys whose value, of the right shape, is public in any structure
_OPEN_IDS = frozenset(
    {"kind", "transfer_id", "application_id", "declaration_id", "programme_id", "document_id"}
)
_OPEN_CODES = frozenset(
    {
        "type", "status", "result", "stage", "direction", "outcome", "currency", "pep",
        "customer_type", "risk_rating", "counterparty_type", "location", "proof_of_control",
        "public_office", "forum", "category", "custody_model", "noc_status",
        "pk_entity_status", "security_clearance", "roles", "activities", "asset",
        "asset_symbol", "jurisdiction", "country", "nationality", "nationalities",
        "residence_country", "incorporation_country", "data_locations", "exposure_countries",
    }
)  # fmt: skip


def _open(key: str, value: Any) -> bool:
    """Whether a string leaf under `key` of an unknown structure is obviously public."""
    if "birth" in key:
        return False
    if key in _OPEN_IDS:
        return True
    if key in _OPEN_CODES:
        return bool(_CODE.fullmatch(value))
    if key.endswith(("_on", "_at", "_date")) or key in ("date", "as_of"):
        return bool(_DATE_TEXT.fullmatch(value))
    if key in ("amount", "quantity", "value"):
        return bool(_AMOUNT_TEXT.fullmatch(value))
    return False


UNKNOWN = Generic(
    _open,
    {
        "national_id": "national_id",
        "customer_id": "customer_id",
        "wallet_address": "wallet",
        "wallet": "wallet",
        "account_or_wallet": "account_or_wallet",
        "account": "account_or_wallet",
        "number": "id_document",
        "passport": "passport",
        "cnic": "cnic",
        "nicop": "nicop",
    },
    frozenset({"name", "full_name"}),
)
FALLBACK = "document"


def node_at(kind: str, path: Path) -> tuple[Any, str] | None:
    """The field at `path` in a document of `kind` (a leaf or a container of the spec) and the
    role of the person holding it; None when the kind has no such field."""
    node = KINDS.get(kind)
    role, index = "", 0
    for part in path:
        while isinstance(node, Person):
            role = node.role.format(i=index)
            node = node.body
        if isinstance(part, int):
            if not isinstance(node, ListOf):
                return None
            index, node = part, node.item
        elif isinstance(node, Obj):
            node = node.fields.get(part)
        else:
            return None
    while isinstance(node, Person):
        role = node.role.format(i=index)
        node = node.body
    if node is None:
        return None
    return node, (node.owner if isinstance(node, Leaf) else None) or role
