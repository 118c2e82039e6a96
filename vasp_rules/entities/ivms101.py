# Over 800 lines on purpose: one schema's mapping (IVMS101 2020/2023), field by field.
"""IVMS101 travel-rule payloads mapped onto a ``transfer`` document.

VASPs exchange originator and beneficiary data as IVMS101 (the interVASP Messaging Standard,
2020 and 2023 editions). The payload says *who*; it does not say how much, when, or what kind of
counterparty, so an input in this format is an envelope holding both::

    {
      "ivms101": { "originator": ..., "beneficiary": ..., "originatingVASP": ...,
                   "beneficiaryVASP": ..., "payloadMetadata": {"payloadVersion": "101.2023"} },
      "transfer": { "transfer_id": ..., "direction": "OUT", "asset": ..., "amount": ...,
                    "value": ..., "executed_at": ..., "counterparty_type": "VASP",
                    "counterparty_vasp": {"jurisdiction": "AE", "licensed": true},
                    "unhosted_ownership_verified": false, "data_transmitted_at": ...,
                    "settled_at": ... },
      "screening": { "originator": {"result": "CLEAR", "screened_on": "2026-03-01"},
                     "beneficiary": ... }
    }

``screening`` (optional) carries the sending VASP's own sanctions screening of the parties,
which IVMS101 has no place for; it becomes ``originator/beneficiary.sanctions_screening``.

A party with several persons (a joint account) maps its first natural person with a LEGL name
(else the first natural person, else the first legal person with a LEGL name, else the first) to
the party and the others, in payload order, to the party's ``joint_holders``; ``screening`` may
then list one result (or null) per person, so that VER-02/VER-03 screen every holder.

:func:`to_transfer` returns the ``transfer`` document (plain JSON data); :func:`parse_ivms101`
validates it into the :class:`~vasp_rules.entities.transfer.Transfer` model. Every problem is a
:class:`Ivms101Error` (a :class:`DocumentError`) whose path names the place in the envelope, e.g.
``ivms101.originator.originatorPerson[0].naturalPerson.dateAndPlaceOfBirth.dateOfBirth``.
docs/ivms101.md lists the mapping field by field.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import stdnum.lei

from vasp_rules.core.plaintext import json_type, shown_value
from vasp_rules.entities.iso import COUNTRIES
from vasp_rules.entities.registry import DocumentError, parse_document
from vasp_rules.entities.transfer import Transfer

__all__ = [
    "INPUT_FORMATS",
    "Ivms101Error",
    "Version",
    "parse_ivms101",
    "parse_ivms101_many",
    "to_transfer",
]

#: Input formats a caller may name besides plain documents (``--input-format``).
INPUT_FORMATS = ("ivms101",)

Version = Literal["2020", "2023"]
_PAYLOAD_VERSIONS: dict[str, Version] = {"101": "2020", "101.2023": "2023"}

#: transfer fields that come from the IVMS101 payload, never from the envelope's `transfer`.
_FROM_PAYLOAD = ("originator", "beneficiary")
_TRANSFER_KEYS = (
    "transfer_id",
    "direction",
    "asset",
    "amount",
    "value",
    "executed_at",
    "counterparty_type",
    "counterparty_vasp",
    "unhosted_ownership_verified",
    "data_transmitted_at",
    "settled_at",
)

#: the order of the transfer model's fields, for readable output
_ORDER = ("kind", *_TRANSFER_KEYS[:6], *_FROM_PAYLOAD, *_TRANSFER_KEYS[6:])

_NATURAL_NAME_TYPES = ("ALIA", "BIRT", "MAID", "LEGL", "MISC")
_LEGAL_NAME_TYPES = ("LEGL", "SHRT", "TRAD")
_ADDRESS_TYPES = ("HOME", "BIZZ", "GEOG")
_ID_TYPES = ("ARNU", "CCPT", "RAID", "DRLC", "FIIN", "TXID", "SOCS", "IDCD", "LEIX", "MISC")
# IVMS101 C9/C10: legal persons are identified by registration, tax or LEI (or other) only
_LEGAL_ID_TYPES = ("RAID", "TXID", "LEIX", "MISC")
_NATURAL_ID_TYPES = tuple(t for t in _ID_TYPES if t != "LEIX")
_ADDRESS_KEYS = (
    "addressType",
    "department",
    "subDepartment",
    "streetName",
    "buildingNumber",
    "buildingName",
    "floor",
    "postBox",
    "room",
    "postcode",
    "postCode",
    "townName",
    "townLocationName",
    "districtName",
    "countrySubDivision",
    "addressLine",
    "country",
)
_NADRA = re.compile(r"[0-9]{5}-?[0-9]{7}-?[0-9]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Ivms101Error(DocumentError):
    """An IVMS101 envelope that cannot be mapped to a transfer: the path is in the envelope."""


def _fail(path: str, message: str) -> Ivms101Error:
    return Ivms101Error([(path, message)])


class _Payload:
    """Walks one payload, checking shapes; each mapped value comes with its envelope path."""

    def __init__(self, version: Version, declared: str) -> None:
        self.version = version
        self.declared = declared  # how the version was known, for messages

    # -- shapes -------------------------------------------------------------------------
    def obj(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail(path, f"expected an object, got {_type(value)}")
        for key in value:
            if key not in allowed:
                raise _fail(_join(path, str(key)), self._unknown(str(key), allowed))
        for key in required:
            if value.get(key) is None:
                raise _fail(_join(path, key), "required field is missing")
        return dict(value)

    def _unknown(self, key: str, allowed: tuple[str, ...]) -> str:
        other = {
            "originatorPersons": ("2020", "originatorPerson"),
            "beneficiaryPersons": ("2020", "beneficiaryPerson"),
            "nameIdentifierType": ("2020", "naturalPersonNameIdentifierType"),
            "customerNumber": ("2020", "customerIdentification"),
            "originatorPerson": ("2023", "originatorPersons"),
            "beneficiaryPerson": ("2023", "beneficiaryPersons"),
            "naturalPersonNameIdentifierType": ("2023", "nameIdentifierType"),
        }.get(key)
        if other is not None and other[0] != self.version:
            return (
                f"{key} is IVMS101.{other[0]}, but this payload is IVMS101.{self.version} "
                f"({self.declared}): use {other[1]}"
            )
        return _unknown_field(key, allowed)

    def items(
        self, value: Any, path: str, *, min_items: int = 0, max_items: int = 100
    ) -> list[Any]:
        if not isinstance(value, list):
            raise _fail(path, f"expected a list, got {_type(value)}")
        if len(value) < min_items:
            raise _fail(path, f"expected at least {min_items} item(s), got {len(value)}")
        if len(value) > max_items:
            raise _fail(path, f"expected at most {max_items} items, got {len(value)}")
        return value

    def text(self, value: Any, path: str, max_len: int = 200) -> str:
        if not isinstance(value, str):
            raise _fail(path, f"expected text, got {_type(value)}")
        stripped = " ".join(value.split())
        if not stripped:
            raise _fail(path, "must not be empty")
        if len(stripped) > max_len:
            raise _fail(path, f"at most {max_len} characters (got {len(stripped)})")
        return stripped

    def code(self, value: Any, path: str, codes: tuple[str, ...]) -> str:
        if value not in codes:
            raise _fail(path, f"expected one of {', '.join(codes)}, got {_short(value)}")
        return str(value)

    def country(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in COUNTRIES:
            raise _fail(path, f"expected an ISO 3166-1 alpha-2 country code, got {_short(value)}")
        return value

    def texts(self, value: Any, path: str) -> list[str]:
        return [self.text(v, f"{path}[{i}]") for i, v in enumerate(self.items(value, path))]

    # -- IVMS101 types --------------------------------------------------------------------
    def person(self, value: Any, path: str) -> tuple[str, dict[str, Any], list[str]]:
        """(natural|legal, the person object, account numbers held in the Person (2023))."""
        allowed = ("naturalPerson", "legalPerson") + (
            ("accountNumber",) if self.version == "2023" else ()
        )
        data = self.obj(value, path, allowed)
        natural, legal = data.get("naturalPerson"), data.get("legalPerson")
        if (natural is None) == (legal is None):
            raise _fail(path, "a person is exactly one of naturalPerson or legalPerson")
        accounts = (
            self.texts(data["accountNumber"], _join(path, "accountNumber"))
            if data.get("accountNumber") is not None
            else []
        )
        if natural is not None:
            return "natural", self.natural(natural, _join(path, "naturalPerson")), accounts
        return "legal", self.legal(legal, _join(path, "legalPerson")), accounts

    def natural(self, value: Any, path: str) -> dict[str, Any]:
        data = self.obj(
            value,
            path,
            (
                "name",
                "geographicAddress",
                "nationalIdentification",
                "customerIdentification",
                "dateAndPlaceOfBirth",
                "countryOfResidence",
            ),
            ("name",),
        )
        name, legl = self.natural_name(data["name"], _join(path, "name"))
        out: dict[str, Any] = {"name": name, "legl": legl}
        self._common(data, path, out, "natural")
        if data.get("customerIdentification") is not None:
            p = _join(path, "customerIdentification")
            out["customer_id"] = (self.text(data["customerIdentification"], p, 50), p)
        if data.get("dateAndPlaceOfBirth") is not None:
            p = _join(path, "dateAndPlaceOfBirth")
            birth = self.obj(
                data["dateAndPlaceOfBirth"],
                p,
                ("dateOfBirth", "placeOfBirth"),
                ("dateOfBirth", "placeOfBirth"),
            )
            dp = _join(p, "dateOfBirth")
            out["date_of_birth"] = (self.date(birth["dateOfBirth"], dp), dp)
            pp = _join(p, "placeOfBirth")
            out["place_of_birth"] = (self.text(birth["placeOfBirth"], pp, 70), pp)
        if data.get("countryOfResidence") is not None:
            self.country(data["countryOfResidence"], _join(path, "countryOfResidence"))
        return out

    def legal(self, value: Any, path: str) -> dict[str, Any]:
        customer_key = "customerNumber" if self.version == "2020" else "customerIdentification"
        if self.version == "2020" and isinstance(value, Mapping):
            if "customerIdentification" in value:
                raise _fail(
                    _join(path, "customerIdentification"),
                    "customerIdentification is IVMS101.2023 for a legal person, but this "
                    f"payload is IVMS101.2020 ({self.declared}): use customerNumber",
                )
        data = self.obj(
            value,
            path,
            (
                "name",
                "geographicAddress",
                customer_key,
                "nationalIdentification",
                "countryOfRegistration",
            ),
            ("name",),
        )
        name, legl = self.legal_name(data["name"], _join(path, "name"))
        out: dict[str, Any] = {"name": name, "legl": legl}
        self._common(data, path, out, "legal")
        if data.get(customer_key) is not None:
            p = _join(path, customer_key)
            out["customer_id"] = (self.text(data[customer_key], p, 50), p)
        if data.get("countryOfRegistration") is not None:
            p = _join(path, "countryOfRegistration")
            out["country"] = (self.country(data["countryOfRegistration"], p), p)
        return out

    def _common(self, data: dict[str, Any], path: str, out: dict[str, Any], kind: str) -> None:
        if data.get("geographicAddress") is not None:
            p = _join(path, "geographicAddress")
            addresses = self.items(data["geographicAddress"], p, max_items=10)
            parsed = [self.address(a, f"{p}[{i}]") for i, a in enumerate(addresses)]
            if parsed:
                order = ("HOME", "GEOG", "BIZZ") if kind == "natural" else ("GEOG", "BIZZ", "HOME")
                best = min(range(len(parsed)), key=lambda i: order.index(parsed[i][0]))
                out["address"] = (parsed[best][1], f"{p}[{best}]")
                out.setdefault("country", (parsed[best][2], f"{p}[{best}].country"))
        if data.get("nationalIdentification") is not None:
            p = _join(path, "nationalIdentification")
            out["national_id"] = (self.national_id(data["nationalIdentification"], p, kind), p)

    def natural_name(self, value: Any, path: str) -> tuple[str, bool]:
        """(the name, whether it is of type LEGL)."""
        # 2020 defines name as [1..n] NaturalPersonName; 2023 as exactly one object
        if isinstance(value, list):
            if self.version == "2023":
                raise _fail(
                    path, f"in IVMS101.2023 name is one object, not a list ({self.declared})"
                )
            names = self.items(value, path, min_items=1, max_items=10)
            candidates = [self._natural_ids(n, f"{path}[{i}]") for i, n in enumerate(names)]
            flat = [c for group in candidates for c in group]
        else:
            flat = self._natural_ids(value, path)
        legal = [full for kind, full in flat if kind == "LEGL"]
        return (legal[0], True) if legal else (flat[0][1], False)

    def _natural_ids(self, value: Any, path: str) -> list[tuple[str, str]]:
        data = self.obj(
            value,
            path,
            ("nameIdentifier", "localNameIdentifier", "phoneticNameIdentifier"),
            ("nameIdentifier",),
        )
        type_key = (
            "nameIdentifierType" if self.version == "2020" else ("naturalPersonNameIdentifierType")
        )
        out: list[tuple[str, str]] = []
        for key in ("nameIdentifier", "localNameIdentifier", "phoneticNameIdentifier"):
            if data.get(key) is None:
                continue
            p = _join(path, key)
            for i, item in enumerate(self.items(data[key], p, min_items=1, max_items=10)):
                ip = f"{p}[{i}]"
                # local and phonetic names are read leniently as to the type key's edition
                keys = (
                    ("primaryIdentifier", "secondaryIdentifier", type_key)
                    if key == "nameIdentifier"
                    else (
                        "primaryIdentifier",
                        "secondaryIdentifier",
                        "nameIdentifierType",
                        "naturalPersonNameIdentifierType",
                    )
                )
                ident = self.obj(item, ip, keys, ("primaryIdentifier",))
                kind_value = ident.get(type_key, ident.get("nameIdentifierType"))
                if key == "nameIdentifier" and kind_value is None:
                    raise _fail(_join(ip, type_key), "required field is missing")
                if kind_value is not None:
                    self.code(kind_value, _join(ip, type_key), _NATURAL_NAME_TYPES)
                primary = self.text(ident["primaryIdentifier"], _join(ip, "primaryIdentifier"), 100)
                secondary = (
                    self.text(ident["secondaryIdentifier"], _join(ip, "secondaryIdentifier"), 100)
                    if ident.get("secondaryIdentifier") is not None
                    else ""
                )
                if key == "nameIdentifier":
                    out.append((str(kind_value), f"{secondary} {primary}".strip()))
        return out

    def legal_name(self, value: Any, path: str) -> tuple[str, bool]:
        """(the name, whether it is of type LEGL)."""
        data = self.obj(
            value,
            path,
            ("nameIdentifier", "localNameIdentifier", "phoneticNameIdentifier"),
            ("nameIdentifier",),
        )
        names: list[tuple[str, str]] = []
        for key in ("nameIdentifier", "localNameIdentifier", "phoneticNameIdentifier"):
            if data.get(key) is None:
                continue
            p = _join(path, key)
            for i, item in enumerate(self.items(data[key], p, min_items=1, max_items=10)):
                ip = f"{p}[{i}]"
                ident = self.obj(
                    item,
                    ip,
                    ("legalPersonName", "legalPersonNameIdentifierType"),
                    ("legalPersonName", "legalPersonNameIdentifierType"),
                )
                kind = self.code(
                    ident["legalPersonNameIdentifierType"],
                    _join(ip, "legalPersonNameIdentifierType"),
                    _LEGAL_NAME_TYPES,
                )
                name = self.text(ident["legalPersonName"], _join(ip, "legalPersonName"), 100)
                if key == "nameIdentifier":
                    names.append((kind, name))
        legal = [n for k, n in names if k == "LEGL"]
        return (legal[0], True) if legal else (names[0][1], False)

    def address(self, value: Any, path: str) -> tuple[str, str, str]:
        """(addressType, the address as one line, country)."""
        data = self.obj(value, path, _ADDRESS_KEYS, ("addressType", "country"))
        kind = self.code(data["addressType"], _join(path, "addressType"), _ADDRESS_TYPES)
        country = self.country(data["country"], _join(path, "country"))
        if data.get("postcode") is not None and data.get("postCode") is not None:
            raise _fail(_join(path, "postCode"), "give postcode once (postcode or postCode)")

        def get(key: str) -> str:
            raw = data.get(key)
            return "" if raw is None else self.text(raw, _join(path, key), 70)

        lines = (
            self.texts(data["addressLine"], _join(path, "addressLine"))
            if data.get("addressLine") is not None
            else []
        )
        street = " ".join(p for p in (get("buildingNumber"), get("streetName")) if p)
        if not lines and not street and not get("buildingName") and not get("postBox"):
            raise _fail(
                path,
                "an address needs addressLine, or streetName/buildingName/postBox with townName",
            )
        if not lines and not get("townName"):
            raise _fail(_join(path, "townName"), "required unless addressLine is given")
        parts = [
            get("department"),
            get("subDepartment"),
            get("room"),
            get("floor"),
            get("buildingName"),
            street,
            f"PO Box {get('postBox')}" if get("postBox") else "",
            *lines,
            get("townLocationName"),
            get("districtName"),
            get("townName"),
            get("countrySubDivision"),
            get("postcode") or get("postCode"),
            country,
        ]
        return kind, ", ".join(p for p in parts if p), country

    def national_id(self, value: Any, path: str, person: str) -> str:
        data = self.obj(
            value,
            path,
            (
                "nationalIdentifier",
                "nationalIdentifierType",
                "countryOfIssue",
                "registrationAuthority",
            ),
            ("nationalIdentifier", "nationalIdentifierType"),
        )
        tp = _join(path, "nationalIdentifierType")
        kind = self.code(data["nationalIdentifierType"], tp, _ID_TYPES)
        allowed = _NATURAL_ID_TYPES if person == "natural" else _LEGAL_ID_TYPES
        if kind not in allowed:
            raise _fail(
                tp,
                f"{kind} cannot identify a {person} person (allowed: {', '.join(allowed)})",
            )
        country = None
        if data.get("countryOfIssue") is not None:
            country = self.country(data["countryOfIssue"], _join(path, "countryOfIssue"))
        if data.get("registrationAuthority") is not None:
            ra = _join(path, "registrationAuthority")
            if not re.fullmatch(r"RA[0-9]{6}", str(data["registrationAuthority"])):
                raise _fail(ra, "expected a GLEIF registration authority code such as RA000589")
        ip = _join(path, "nationalIdentifier")
        number = self.text(data["nationalIdentifier"], ip, 35)
        if kind == "LEIX":
            if country is not None:
                raise _fail(_join(path, "countryOfIssue"), "an LEI has no country of issue")
            compact = str(stdnum.lei.compact(number))
            if not re.fullmatch(r"[A-Z0-9]{18}[0-9]{2}", compact) or not stdnum.lei.is_valid(
                compact
            ):
                raise _fail(ip, f"not a valid LEI (ISO 17442 check digits): {_short(number)}")
            return compact
        if kind == "IDCD" and country == "PK":
            # Pakistani identity cards (CNIC, and NICOP for overseas Pakistanis): 13 digits
            if not _NADRA.fullmatch(number):
                raise _fail(
                    ip,
                    "a Pakistani identity card (CNIC/NICOP) number has 13 digits, "
                    f"optionally dashed 12345-1234567-1; got {_short(number)}",
                )
            return number.replace("-", "")
        return number

    def date(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise _fail(path, f"expected a date written YYYY-MM-DD, got {_short(value)}")
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise _fail(path, f"{value!r} is not a calendar date: {exc}") from None
        return value

    def vasp(self, value: Any, path: str, wrapper: str) -> tuple[dict[str, Any], str]:
        """The VASP's legal person and its path; 2020 wraps it as {originatingVASP: Person}.

        A 2020 payload that gives the person directly, without the wrapper, is read the same:
        several published implementations write it so, and the person cannot be mistaken."""
        direct = (
            isinstance(value, Mapping)
            and wrapper not in value
            and ("legalPerson" in value or "naturalPerson" in value)
        )
        if self.version == "2020" and not direct:
            data = self.obj(value, path, (wrapper,), (wrapper,))
            value, path = data[wrapper], _join(path, wrapper)
        elif isinstance(value, Mapping) and wrapper in value:
            raise _fail(
                _join(path, wrapper),
                f"IVMS101.2023 has no {wrapper} wrapper ({self.declared}): "
                "give the person directly",
            )
        kind, person, _accounts = self.person(value, path)
        if kind != "legal":
            raise _fail(_join(path, "naturalPerson"), "a VASP is a legal person")
        return person, _join(path, "legalPerson")


def _unknown_field(key: str, allowed: Sequence[str], context: str = "") -> str:
    """The "unknown field" message, naming the member meant when one differs only in case,
    underscores or dashes, or is close; ``context`` (what the object holds) follows it."""

    def fold(name: str) -> str:
        return name.replace("_", "").replace("-", "").casefold()

    spelled = [name for name in allowed if fold(name) == fold(key)]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    notes = (
        [f"did you mean {spelled[0]}? member names are case-sensitive"]
        if spelled
        else [f"did you mean {close[0]}?"]
        if close
        else []
    )
    if context:
        notes.append(context)
    return f"unknown field ({'; '.join(notes)})" if notes else "unknown field"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type(value: Any) -> str:
    return json_type(value)


def _short(value: Any) -> str:
    return shown_value(value)


_ROOT_MEMBERS = (
    "originator",
    "beneficiary",
    "originatingVASP",
    "beneficiaryVASP",
    "transferPath",
    "payloadMetadata",
)


def _root_members(ivms: Mapping[str, Any]) -> None:
    """Unknown or missing members of the payload's root (the same in both editions)."""
    for key in ivms:
        if key not in _ROOT_MEMBERS:
            raise _fail(_join("ivms101", str(key)), _unknown_field(str(key), _ROOT_MEMBERS))
    for key in ("originator", "beneficiary"):
        if ivms.get(key) is None:
            raise _fail(_join("ivms101", key), "required field is missing")


