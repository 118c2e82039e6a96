"""Which values of a logged document and of its decision are personal data, and whose.

The decision log stores a document and its decision with every personal value replaced by
:data:`PLACEHOLDER`; the values themselves are kept apart, grouped by data subject, so that they
can be encrypted under a key per subject and erased by destroying that key (docs/audit.md).
This module is the pure half of that: :func:`split` finds the personal values and their
subjects, :func:`join` puts them back exactly, :func:`identifiers_of` reads what an operator
types to name a subject. No cryptography and no storage here.

What is personal (ENTITIES.md's fields):

- a person's name, identity numbers (CNIC, NICOP, passport, national id), customer id inside a
  person, date and place of birth, address, wallets and accounts, and the reference of a case
  pending against a declarant; the persons are ``firm.people[i]`` of a licence application, the
  customer, the declarant (whose holdings' wallets are theirs), a transfer's originator,
  beneficiary and their joint holders, and the persons of an IVMS101 envelope's parties;
- any other text of the document (a firm's legal name, a regulator, a custodian) that quotes
  one of those values, raw or canonical spelling, ignoring case (values shorter than 3
  characters are not looked for);
- in the decision: the values of facts (and of an explanation's reads) taken from a personal
  field, also of another document of the batch, the names of ``persons``, and every other
  string that quotes a personal value (reasons, remediations, explanations). Outcome, rule ids
  and versions, titles, citations, the keys of facts, pack, engine, notice, dates, amounts, the
  document's kind, id and input digest stay public.

docs/personal-data.md says the same for operators.

The document's own id stays public even where it is a customer id (``customer.customer_id``):
the log keeps it in a clear column to find records by. A structure this module does not know
is sealed whole but for a few obviously public keys, under one subject for the document.
Blank text (ENTITIES.md: no value) is left as it is and names no subject.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple

from vasp_rules.docpath import PathError, format_path, parse_path
from vasp_rules.entities.common import is_blank
from vasp_rules.entities.identity import canonical_address, looks_like_address

__all__ = [
    "PLACEHOLDER",
    "Item",
    "Part",
    "Split",
    "Subject",
    "identifiers_of",
    "join",
    "split",
]

#: What a redacted document or decision shows in place of a personal value.
PLACEHOLDER: Final = "[personal data]"

#: Personal values shorter than this are not looked for inside other text (too many false hits).
MIN_QUOTE: Final = 3

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Subject:
    """A data subject of a document: its role there, its identifiers and its name."""

    role: str
    identifiers: tuple[tuple[str, str], ...]
    name: str | None


@dataclass(frozen=True)
class Item:
    """One personal value: where it is (``input`` or ``decision``) and its original value."""

    where: str
    path: Path
    value: Any


@dataclass(frozen=True)
class Part:
    """The personal values that belong to exactly these subjects (indexes into
    :attr:`Split.subjects`): erasing any one of them must erase the part."""

    subjects: tuple[int, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Split:
    """A document and its decision without their personal values, and those values."""

    input: dict[str, Any]
    decision: dict[str, Any]
    subjects: tuple[Subject, ...]
    parts: tuple[Part, ...]


# --- identifiers --------------------------------------------------------------------------------

_NADRA = re.compile(r"[0-9]{5}-?[0-9]{7}-?[0-9]")
_NADRA_LOOSE = re.compile(r"[0-9]{5}[- ]?[0-9]{7}[- ]?[0-9]")
_TOKEN = re.compile(r"[!-~]+")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _dashed(digits: str) -> str:
    return f"{digits[:5]}-{digits[5:12]}-{digits[12:]}"


def _wallet_kind(core: str) -> str:
    return "wallet" if looks_like_address(core) else "account"


def identifiers_of(value: str) -> list[tuple[str, str]]:
    """The (kind, canonical value) identifiers an operator-typed ``--subject VALUE`` may mean:
    a CNIC or NICOP with or without dashes, a passport in any case, a wallet in any case its
    network ignores, a customer, national id or account number as written. Every candidate is
    returned; a key store looks each up. Blank text names nobody: []."""
    core = value.strip()
    if not core or is_blank(core):
        return []
    out: list[tuple[str, str]] = []
    if _NADRA_LOOSE.fullmatch(core):
        digits = _digits(core)
        out += [("cnic", digits), ("nicop", digits)]
        out += [("national_id", v) for v in (core, digits, _dashed(digits))]
    out += [("national_id", core), ("customer_id", core)]
    if _TOKEN.fullmatch(core):
        out.append(("passport", core.upper()))
        address = canonical_address(core)
        out += [("wallet", address), ("account", address)]
    return list(dict.fromkeys(out))


def _id_document_identifier(number: str, doc_type: object) -> tuple[str, str]:
    """An identity document's number: CNIC/NICOP digits only, passport upper case; a number
    that is not what its type says (a document the engine would refuse) as given."""
    core = number.strip()
    nadra = bool(_NADRA_LOOSE.fullmatch(core))
    if nadra and doc_type in ("CNIC", "NICOP", None):
        return ("nicop" if doc_type == "NICOP" else "cnic", _digits(core))
    if doc_type == "PASSPORT":
        return ("passport", core.upper())
    return ("national_id", core)


def _ivms_identifier(number: str, parent: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An IVMS101 nationalIdentifier: as the transfer it maps to carries it (national_id), and
    as its kind (CCPT: passport; IDCD issued in PK: CNIC) where the payload says which."""
    core = " ".join(number.split())
    kind, country = parent.get("nationalIdentifierType"), parent.get("countryOfIssue")
    if kind == "IDCD" and country == "PK" and _NADRA.fullmatch(core):
        digits = _digits(core)
        return [("national_id", digits), ("cnic", digits)]
    if kind == "LEIX":
        return [("national_id", core.replace(" ", "").upper())]
    if kind == "CCPT":
        return [("national_id", core), ("passport", core.upper())]
    return [("national_id", core)]


