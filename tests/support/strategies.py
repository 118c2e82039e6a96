"""Hypothesis strategies for VALID input documents, as JSON-like dicts.

Dates and datetimes are ISO strings and amounts are decimal strings, as users send them.
Optional fields are randomly absent or null, lists hold 0-4 items, and numbers cluster around
the thresholds the rule pack tests (capital floors, 1,000 USD/EUR, 5% and 20% exposure, ...).
"""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta, timezone
from typing import Any, get_args

from hypothesis import strategies as st
from stdnum.iso7064 import mod_97_10

from vasp_rules.entities import (
    COUNTRIES,
    KINDS,
    Activity,
    AssetLocation,
    ConvictionCategory,
    CounterpartyType,
    CustodyModel,
    CustomerType,
    Direction,
    EnforcementType,
    Forum,
    IdDocumentType,
    LicenceDocumentType,
    LicenceStatus,
    NocStatus,
    Pep,
    PkEntityStatus,
    PolicyType,
    ProofOfControl,
    PublicOffice,
    RiskRating,
    Role,
    SanctionsResult,
    SecurityClearance,
    Stage,
)
from vasp_rules.entities.common import is_blank

__all__ = ["any_document", "documents"]

Strategy = st.SearchStrategy
Doc = dict[str, Any]

# --- scalars -------------------------------------------------------------------------------------


def _one_of(literal: Any) -> Strategy[str]:
    return st.sampled_from(get_args(literal))


def _some_of(literal: Any) -> Strategy[list[str]]:
    return st.lists(_one_of(literal), max_size=4, unique=True)


def _small_list(element: Strategy[Any]) -> Strategy[list[Any]]:
    return st.lists(element, max_size=4)


def _not_blank(text: str) -> bool:
    return not is_blank(text)


def _opt(strategy: Strategy[Any]) -> Strategy[Any]:
    """For ``optional=``: when the key is present its value may still be null."""
    return st.none() | strategy


# a blank (empty, spaces only, invisible only) is no value (ENTITIES.md): generated text never is
_text = st.text(string.ascii_letters + string.digits + " .-'/&", min_size=1, max_size=16).filter(
    _not_blank
)
# any script, but no character an identity refuses anyway (controls, format, private use,
# unassigned, line and paragraph separators), so that few drawn names are filtered out below
_names = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=16,
).filter(_not_blank) | st.sampled_from(
    ["Ayesha Siddiqui", "Muhammad Ali Khan", "Zhang Wei", "O'Neill & Sons"]
)
_ids = st.uuids().map(str) | st.text(
    string.ascii_uppercase + string.digits + "-", min_size=1, max_size=24
)

_COMMON_COUNTRIES = ["PK", "AE", "US", "GB", "SG", "DE", "FR", "CN", "SA", "KP", "IR", "MM"]
_countries = st.sampled_from(_COMMON_COUNTRIES) | st.sampled_from(sorted(COUNTRIES))

_dates = st.dates(date(2018, 1, 1), date(2032, 12, 31)).map(date.isoformat) | st.sampled_from(
    ["2018-01-01", "2025-09-01", "2026-01-01", "2026-02-28", "2030-12-31", "2032-12-31"]
)
_birth_dates = st.dates(date(1940, 1, 1), date(2008, 12, 31)).map(date.isoformat)