def _version(ivms: Mapping[str, Any]) -> tuple[Version, str]:
    meta = ivms.get("payloadMetadata")
    declared: str | None = None
    if isinstance(meta, Mapping) and meta.get("payloadVersion") is not None:
        declared = str(meta["payloadVersion"])
        if declared not in _PAYLOAD_VERSIONS:
            raise _fail(
                "ivms101.payloadMetadata.payloadVersion",
                f"expected 101 (IVMS101 2020) or 101.2023, got {_short(meta['payloadVersion'])}",
            )
        return _PAYLOAD_VERSIONS[declared], f"payloadVersion {declared}"
    originator = ivms.get("originator")
    if not isinstance(originator, Mapping):
        raise _fail("ivms101.originator", f"expected an object, got {_type(originator)}")
    if "originatorPersons" in originator:
        return "2020", "originator.originatorPersons says so"
    if "originatorPerson" in originator:
        return "2023", "originator.originatorPerson says so"
    members = ("originatorPersons", "originatorPerson", "accountNumber")
    for key in originator:
        if key not in members:
            raise _fail(_join("ivms101.originator", str(key)), _unknown_field(str(key), members))
    raise _fail(
        "ivms101.originator.originatorPersons",
        "required field is missing (originatorPersons in IVMS101 2020, originatorPerson in "
        "IVMS101.2023)",
    )