def _identifiers(how: str, value: str, parent: Mapping[str, Any]) -> list[tuple[str, str]]:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _spellings(value: str) -> set[str]:
    """The spellings of a personal value another text may quote, case folded (which also
    gives hex and bech32 wallets their canonical case), long enough to be looked for."""
    core = value.strip()
    forms = {core}
    if not core.isascii():
        forms.add(unicodedata.normalize("NFKC", core).strip())
    if "  " in core or not core.isprintable():
        forms.add(" ".join(core.split()))
    if _NADRA_LOOSE.fullmatch(core):
        digits = _digits(core)
        forms |= {digits, _dashed(digits)}
    return {f.casefold() for f in forms if len(f) >= MIN_QUOTE}


# --- what the documents hold --------------------------------------------------------------------

PUBLIC, TEXT, PERSONAL = 0, 1, 2


class _Leaf(NamedTuple):
    """A field: PUBLIC (never sealed), TEXT (public unless it quotes a personal value) or
    PERSONAL (sealed). `ident` says which identifier it gives its subject (a PUBLIC leaf with
    one is an identifier left in clear: the document id); `name` marks the subject's name;
    `owner` names the subject when it is not the enclosing person."""

    mode: int
    ident: str | None = None
    name: bool = False
    owner: str | None = None


class _Obj(NamedTuple):
    fields: dict[str, Any]


class _List(NamedTuple):
    item: Any


class _Person(NamedTuple):
    """A data subject: `role` (``{i}``: the index in the enclosing list); `inherit`: takes the
    enclosing person's wallets and accounts (a joint holder of the party's account)."""

    role: str
    body: Any
    inherit: bool = False


class _Generic(NamedTuple):
    """Free structure: every string leaf is sealed but under `public` keys; `idents` maps
    a key to the identifier it gives; `names` are the keys holding a name."""

    public: Callable[[str, Any], bool]
    idents: Mapping[str, str]
    names: frozenset[str]


_P = _Leaf(PUBLIC)
_T = _Leaf(TEXT)
_X = _Leaf(PERSONAL)
_NAME = _Leaf(PERSONAL, name=True)


def _public(*keys: str, **special: Any) -> _Obj:
    fields: dict[str, Any] = dict.fromkeys(keys, _P)
    fields.update(special)
    return _Obj(fields)


_MONEY = _public("amount", "currency")
_SCREENING = _public("result", "screened_on")
_ID_DOCUMENT = _public("type", "expires_on", number=_Leaf(PERSONAL, "id_document"))