_OFFSETS = [timedelta(0), timedelta(hours=5), timedelta(hours=4), timedelta(hours=-5)]
_datetimes = st.datetimes(
    datetime(2018, 1, 1),
    datetime(2032, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([timezone(offset) for offset in _OFFSETS]),
).map(datetime.isoformat)


def _decimals(upto: int, places: int, boundaries: list[str]) -> Strategy[str]:
    return st.sampled_from(boundaries) | st.decimals(
        min_value=0, max_value=upto, places=places, allow_nan=False, allow_infinity=False
    ).map(str)


_capital = _decimals(
    10**10,
    2,
    ["0", "0.01", "25000000", "49999999.99", "50000000", "100000000", "1000000000", "10000000000"],
)
_amounts = _decimals(10**8, 2, ["0", "999.99", "1000", "1000.00", "1000.01", "2000000", "100000"])
_quantities = _decimals(10**6, 8, ["0", "0.00000001", "1", "21000000"])
_percentages = _decimals(100, 2, ["0", "0.01", "5", "5.01", "10", "20", "20.01", "25", "75", "100"])
_currencies = st.sampled_from(["PKR", "USD", "AED", "EUR"])


def _money(amounts: Strategy[str] = _amounts) -> Strategy[Doc]:
    return st.fixed_dictionaries({"amount": amounts, "currency": _currencies})


def _nadra_number() -> Strategy[str]:
    def render(n: int, dashed: bool) -> str:
        digits = f"{n:013d}"
        return f"{digits[:5]}-{digits[5:12]}-{digits[12]}" if dashed else digits

    return st.builds(render, st.integers(0, 10**13 - 1), st.booleans())


_passport_numbers = st.text(string.ascii_uppercase + string.digits, min_size=6, max_size=9)


def _id_document_of(kind: str) -> Strategy[Doc]:
    number = _passport_numbers if kind == "PASSPORT" else _nadra_number()
    return st.fixed_dictionaries({"type": st.just(kind), "number": number, "expires_on": _dates})


_id_documents = _one_of(IdDocumentType).flatmap(_id_document_of)
_leis = st.text(string.ascii_uppercase + string.digits, min_size=18, max_size=18).map(
    lambda base: base + mod_97_10.calc_check_digits(base)
)
_screenings = st.fixed_dictionaries({"result": _one_of(SanctionsResult), "screened_on": _dates})
_years = st.sampled_from([0, 4, 5, 7]) | st.integers(0, 60)

# identifiers (vasp_rules/entities/identity.py): a name shows every character it has; an id
# number or account is an ASCII token; a wallet on a network the library validates is valid
from support.addresses import NETWORKS, address  # noqa: E402
from vasp_rules.entities.identity import (  # noqa: E402
    check_name,
    looks_like_address,
    network_of_chain,
)


def _identity_ok(check: Any) -> Any:
    def ok(text: str) -> bool:
        try:
            check(text)
        except ValueError:
            return False
        return True

    return ok


_names = _names.filter(_identity_ok(check_name))
_tokens = st.text(string.ascii_letters + string.digits + "-./", min_size=1, max_size=16)
_accounts = _tokens.filter(lambda t: not looks_like_address(t))
_WALLETS = {net: [address(net, i, legacy=i % 2 == 1) for i in range(4)] for net in NETWORKS}


def _with_wallet(holding: dict[str, Any]) -> Strategy[dict[str, Any]]:
    network = network_of_chain(holding["chain"], holding["asset_symbol"])
    wallets = (
        st.sampled_from(_WALLETS[network])
        if network
        else st.text(string.ascii_letters + string.digits, min_size=1, max_size=42)
    )
    return wallets.map(lambda w: {**holding, "wallet_address": w})


# --- licence_application -------------------------------------------------------------------------

_person = st.fixed_dictionaries(
    {
        "full_name": _names,
        "date_of_birth": _birth_dates,
        "nationalities": st.lists(_countries, max_size=3, unique=True),
        "residence_country": _countries,
        "id_document": _id_documents,
        "roles": _some_of(Role),
        "ownership_pct": _percentages,
        "pep": _one_of(Pep),
        "sanctions_screening": _screenings,
        "convictions": _small_list(
            st.fixed_dictionaries(
                {
                    "category": _one_of(ConvictionCategory),
                    "convicted_on": _dates,
                    "jurisdiction": _countries,
                }
            )
        ),
        "regulatory_ban": st.booleans(),
        "insolvent": st.booleans(),
        "years_relevant_experience": _years,
        "outsourced": st.booleans(),
        "security_clearance": _one_of(SecurityClearance),
    },
    optional={"fit_and_proper_declared_on": _opt(_dates)},
)

_firm = st.fixed_dictionaries(
    {
        "legal_name": _names,
        "incorporation_country": _countries,
        "pk_entity_status": _one_of(PkEntityStatus),
        "foreign_licences": _small_list(
            st.fixed_dictionaries(
                {
                    "regulator": _text,
                    "jurisdiction": _countries,
                    "licence_no": _text,
                    "activities": _some_of(Activity),
                    "status": _one_of(LicenceStatus),
                    "expires_on": _dates,
                }
            )
        ),
        "noc_status": _one_of(NocStatus),
        "goaml_registered": st.booleans(),
        "paid_up_capital": _money(_capital),
        "custody_model": _one_of(CustodyModel),
        "proprietary_trading": st.booleans(),
        "pk_registered_office": st.booleans(),
        "data_locations": st.lists(_countries, max_size=4, unique=True),
        "shariah_products": st.booleans(),
        "uses_pk_banking_rails": st.booleans(),
        "policies": _small_list(
            st.fixed_dictionaries({"type": _one_of(PolicyType), "board_approved_on": _dates})
        ),
        "record_retention_years": st.sampled_from([0, 5, 6, 7, 10]) | st.integers(0, 30),
        "enforcement_history": _small_list(
            st.fixed_dictionaries(
                {
                    "regulator": _text,
                    "on": _dates,
                    "type": _one_of(EnforcementType),
                    "resolved": st.booleans(),
                }
            )
        ),
        "people": _small_list(_person),
    },
    optional={
        "secp_registration_no": _opt(_text),
        "lei": _opt(_leis),
        "noc_granted_on": _opt(_dates),
        "annual_fixed_overheads": _opt(_money(_capital)),
        "shariah_clearance_ref": _opt(_text),
    },
)

_licence_application = st.fixed_dictionaries(
    {
        "kind": st.just("licence_application"),
        "application_id": _ids,
        "stage": _one_of(Stage),
        "submitted_on": _dates,
        "activities": _some_of(Activity),
        "documents": _small_list(
            st.fixed_dictionaries({"type": _one_of(LicenceDocumentType), "received_on": _dates})
        ),
        "firm": _firm,
    }
)

# --- customer ------------------------------------------------------------------------------------

_customer = st.fixed_dictionaries(
    {
        "kind": st.just("customer"),
        "customer_id": _ids,
        "customer_type": _one_of(CustomerType),
        "full_name": _names,
        "date_of_birth": _birth_dates,
        "nationality": _countries,
        "residence_country": _countries,
        "id_document": _id_documents,
        "biometric_verified": st.booleans(),
        "pep": _one_of(Pep),
        "sanctions_screening": _screenings,
        "risk_rating": _one_of(RiskRating),
        "source_of_funds": st.fixed_dictionaries(
            {"declared": st.booleans(), "evidenced": st.booleans()}
        ),
        "exposure_countries": st.lists(_countries, max_size=4, unique=True),
        "outward_transfers_this_year": _money(),
    },
    optional={
        "identity_verified_on": _opt(_dates),
        "account_activated_on": _opt(_dates),
        "suspicion_flagged_on": _opt(_dates),
        "str_filed_on": _opt(_dates),
        "largest_cash_transaction": _opt(_money()),
    },
)

# --- amnesty_declaration -------------------------------------------------------------------------

_holding = st.fixed_dictionaries(
    {
        "asset_symbol": st.sampled_from(["BTC", "ETH", "USDT", "XMR", "SOL"]),
        "chain": st.sampled_from(["bitcoin", "ethereum", "tron", "monero", "solana"]),
        "quantity": _quantities,
        "location": _one_of(AssetLocation),
        "acquired_on": _dates,
        "value_at_reference": _money(),
        "proof_of_control": _one_of(ProofOfControl),
        "exposure_pct": st.fixed_dictionaries(
            {
                "sanctions": _percentages,
                "darknet": _percentages,
                "mixer": _percentages,
                "ransomware": _percentages,
                "scam": _percentages,
            }
        ),
        "privacy_coin": st.booleans(),
    },
    optional={"custodian_name": _opt(_text)},
).flatmap(_with_wallet)

_amnesty_declaration = st.fixed_dictionaries(
    {
        "kind": st.just("amnesty_declaration"),
        "declaration_id": _ids,
        # mostly the bundled pack's programme, so its amnesty rules really run
        "programme_id": st.sampled_from(["PK-VA-AMNESTY-2026"] * 4 + ["VA-AMNESTY-2027"]),
        "submitted_on": _dates,
        "declarant": st.fixed_dictionaries(
            {
                "full_name": _names,
                "id_document": _id_documents,
                "residence_country": _countries,
                "public_office": _one_of(PublicOffice),
                "pending_proceedings": _small_list(
                    st.fixed_dictionaries({"forum": _one_of(Forum), "reference": _text})
                ),
                "sanctions_screening": _screenings,
                "kyc_completed": st.booleans(),
            },
            optional={"public_office_since": _opt(_dates)},
        ),
        "destination_vasp": st.fixed_dictionaries({"name": _names, "licensed": st.booleans()}),
        "holdings": _small_list(_holding),
        "attestation_signed": st.booleans(),
    },
    optional={"levy_paid_on": _opt(_dates), "migrated_on": _opt(_dates)},
)

# --- transfer ------------------------------------------------------------------------------------

# the other holders of a joint account (IVMS101 payloads with several persons)
_joint_holders = st.lists(
    st.fixed_dictionaries({"name": _names}, optional={"sanctions_screening": _opt(_screenings)}),
    max_size=2,
)

_transfer = st.fixed_dictionaries(
    {
        "kind": st.just("transfer"),
        "transfer_id": _ids,
        "direction": _one_of(Direction),
        "asset": st.sampled_from(["USDT", "BTC", "ETH", "USDC"]),
        "amount": _quantities,
        "value": _money(),
        "executed_at": _datetimes,
        "originator": st.fixed_dictionaries(
            {},
            optional={
                "name": _opt(_names),
                "account_or_wallet": _opt(_accounts),
                "address": _opt(_text),
                "national_id": _opt(_tokens),
                "customer_id": _opt(_ids),
                "date_of_birth": _opt(_birth_dates),
                "place_of_birth": _opt(_text),
                "sanctions_screening": _opt(_screenings),
                "joint_holders": _opt(_joint_holders),
            },
        ),
        "beneficiary": st.fixed_dictionaries(
            {},
            optional={
                "name": _opt(_names),
                "account_or_wallet": _opt(_accounts),
                "sanctions_screening": _opt(_screenings),
                "joint_holders": _opt(_joint_holders),
            },
        ),
        "counterparty_type": _one_of(CounterpartyType),
        "unhosted_ownership_verified": st.booleans(),
    },
    optional={
        "counterparty_vasp": _opt(
            st.fixed_dictionaries(
                {"name": _names, "jurisdiction": _countries, "licensed": st.booleans()},
                optional={"due_diligence_on": _opt(_dates)},
            )
        ),
        "data_transmitted_at": _opt(_datetimes),
        "settled_at": _opt(_datetimes),
    },
)

# --- public --------------------------------------------------------------------------------------

_BY_KIND: dict[str, Strategy[Doc]] = {
    "licence_application": _licence_application,
    "customer": _customer,
    "amnesty_declaration": _amnesty_declaration,
    "transfer": _transfer,
}
assert set(_BY_KIND) == set(KINDS), "a document kind has no strategy"


def documents(kind: str) -> Strategy[Doc]:
    """Valid documents of one kind."""
    return _BY_KIND[kind]


def any_document() -> Strategy[Doc]:
    """Valid documents of any kind."""
    return st.one_of(*_BY_KIND.values())