def to_transfer(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The ``transfer`` document (JSON data) an envelope describes; raises Ivms101Error.

    The result is not yet validated as a transfer: :func:`parse_ivms101` does both."""
    return _map(envelope)[0]


def _map(envelope: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(envelope, Mapping):
        raise _fail(
            "", f"an IVMS101 input is an object with ivms101 and transfer, not {_type(envelope)}"
        )
    members = ("ivms101", "transfer", "screening")
    for key in envelope:
        if key not in members:
            raise _fail(
                str(key),
                _unknown_field(
                    str(key),
                    members,
                    "an IVMS101 input has ivms101, transfer and optional screening",
                ),
            )
    for key in ("ivms101", "transfer"):
        if envelope.get(key) is None:
            raise _fail(key, "required field is missing")
        if not isinstance(envelope[key], Mapping):
            raise _fail(key, f"expected an object, got {_type(envelope[key])}")
    ivms: Mapping[str, Any] = envelope["ivms101"]
    side: Mapping[str, Any] = envelope["transfer"]
    # the root's members are the same in both editions: check them before telling the edition,
    # so a misspelt or missing originator is reported as such
    _root_members(ivms)
    version, declared = _version(ivms)
    p = _Payload(version, declared)
    persons_key = "originatorPersons" if version == "2020" else "originatorPerson"
    beneficiaries_key = "beneficiaryPersons" if version == "2020" else "beneficiaryPerson"
    root = p.obj(ivms, "ivms101", _ROOT_MEMBERS, ("originator", "beneficiary"))
    if root.get("payloadMetadata") is not None:
        meta = p.obj(
            root["payloadMetadata"],
            "ivms101.payloadMetadata",
            ("transliterationMethod", "payloadVersion"),
        )
        if meta.get("transliterationMethod") is not None:
            p.texts(meta["transliterationMethod"], "ivms101.payloadMetadata.transliterationMethod")
    if root.get("transferPath") is not None:
        p.obj(root["transferPath"], "ivms101.transferPath", ("transferPath",))

    for key in side:
        if key in _FROM_PAYLOAD or key == "kind":
            raise _fail(
                f"transfer.{key}",
                f"comes from the IVMS101 payload (ivms101.{key})"
                if key != "kind"
                else "not needed: the document is a transfer",
            )
        if key not in _TRANSFER_KEYS:
            raise _fail(f"transfer.{key}", "unknown field")
    doc: dict[str, Any] = {"kind": "transfer"}
    sources: dict[str, str] = {}
    for key in _TRANSFER_KEYS:
        if key in side:
            doc[key] = copy.deepcopy(side[key])  # the result shares nothing with the input
            sources[key] = f"transfer.{key}"

    parties: dict[str, dict[str, Any]] = {}
    person_paths: dict[str, list[str]] = {}
    for party, persons_name in (("originator", persons_key), ("beneficiary", beneficiaries_key)):
        base = f"ivms101.{party}"
        block = p.obj(root[party], base, (persons_name, "accountNumber"), (persons_name,))
        persons_path = _join(base, persons_name)
        persons = [
            (f"{persons_path}[{i}]", *p.person(v, f"{persons_path}[{i}]"))
            for i, v in enumerate(p.items(block[persons_name], persons_path, min_items=1))
        ]
        # a joint account: the party is the first natural person with a LEGL name (else the
        # first natural person, else the first legal person with a LEGL name, else the first);
        # the others become its joint_holders, in payload order, and are screened too
        chosen = min(
            range(len(persons)),
            key=lambda i: (persons[i][1] != "natural", not persons[i][2]["legl"], i),
        )
        person_path, kind, person, person_accounts = persons[chosen]
        accounts_path = _join(base, "accountNumber")
        accounts = (
            p.texts(block["accountNumber"], accounts_path)
            if block.get("accountNumber") is not None
            else []
        )
        if person_accounts:
            if accounts and accounts != person_accounts:
                raise _fail(
                    f"{person_path}.accountNumber",
                    f"contradicts {accounts_path}: the two lists of account numbers differ",
                )
            accounts, accounts_path = person_accounts, f"{person_path}.accountNumber"
        if not accounts:  # a joint account's number may sit with another holder (2023)
            owner = next((h for h in persons if h[3]), None)
            if owner is not None:
                accounts, accounts_path = owner[3], f"{owner[0]}.accountNumber"
        person_paths[party] = [person_path]
        person_path += ".naturalPerson" if kind == "natural" else ".legalPerson"
        out: dict[str, Any] = {}
        out["name"] = person["name"]
        sources[f"{party}.name"] = f"{person_path}.name"
        if accounts:
            out["account_or_wallet"] = accounts[0]
            sources[f"{party}.account_or_wallet"] = f"{accounts_path}[0]"
        if party == "originator":
            for field in (
                "address",
                "national_id",
                "customer_id",
                "date_of_birth",
                "place_of_birth",
            ):
                if field in person:
                    out[field], sources[f"{party}.{field}"] = person[field]
        holders = [h for i, h in enumerate(persons) if i != chosen]
        if holders:
            out["joint_holders"] = []
            for j, (holder_path, holder_kind, holder, _accounts) in enumerate(holders):
                out["joint_holders"].append({"name": holder["name"]})
                person_paths[party].append(holder_path)
                sub = "naturalPerson" if holder_kind == "natural" else "legalPerson"
                sources[f"{party}.joint_holders[{j}]"] = holder_path
                sources[f"{party}.joint_holders[{j}].name"] = f"{holder_path}.{sub}.name"
        parties[party] = out
    if envelope.get("screening") is not None:
        _screening(p, envelope["screening"], parties, person_paths, sources)
    for party in ("originator", "beneficiary"):  # joint holders last, as in the model
        fields = parties[party]
        doc[party] = {k: fields[k] for k in sorted(fields, key=lambda k: k == "joint_holders")}

    _counterparty(p, root, side, doc, sources)
    _check_dates(doc, sources)
    ordered = {k: doc[k] for k in _ORDER if k in doc}
    if isinstance(ordered.get("counterparty_vasp"), dict):
        vasp = ordered["counterparty_vasp"]
        first = [k for k in ("name", "jurisdiction", "licensed", "due_diligence_on") if k in vasp]
        ordered["counterparty_vasp"] = {k: vasp[k] for k in [*first, *vasp] if k in vasp}
    return ordered, sources


def _screening(
    p: _Payload,
    value: Any,
    parties: dict[str, dict[str, Any]],
    person_paths: Mapping[str, list[str]],
    sources: dict[str, str],
) -> None:
    """``screening.<party>``: one result (the mapped person's), or a list with one result (or
    null, not screened) per IVMS101 person of that party, in payload order."""
    screening = p.obj(value, "screening", ("originator", "beneficiary"))
    for party, result in screening.items():
        if result is None:
            continue
        where = f"screening.{party}"
        paths = person_paths[party]
        if not isinstance(result, list):
            parties[party]["sanctions_screening"] = copy.deepcopy(result)
            sources[f"{party}.sanctions_screening"] = where
            continue
        if len(result) != len(paths):
            raise _fail(
                where,
                f"a list of screenings has one per {party} person in the payload "
                f"({len(paths)}), got {len(result)}",
            )
        # paths[0] is the mapped person; paths[1:] are its joint holders in order
        for slot, path in enumerate(paths):
            index = _person_index(path)
            if result[index] is None:
                continue
            if slot == 0:
                target, field = parties[party], f"{party}.sanctions_screening"
            else:
                target = parties[party]["joint_holders"][slot - 1]
                field = f"{party}.joint_holders[{slot - 1}].sanctions_screening"
            target["sanctions_screening"] = copy.deepcopy(result[index])
            sources[field] = f"{where}[{index}]"


def _person_index(path: str) -> int:
    """The index i of a ``...Persons[i]`` path."""
    return int(path[path.rindex("[") + 1 : -1])


def _counterparty(
    p: _Payload,
    root: Mapping[str, Any],
    side: Mapping[str, Any],
    doc: dict[str, Any],
    sources: dict[str, str],
) -> None:
    """The counterparty VASP: its name (and jurisdiction, if not given) come from the payload's
    beneficiaryVASP for an outgoing transfer, originatingVASP for an incoming one."""
    vasps: dict[str, tuple[dict[str, Any], str]] = {}
    for key in ("originatingVASP", "beneficiaryVASP"):
        if root.get(key) is not None:
            vasps[key] = p.vasp(root[key], f"ivms101.{key}", key)
    direction = side.get("direction")
    if direction not in ("IN", "OUT"):
        return  # the transfer's validation names the problem
    key = "beneficiaryVASP" if direction == "OUT" else "originatingVASP"
    found = vasps.get(key)
    if found is None:
        return
    vasp, vasp_path = found
    if side.get("counterparty_type") in ("UNHOSTED", "UNKNOWN"):
        raise _fail(
            f"ivms101.{key}",
            f"names a VASP, but transfer.counterparty_type is {side['counterparty_type']} "
            f"(the {key} of an {direction} transfer is the counterparty)",
        )
    given = side.get("counterparty_vasp")
    if given is not None and not isinstance(given, Mapping):
        return  # the transfer's validation names the problem
    merged = dict(given or {})
    if "name" in merged and merged["name"] != vasp["name"]:
        raise _fail(
            "transfer.counterparty_vasp.name",
            f"{_short(merged['name'])} contradicts ivms101.{key} ({vasp['name']!r})",
        )
    merged["name"] = vasp["name"]
    sources["counterparty_vasp.name"] = f"{vasp_path}.name"
    if "country" in vasp:
        country, where = vasp["country"]
        if "jurisdiction" in merged and merged["jurisdiction"] != country:
            raise _fail(
                "transfer.counterparty_vasp.jurisdiction",
                f"{_short(merged['jurisdiction'])} contradicts {where} ({country!r})",
            )
        if "jurisdiction" not in merged:
            merged["jurisdiction"] = country
            sources["counterparty_vasp.jurisdiction"] = where
    # what the payload does not give (licensed, due_diligence_on) is missing from the
    # envelope's transfer.counterparty_vasp, and reported there
    doc["counterparty_vasp"] = merged


def _check_dates(doc: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """A birth date after the transfer is a contradiction, not a fact to evaluate."""
    born, executed = doc["originator"].get("date_of_birth"), doc.get("executed_at")
    if not isinstance(born, str) or not isinstance(executed, str):
        return
    try:
        when = datetime.fromisoformat(executed.replace("Z", "+00:00")).date()
    except ValueError:
        return  # the transfer's validation names the problem
    if date.fromisoformat(born) > when:
        raise _fail(
            sources["originator.date_of_birth"],
            f"date of birth {born} is after the transfer was executed ({when})",
        )


def parse_ivms101(envelope: Mapping[str, Any]) -> Transfer:
    """Map an envelope and validate the transfer; every error names the envelope's path."""
    doc, sources = _map(envelope)
    try:
        model = parse_document(doc)
    except DocumentError as exc:
        raise Ivms101Error(
            (_source(path, sources), message) for path, message in exc.errors
        ) from None
    assert isinstance(model, Transfer)
    return model


def _source(path: str, sources: Mapping[str, str]) -> str:
    """The envelope path a transfer path came from (the longest known prefix)."""
    probe = path
    while probe:
        if probe in sources:
            return sources[probe] + path[len(probe) :]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    if path.split(".")[0].split("[")[0] in _TRANSFER_KEYS or not path:
        return f"transfer.{path}" if path else "transfer"
    return path


def parse_ivms101_many(envelopes: Sequence[Mapping[str, Any]]) -> list[Transfer]:
    """Map several envelopes; in a batch of more than one, error paths start documents[i]."""
    out: list[Transfer] = []
    for i, envelope in enumerate(envelopes):
        try:
            out.append(parse_ivms101(envelope))
        except Ivms101Error as exc:
            if len(envelopes) == 1:
                raise
            raise Ivms101Error(
                (f"documents[{i}]" + (f".{p}" if p else ""), m) for p, m in exc.errors
            ) from None
    return out