_LICENCE_PERSON = _public(
    "residence_country", "ownership_pct", "pep", "regulatory_ban", "insolvent",
    "years_relevant_experience", "outsourced", "fit_and_proper_declared_on",
    "security_clearance",
    full_name=_NAME, date_of_birth=_X, nationalities=_List(_P), id_document=_ID_DOCUMENT,
    roles=_List(_P), sanctions_screening=_SCREENING,
    convictions=_List(_public("category", "convicted_on", "jurisdiction")),
)  # fmt: skip
_FIRM = _public(
    "incorporation_country", "pk_entity_status", "lei", "noc_status", "noc_granted_on",
    "goaml_registered", "custody_model", "proprietary_trading", "pk_registered_office",
    "shariah_products", "uses_pk_banking_rails", "record_retention_years",
    legal_name=_T, secp_registration_no=_T, shariah_clearance_ref=_T,
    foreign_licences=_List(
        _public("jurisdiction", "status", "expires_on", regulator=_T, licence_no=_T,
                activities=_List(_P))
    ),
    paid_up_capital=_MONEY, annual_fixed_overheads=_MONEY, data_locations=_List(_P),
    policies=_List(_public("type", "board_approved_on")),
    enforcement_history=_List(_public("on", "type", "resolved", regulator=_T)),
    people=_List(_Person("people[{i}]", _LICENCE_PERSON)),
)  # fmt: skip
_LICENCE = _public(
    "kind", "application_id", "stage", "submitted_on",
    activities=_List(_P), documents=_List(_public("type", "received_on")), firm=_FIRM,
)  # fmt: skip
_CUSTOMER = _Person(
    "customer",
    _public(
        "kind", "customer_type", "nationality", "residence_country", "biometric_verified",
        "pep", "risk_rating", "identity_verified_on", "account_activated_on",
        "suspicion_flagged_on", "str_filed_on",
        customer_id=_Leaf(PUBLIC, "customer_id"),  # the document id: public (module doc)
        full_name=_NAME, date_of_birth=_X, id_document=_ID_DOCUMENT,
        sanctions_screening=_SCREENING, source_of_funds=_public("declared", "evidenced"),
        exposure_countries=_List(_P), outward_transfers_this_year=_MONEY,
        largest_cash_transaction=_MONEY,
    ),
)  # fmt: skip
_AMNESTY = _public(
    "kind", "declaration_id", "programme_id", "submitted_on", "attestation_signed",
    "levy_paid_on", "migrated_on",
    declarant=_Person(
        "declarant",
        _public(
            "residence_country", "public_office", "public_office_since", "kyc_completed",
            full_name=_NAME, id_document=_ID_DOCUMENT, sanctions_screening=_SCREENING,
            pending_proceedings=_List(_public("forum", reference=_X)),
        ),
    ),
    destination_vasp=_public("licensed", name=_T),
    holdings=_List(
        _public(
            "asset_symbol", "quantity", "location", "acquired_on", "proof_of_control",
            "privacy_coin",
            chain=_T, custodian_name=_T, value_at_reference=_MONEY,
            wallet_address=_Leaf(PERSONAL, "wallet", owner="declarant"),
            exposure_pct=_public("sanctions", "darknet", "mixer", "ransomware", "scam"),
        )
    ),
)  # fmt: skip


def _party(role: str, **fields: Any) -> _Person:
    """A transfer party: a person whose joint holders share its account."""
    holder = _Person(
        role + ".joint_holders[{i}]",
        _public(name=_NAME, sanctions_screening=_SCREENING),
        inherit=True,
    )
    return _Person(
        role,
        _public(
            name=_NAME,
            account_or_wallet=_Leaf(PERSONAL, "account_or_wallet"),
            sanctions_screening=_SCREENING,
            joint_holders=_List(holder),
            **fields,
        ),
    )


_TRANSFER_FIELDS: dict[str, Any] = _public(
    "kind", "transfer_id", "direction", "asset", "amount", "executed_at", "counterparty_type",
    "unhosted_ownership_verified", "data_transmitted_at", "settled_at",
    value=_MONEY,
    counterparty_vasp=_public("jurisdiction", "licensed", "due_diligence_on", name=_T),
).fields  # fmt: skip
_TRANSFER = _Obj(
    {
        **_TRANSFER_FIELDS,
        "originator": _party(
            "originator",
            address=_X,
            national_id=_Leaf(PERSONAL, "national_id"),
            customer_id=_Leaf(PERSONAL, "customer_id"),
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
_IVMS_PERSON = _Generic(
    lambda key, _value: key in _IVMS_CODES,
    {
        "nationalIdentifier": "ivms_id",
        "customerIdentification": "customer_id",
        "customerNumber": "customer_id",
        "accountNumber": "account_or_wallet",
    },
    frozenset({"legalPersonName"}),
)


class _Free(NamedTuple):
    """Public text of any shape (a VASP's IVMS101 record, metadata): TEXT leaves."""


_IVMS_ENVELOPE = _Obj(
    {
        "ivms101": _Obj(
            {
                "originator": _Person("originator", _IVMS_PERSON),
                "beneficiary": _Person("beneficiary", _IVMS_PERSON),
                "originatingVASP": _Free(),
                "beneficiaryVASP": _Free(),
                "payloadMetadata": _Free(),
            }
        ),
        "transfer": _Obj(_TRANSFER_FIELDS),
        "screening": _Free(),
    }
)

_KINDS: dict[str, Any] = {
    "licence_application": _LICENCE,
    "customer": _CUSTOMER,
    "amnesty_declaration": _AMNESTY,
    "transfer": _TRANSFER,
}
#: the document id of each kind: public everywhere (the log keeps it in a clear column)
_ID_FIELD: dict[str, str] = {
    "licence_application": "application_id",
    "customer": "customer_id",
    "amnesty_declaration": "declaration_id",
    "transfer": "transfer_id",
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


_UNKNOWN = _Generic(
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
_FALLBACK = "document"

# --- split --------------------------------------------------------------------------------------


class _Acc:
    """A subject being gathered."""

    __slots__ = ("identifiers", "inherit_from", "name", "role")

    def __init__(self, role: str, inherit_from: int | None) -> None:
        self.role = role
        self.identifiers: list[tuple[str, str]] = []
        self.name: str | None = None
        self.inherit_from = inherit_from


_Slot = tuple[Any, Any]  # (container, key): where a value sits in a redacted copy


class _Splitter:
    def __init__(self, info: _DocInfo) -> None:
        self.info = info
        self.subjects: list[_Acc] = []
        self.by_role: dict[str, int] = {}
        # (where, path, original value, subjects, slot in the copy)
        self.sealed: list[tuple[str, Path, Any, set[int], _Slot]] = []
        self.paths: dict[Path, set[int]] = {}  # personal paths of the input
        self.prefixes: set[Path] = set()  # those paths and the containers that hold them
        self.quotes: dict[str, set[int]] = {}  # case-folded spelling -> subjects
        self.candidates: list[tuple[str, Path, str, _Slot]] = []  # text to look into
        self.public_values: set[str] = set()

    # -- subjects ----------------------------------------------------------------------------
    def subject(self, role: str, inherit_from: int | None = None) -> int:
        index = self.by_role.get(role)
        if index is None:
            index = self.by_role[role] = len(self.subjects)
            self.subjects.append(_Acc(role, inherit_from))
        return index

    def seal(
        self, where: str, path: Path, value: Any, who: set[int], slot: _Slot, *, quote: bool
    ) -> None:
        self.sealed.append((where, path, value, who, slot))
        if where == "input":
            self.paths[path] = who
        text = value if isinstance(value, str) else str(value) if _is_number(value) else None
        if quote and text is not None:
            for spelling in _spellings(text):
                if spelling not in self.public_values:
                    self.quotes.setdefault(spelling, set()).update(who)

    def personal(
        self,
        path: Path,
        value: Any,
        slot: _Slot,
        owner: int,
        how: str | None,
        *,
        name: bool = False,
        parent: Mapping[str, Any] | None = None,
    ) -> None:
        """Seal a personal leaf of the input, of subject `owner` (blank text and null are no
        value; a number where an identifier belongs is read as its text)."""
        if value is None or (isinstance(value, str) and is_blank(value)):
            return
        acc = self.subjects[owner]
        text = value if isinstance(value, str) else str(value) if _is_number(value) else None
        if text is not None and how is not None:
            acc.identifiers += _identifiers(how, text, parent or {})
        if isinstance(value, str) and name and acc.name is None:
            acc.name = unicodedata.normalize("NFKC", value).strip()
        self.seal("input", path, value, {owner}, slot, quote=True)

    # -- the input ---------------------------------------------------------------------------
    def walk(self, node: Any, value: Any, path: Path, slot: _Slot, owner: int | None) -> None:
        if isinstance(node, _Leaf):
            self.leaf(node, value, path, slot, owner)
        elif isinstance(node, _Obj):
            if not isinstance(value, dict):
                return self.generic(_UNKNOWN, value, path, slot, owner, None)
            for key, item in value.items():
                sub = node.fields.get(key)
                if sub is _P and not isinstance(item, (dict, list)):
                    continue  # the common case, without a call
                if type(sub) is _Leaf:
                    self.leaf(sub, item, (*path, key), (value, key), owner)
                elif sub is None:
                    self.generic(_UNKNOWN, item, (*path, key), (value, key), owner, value)
                else:
                    self.walk(sub, item, (*path, key), (value, key), owner)
        elif isinstance(node, _List):
            if not isinstance(value, list):
                return self.walk(node.item, value, path, slot, owner)
            if node.item is _P and not any(isinstance(v, (dict, list)) for v in value):
                return None
            for i, item in enumerate(value):
                self.walk(node.item, item, (*path, i), (value, i), owner)
        elif isinstance(node, _Person):
            index = next((p for p in reversed(path) if isinstance(p, int)), 0)
            who = self.subject(node.role.format(i=index), owner if node.inherit else None)
            self.walk(node.body, value, path, slot, who)
        elif isinstance(node, _Generic):
            self.generic(node, value, path, slot, owner, None)
        else:  # _Free
            self.scan(value, path, slot, "input")
        return None

    def leaf(self, node: _Leaf, value: Any, path: Path, slot: _Slot, owner: int | None) -> None:
        if isinstance(value, (dict, list)) and node.mode != PERSONAL:
            return self.generic(_UNKNOWN, value, path, slot, owner, None)
        if node.mode == PERSONAL:
            who = self.subject(node.owner) if node.owner else self._owner(owner)
            parent = slot[0] if isinstance(slot[0], dict) else None
            self.personal(path, value, slot, who, node.ident, name=node.name, parent=parent)
        elif node.mode == TEXT and isinstance(value, str):
            self.candidates.append(("input", path, value, slot))
        elif node.ident is not None and isinstance(value, str) and owner is not None:
            self.subjects[owner].identifiers += _identifiers(node.ident, value, {})
        return None

    def _owner(self, owner: int | None) -> int:
        return owner if owner is not None else self.subject(_FALLBACK)

    def generic(
        self,
        node: _Generic,
        value: Any,
        path: Path,
        slot: _Slot,
        owner: int | None,
        parent: Mapping[str, Any] | None,
        how: str | None = None,
    ) -> None:
        """Seal every string leaf of a free structure but the public ones (see _Generic)."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and isinstance(key, str) and node.public(key, item):
                    continue
                self.generic(
                    node, item, (*path, key), (value, key), owner, value, node.idents.get(key)
                )
                if key in node.names and isinstance(item, str) and not is_blank(item):
                    acc = self.subjects[self._owner(owner)]
                    acc.name = acc.name or unicodedata.normalize("NFKC", item).strip()
            if node is _IVMS_PERSON and "primaryIdentifier" in value:
                self._ivms_name(value, self._owner(owner))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.generic(node, item, (*path, i), (value, i), owner, parent, how)
        elif isinstance(value, str) or (how is not None and _is_number(value)):
            self.personal(path, value, slot, self._owner(owner), how, parent=parent)

    def _ivms_name(self, ident: Mapping[str, Any], owner: int) -> None:
        """An IVMS101 natural person's name as the mapped transfer writes it."""
        parts = [ident.get("secondaryIdentifier"), ident.get("primaryIdentifier")]
        full = " ".join(" ".join(p.split()) for p in parts if isinstance(p, str)).strip()
        if len(full) >= MIN_QUOTE:
            self.quotes.setdefault(full.casefold(), set()).add(owner)
            acc = self.subjects[owner]
            acc.name = acc.name or unicodedata.normalize("NFKC", full)

    # -- merging: two persons with one identifier are one subject -----------------------------
    def merge(self) -> None:
        for acc in self.subjects:  # a joint holder holds the party's wallets and accounts
            if acc.inherit_from is not None:
                parent = self.subjects[acc.inherit_from]
                acc.identifiers += [i for i in parent.identifiers if i[0] in ("wallet", "account")]
        root = list(range(len(self.subjects)))

        def find(i: int) -> int:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        seen: dict[tuple[str, str], int] = {}
        for index, acc in enumerate(self.subjects):
            for ident in acc.identifiers:
                other = seen.setdefault(ident, index)
                a, b = find(other), find(index)
                if a != b:
                    root[max(a, b)] = min(a, b)
        if all(find(i) == i for i in range(len(root))):
            return
        for index, acc in enumerate(self.subjects):
            top = find(index)
            if top != index:
                into = self.subjects[top]
                into.identifiers += acc.identifiers
                into.name = into.name or acc.name
        remap = {i: find(i) for i in range(len(root))}
        for entry in self.sealed:
            moved = {remap[s] for s in entry[3]}
            entry[3].clear()
            entry[3].update(moved)
        for who in self.quotes.values():
            moved = {remap[s] for s in who}
            who.clear()
            who.update(moved)

    # -- the decision ------------------------------------------------------------------------
    def fact(self, value: Any, path: Path, slot: _Slot, where: _Where | None) -> None:
        """A fact's value (or a part of it) read from `where` in the document or the batch."""
        if where is not None and where.is_input:
            who = self.paths.get(where.path)
            if who is not None:
                if value is not None and not (isinstance(value, str) and is_blank(value)):
                    self.seal("decision", path, value, set(who), slot, quote=False)
                return
        elif where is not None:
            spec = _node_at(where.kind, where.path)
            if spec is not None and isinstance(spec[0], _Leaf) and spec[0].mode == PERSONAL:
                return self.foreign(value, path, slot, where, (spec[0], spec[1]))
        if isinstance(value, dict):
            for key, item in value.items():
                sub = where.child(key) if where is not None else None
                self.fact(item, (*path, key), (value, key), sub)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                sub = where.child(i) if where is not None else None
                self.fact(item, (*path, i), (value, i), sub)
        elif isinstance(value, str):
            self.candidates.append(("decision", path, value, slot))
        return None

    def foreign(
        self, value: Any, path: Path, slot: _Slot, where: _Where, spec: tuple[_Leaf, str]
    ) -> None:
        """A personal value of another document of the batch, or of the mapped transfer of an
        IVMS101 envelope: its subject is the person it belongs to there."""
        if value is None or (isinstance(value, str) and is_blank(value)):
            return
        leaf, role = spec
        who = self.quoted(value) if isinstance(value, str) else set()
        if where.batch is not None:
            index = self.subject(f"{where.batch}.{role}")
            if isinstance(value, str) and leaf.ident is not None:
                parent = {"type": None}
                self.subjects[index].identifiers += _identifiers(leaf.ident, value, parent)
            who.add(index)
        elif not who:
            who = {i for i, acc in enumerate(self.subjects) if acc.role.startswith(role)}
            who = who or {self.subject(_FALLBACK)}
        self.seal("decision", path, value, who, slot, quote=True)

    def quoted(self, text: str) -> set[int]:
        folded = text.casefold()
        who: set[int] = set()
        for spelling, subjects in self.quotes.items():
            if spelling in folded:
                who |= subjects
        return who

    def scan(self, value: Any, path: Path, slot: _Slot, where: str = "decision") -> None:
        """Text that is public unless it quotes a personal value. In the decision, a member
        keyed by a path of the document (facts, the reads of an explanation) is read as that
        field."""
        if isinstance(value, dict):
            for key, item in value.items():
                located = where == "decision" and isinstance(key, str)
                field = self.info.locate(key) if located else None
                if field is not None and self._holds_personal(field):
                    self.fact(item, (*path, key), (value, key), field)
                else:
                    self.scan(item, (*path, key), (value, key), where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.scan(item, (*path, i), (value, i), where)
        elif isinstance(value, str):
            self.candidates.append((where, path, value, slot))

    def _holds_personal(self, where: _Where) -> bool:
        if where.is_input:
            return where.path in self.prefixes
        return _node_at(where.kind, where.path) is not None

    def look_for_quotes(self) -> None:
        """Seal every candidate text that quotes a personal value (one pass over all of them
        first, so that the usual document, which quotes few, costs little)."""
        if not self.quotes or not self.candidates:
            return
        everything = "\x00".join(text for _, _, text, _ in self.candidates).casefold()
        present = {s: who for s, who in self.quotes.items() if s in everything}
        if not present:
            return
        for where, path, text, slot in self.candidates:
            folded = text.casefold()
            who: set[int] = set()
            for spelling, subjects in present.items():
                if spelling in folded:
                    who |= subjects
            if who:
                self.seal(where, path, text, who, slot, quote=False)


class _Where(NamedTuple):
    """Where a fact was read: this input (`is_input`), or a person's field in another document
    of the batch (`batch`: ``batch.KIND[ID]``) or in the transfer an envelope maps to."""

    kind: str
    path: Path
    is_input: bool
    batch: str | None

    def child(self, key: str | int) -> _Where:
        return self._replace(path=(*self.path, key))


_BATCH = re.compile(r"batch\.([a-z_]+)\[([^\]]*)\]\.(.+)")


class _DocInfo(NamedTuple):
    kind: str | None
    document_id: str | None
    envelope: bool

    def locate(self, key: str) -> _Where | None:
        batch = None
        kind, text = self.kind, key
        m = _BATCH.fullmatch(key)
        if m is not None:
            kind, doc_id, text = m.group(1), m.group(2), m.group(3)
            if kind != self.kind or doc_id != self.document_id or self.envelope:
                batch = f"batch.{kind}[{doc_id}]"
        if kind is None:
            return None
        path = _parse(text)
        if path is None:
            return None
        return _Where(kind, path, batch is None and not self.envelope, batch)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Path | None:
    """A fact's path (they repeat from decision to decision: kept parsed)."""
    try:
        return parse_path(text)
    except PathError:
        return None


def _node_at(kind: str, path: Path) -> tuple[Any, str] | None:
    """The field at `path` in a document of `kind` (a leaf or a container of the spec) and the
    role of the person holding it; None when the kind has no such field."""
    node = _KINDS.get(kind)
    role, index = "", 0
    for part in path:
        while isinstance(node, _Person):
            role = node.role.format(i=index)
            node = node.body
        if isinstance(part, int):
            if not isinstance(node, _List):
                return None
            index, node = part, node.item
        elif isinstance(node, _Obj):
            node = node.fields.get(part)
        else:
            return None
    while isinstance(node, _Person):
        role = node.role.format(i=index)
        node = node.body
    if node is None:
        return None
    return node, (node.owner if isinstance(node, _Leaf) else None) or role


#: decision members that are public whatever they say (pack text, ids, digests, dates)
_PUBLIC_DECISION = frozenset(
    {
        "as_of", "document_kind", "document_id", "input_sha256", "outcome", "no_rules_in_force",
        "regime_starts_on", "rulepack", "engine", "notice", "rules_evaluated",
    }
)  # fmt: skip
_PUBLIC_FINDING = frozenset({"rule_id", "rule_version", "outcome", "citation", "title"})


def _copy(value: Any) -> Any:
    """A copy of the containers of a JSON value (leaves are immutable and shared)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _document_info(document: Mapping[str, Any]) -> tuple[Any, _DocInfo]:
    kind = document.get("kind")
    if isinstance(kind, str) and kind in _KINDS:
        doc_id = document.get(_ID_FIELD[kind])
        return _KINDS[kind], _DocInfo(kind, doc_id if isinstance(doc_id, str) else None, False)
    if "ivms101" in document and "kind" not in document:
        side = document.get("transfer")
        doc_id = side.get("transfer_id") if isinstance(side, Mapping) else None
        return _IVMS_ENVELOPE, _DocInfo(
            "transfer", doc_id if isinstance(doc_id, str) else None, True
        )
    return _Person(_FALLBACK, _UNKNOWN), _DocInfo(None, None, False)


def split(document: Mapping[str, Any], decision: Mapping[str, Any]) -> Split:
    """The document and decision with every personal value replaced by :data:`PLACEHOLDER`
    (new objects, key order kept), their data subjects, and the personal values grouped into
    parts by the exact set of subjects they belong to. ``join`` of the result gives back the
    originals exactly."""
    spec, info = _document_info(document)
    work = _Splitter(info)
    if info.document_id is not None:
        work.public_values = _spellings(info.document_id)
    redacted_input: dict[str, Any] = _copy(dict(document))
    holder = {"": redacted_input}
    work.walk(spec, redacted_input, (), (holder, ""), None)
    work.merge()
    work.prefixes = {path[:n] for path in work.paths for n in range(1, len(path) + 1)}

    redacted_decision: dict[str, Any] = _copy(dict(decision))
    for key, value in redacted_decision.items():
        slot = (redacted_decision, key)
        if key in _PUBLIC_DECISION:
            continue
        if key == "findings" and isinstance(value, list):
            for i, finding in enumerate(value):
                _finding(work, finding, ("findings", i), (value, i))
        elif key == "persons" and isinstance(value, list):
            for i, person in enumerate(value):
                _person(work, person, ("persons", i), (value, i), info)
        else:
            work.scan(value, (key,), slot)
    work.look_for_quotes()
    return _result(work, redacted_input, redacted_decision)


def _finding(work: _Splitter, finding: Any, path: Path, slot: _Slot) -> None:
    """A finding: rule id, version, outcome, title and citation are the pack's, public."""
    if not isinstance(finding, dict):
        return work.scan(finding, path, slot)
    for key, value in finding.items():
        if key in _PUBLIC_FINDING:
            continue
        work.scan(value, (*path, key), (finding, key))
    return None


def _person(work: _Splitter, person: Any, path: Path, slot: _Slot, info: _DocInfo) -> None:
    """A ``persons`` entry: its name is the person's at its path; role and path are public."""
    if not isinstance(person, dict):
        return work.scan(person, path, slot)
    where = info.locate(person["path"]) if isinstance(person.get("path"), str) else None
    for key, value in person.items():
        if key in ("role", "path"):
            continue
        if key == "name" and where is not None:
            work.fact(value, (*path, key), (person, key), where)
        else:
            work.scan(value, (*path, key), (person, key))
    return None


def _result(
    work: _Splitter, redacted_input: dict[str, Any], redacted_decision: dict[str, Any]
) -> Split:
    """Place the placeholders, drop subjects without data, group the items into parts."""
    used = sorted({s for entry in work.sealed for s in entry[3]})
    number = {old: new for new, old in enumerate(used)}
    subjects = tuple(
        Subject(
            role=acc.role,
            identifiers=tuple(dict.fromkeys(acc.identifiers)),
            name=acc.name,
        )
        for acc in (work.subjects[i] for i in used)
    )
    groups: dict[tuple[int, ...], list[Item]] = {}
    for where, path, value, who, (container, key) in work.sealed:
        container[key] = PLACEHOLDER
        key_of = tuple(sorted(number[s] for s in who))
        groups.setdefault(key_of, []).append(Item(where, path, value))
    parts = tuple(Part(key, tuple(items)) for key, items in sorted(groups.items()))
    return Split(redacted_input, redacted_decision, subjects, parts)


# --- join ---------------------------------------------------------------------------------------


def join(
    input: Mapping[str, Any], decision: Mapping[str, Any], items: Iterable[Item]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document and decision with the personal values of `items` put back (new objects,
    key order kept): the exact inverse of :func:`split` given all of its items. An item whose
    path is not in the redacted value raises ``ValueError`` naming it."""
    out = {"input": _copy(dict(input)), "decision": _copy(dict(decision))}
    for item in items:
        root = out.get(item.where)
        if root is None:
            raise ValueError(f"personal item for {item.where!r}: expected input or decision")
        if not item.path:
            raise ValueError(f"personal item of {item.where} has an empty path")
        container: Any = root
        try:
            for part in item.path[:-1]:
                container = container[part]
            last = item.path[-1]
            if isinstance(container, list) and not isinstance(last, int):
                raise TypeError
            container[last]  # noqa: B018 - the place must exist
            container[last] = item.value
        except (KeyError, IndexError, TypeError):
            raise ValueError(
                f"personal item at {item.where} {format_path(item.path)} does not fit the "
                "redacted value"
            ) from None
    return out["input"], out["decision"]
