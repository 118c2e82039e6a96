"""Entity models: the input contract is parsed strictly and errors carry their path."""

from __future__ import annotations

import copy
import json
import typing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError
from support.strategies import any_document, documents

from vasp_rules.entities import (
    CURRENCIES,
    EU_MEMBER_STATES,
    ID_FIELD,
    KINDS,
    AmnestyDeclaration,
    ApplicantFirm,
    Customer,
    DocumentError,
    IdDocument,
    LicenceApplication,
    Money,
    Person,
    Transfer,
    document_id,
    json_schema,
    parse_document,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = {
    "licence_application": "licence_application.json",
    "customer": "customer.json",
    "amnesty_declaration": "amnesty_declaration.json",
    "transfer": "transfer.json",
}


def example(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / EXAMPLE_FILES[kind]).read_text("utf-8"))
    return data


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the dotted ``path`` (``a.b[0].c``) set to ``value``."""
    result = copy.deepcopy(data)
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        keys.append(name)
        if rest:
            keys.append(int(rest.rstrip("]")))
    target: Any = result
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return result


def errors_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as info:
        parse_document(data)
    return info.value.errors


def error_at(data: Any, path: str) -> str:
    """The one error message at ``path``; fails if there is none or errors elsewhere."""
    errors = errors_of(data)
    assert [p for p, _ in errors] == [path], errors
    return errors[0][1]


# --- examples and registry -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXAMPLE_FILES))
def test_example_parses_to_its_model(kind: str) -> None:
    doc = parse_document(example(kind))
    assert isinstance(doc, KINDS[kind])
    assert doc.kind == kind
    assert document_id(doc) == example(kind)[ID_FIELD[kind]]


def test_registry_covers_the_four_kinds() -> None:
    assert KINDS == {
        "licence_application": LicenceApplication,
        "customer": Customer,
        "amnesty_declaration": AmnestyDeclaration,
        "transfer": Transfer,
    }
    assert ID_FIELD == {
        "licence_application": "application_id",
        "customer": "customer_id",
        "amnesty_declaration": "declaration_id",
        "transfer": "transfer_id",
    }


def test_example_values_are_read_exactly() -> None:
    app = parse_document(example("licence_application"))
    assert isinstance(app, LicenceApplication)
    assert app.submitted_on == date(2026, 2, 16)
    assert app.firm.paid_up_capital == Money(amount=Decimal("850000000.00"), currency="PKR")
    assert app.firm.people[0].id_document.number == "3520247182634"  # dashes removed
    assert app.firm.people[3].ownership_pct == Decimal("82.5")
    assert app.firm.secp_registration_no is None
    transfer = parse_document(example("transfer"))
    assert isinstance(transfer, Transfer)
    assert transfer.executed_at.utcoffset() == timedelta(hours=5)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"application_id": "A1"}, "'kind' is missing"),
        ({"kind": None}, "'kind' is missing"),
        ({"kind": "licence"}, "unknown kind 'licence'"),
        ({"kind": ["customer"]}, 'unknown kind ["customer"]'),
    ],
)
def test_missing_or_unknown_kind_lists_the_known_kinds(data: Any, fragment: str) -> None:
    message = error_at(data, "kind")
    assert fragment in message
    for kind in KINDS:
        assert kind in message


@pytest.mark.parametrize("data", [[], "customer", 42, None, b"{}"])
def test_non_mapping_input_is_a_document_error(data: Any) -> None:
    errors = errors_of(data)
    assert errors == [
        ("", f"a document must be a mapping (JSON object), not {type(data).__name__}")
    ]


def test_document_error_renders_one_line_per_error() -> None:
    data = with_value(example("customer"), "risk_rating", "EXTREME")
    data = with_value(data, "id_document.number", "4210177342")
    del data["pep"]
    with pytest.raises(DocumentError) as info:
        parse_document(data)
    lines = str(info.value).splitlines()
    assert lines == [
        "id_document.number: CNIC number must have 13 digits (got 10)",
        "pep: required field is missing",
        "risk_rating: Input should be 'LOW', 'MEDIUM' or 'HIGH' (got 'EXTREME')",
    ]
    assert isinstance(info.value, ValueError)
    assert str(DocumentError([("", "bad")])) == "<document>: bad"


@pytest.mark.parametrize(
    "path, value",
    [
        ("firm", ["not", "a", "mapping"]),
        ("firm.people", {"full_name": "not a list"}),
        ("firm.people[0]", "Ayesha"),
        ("firm.people[0].id_document", None),
        ("documents[0]", 7),
    ],
)
def test_wrong_shapes_are_document_errors_at_their_path(path: str, value: Any) -> None:
    assert error_at(with_value(example("licence_application"), path, value), path)


def test_non_string_keys_do_not_crash() -> None:
    data: dict[Any, Any] = example("customer")
    data[3] = "x"
    data[("a", "b")] = "y"
    assert errors_of(data)


# --- strictness ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, path",
    [
        ("licence_application", "firm.people[0].nickname"),
        ("licence_application", "firm.paid_up_capital.fx_rate"),
        ("customer", "email"),
        ("amnesty_declaration", "holdings[1].exposure_pct.gambling"),
        ("transfer", "originator.phone"),
    ],
)
def test_unknown_field_is_rejected_with_its_path(kind: str, path: str) -> None:
    assert error_at(with_value(example(kind), path, "x"), path) == "unknown field"


@pytest.mark.parametrize(
    "kind, path, value",
    [
        ("licence_application", "stage", "PRE_EOI"),
        ("licence_application", "stage", "noc"),
        ("licence_application", "activities[1]", "STAKING"),
        ("licence_application", "firm.people[2].roles[0]", "CHAIRMAN"),
        ("licence_application", "firm.foreign_licences[0].status", "LAPSED"),
        ("customer", "pep", "YES"),
        ("amnesty_declaration", "holdings[0].proof_of_control", "SCREENSHOT"),
        ("transfer", "counterparty_type", "EXCHANGE"),
    ],
)
def test_bad_enum_value_is_rejected_and_shown(kind: str, path: str, value: str) -> None:
    message = error_at(with_value(example(kind), path, value), path)
    assert message.startswith("Input should be ")
    assert f"(got {value!r})" in message


def test_enums_are_literals_readable_with_get_args() -> None:
    hints = typing.get_type_hints(LicenceApplication)
    assert typing.get_args(hints["stage"]) == ("EOI", "NOC", "FULL")
    assert typing.get_args(hints["kind"]) == ("licence_application",)
    (role,) = typing.get_args(typing.get_type_hints(Person)["roles"])
    assert "MLRO" in typing.get_args(role)


def test_models_are_frozen_and_forbid_extras() -> None:
    for model in _all_models():
        assert model.model_config.get("extra") == "forbid", model
        assert model.model_config.get("frozen") is True, model
    doc = parse_document(example("customer"))
    with pytest.raises(ValidationError):
        doc.risk_rating = "LOW"  # type: ignore[misc]


@pytest.mark.parametrize(
    "path, value",
    [
        ("firm.goaml_registered", "yes"),
        ("firm.goaml_registered", 1),
        ("firm.record_retention_years", "7"),
        ("firm.record_retention_years", 7.0),
        ("firm.record_retention_years", True),
        ("firm.record_retention_years", -1),
        ("firm.people[0].years_relevant_experience", -3),
        ("firm.legal_name", 12345),
        ("application_id", ""),
    ],
)
def test_booleans_ints_and_text_are_not_coerced(path: str, value: Any) -> None:
    assert error_at(with_value(example("licence_application"), path, value), path)


# --- dates and datetimes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        ("01/03/2026", "expected a date written YYYY-MM-DD, got '01/03/2026'"),
        ("2026-3-1", "YYYY-MM-DD"),
        ("20260301", "YYYY-MM-DD"),
        ("2026-03-01T00:00:00Z", "YYYY-MM-DD"),
        (20260301, "got a number"),
        (1772323200.0, "got a number"),
        (datetime(2026, 3, 1, tzinfo=UTC), "got a datetime"),
    ],
)
def test_malformed_dates_are_rejected(value: Any, fragment: str) -> None:
    message = error_at(
        with_value(example("licence_application"), "submitted_on", value), "submitted_on"
    )
    assert fragment in message


def test_date_objects_are_accepted_as_yaml_gives_them() -> None:
    data = with_value(example("customer"), "date_of_birth", date(1994, 3, 8))
    data = with_value(data, "id_document.expires_on", date(2030, 12, 4))
    assert parse_document(data) == parse_document(example("customer"))


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("2026-03-01T14:32:05", "has no UTC offset"),
        ("2026-03-01 14:32", "has no UTC offset"),
        ("2026-03-01", "expected an ISO 8601 datetime with offset"),
        ("1 March 2026 14:32 PKT", "expected an ISO 8601 datetime with offset"),
        ("2026-02-30T10:00:00Z", "is not a valid datetime"),
        (1772355125, "got a number"),
        (datetime(2026, 3, 1, 14, 32), "no timezone offset"),
        (date(2026, 3, 1), "got a date"),
    ],
)
def test_naive_or_malformed_datetimes_are_rejected(value: Any, fragment: str) -> None:
    message = error_at(with_value(example("transfer"), "executed_at", value), "executed_at")
    assert fragment in message


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-03-01T09:32:05Z", datetime(2026, 3, 1, 9, 32, 5, tzinfo=UTC)),
        ("2026-03-01T14:32:05.250+05:00", datetime(2026, 3, 1, 9, 32, 5, 250000, UTC)),
        ("2026-03-01 04:32-0500", datetime(2026, 3, 1, 9, 32, tzinfo=UTC)),
        (datetime(2026, 3, 1, 9, 32, 5, tzinfo=UTC), None),
    ],
)
def test_aware_datetimes_are_accepted(value: Any, expected: datetime | None) -> None:
    doc = parse_document(with_value(example("transfer"), "settled_at", value))
    assert isinstance(doc, Transfer)
    assert doc.settled_at == (expected or value)
    assert doc.settled_at is not None and doc.settled_at.utcoffset() is not None


# --- money, decimals, percentages ----------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("1500000.00", Decimal("1500000.00")),
        (1500000, Decimal(1500000)),
        (0.1, Decimal("0.1")),
        (1e3, Decimal("1000.0")),
        (Decimal("12.345"), Decimal("12.345")),
        ("0", Decimal(0)),
    ],
)
def test_money_amount_is_an_exact_decimal(amount: Any, expected: Decimal) -> None:
    money = Money.model_validate({"amount": amount, "currency": "PKR"})
    assert money.amount == expected
    assert str(money.amount) == str(expected)
    assert set(Money.model_fields) == {"amount", "currency"}


@pytest.mark.parametrize(
    "amount, fragment",
    [
        ("-1", "greater than or equal to 0"),
        (-0.01, "greater than or equal to 0"),
        ("NaN", "expected a decimal number"),
        (float("nan"), "NaN and Infinity are not allowed"),
        (float("inf"), "NaN and Infinity are not allowed"),
        ("Infinity", "expected a decimal number"),
        ("1,500,000", "expected a decimal number"),
        ("", "is blank"),  # ENTITIES.md: a blank is not a value
        (True, "got a boolean"),
        ([1], "got a list"),
    ],
)
def test_bad_money_amount_is_rejected(amount: Any, fragment: str) -> None:
    data = with_value(example("customer"), "outward_transfers_this_year.amount", amount)
    assert fragment in error_at(data, "outward_transfers_this_year.amount")


@pytest.mark.parametrize(
    "currency, fragment",
    [
        ("XYZ", "'XYZ' is not an ISO 4217 currency code"),
        ("usd", "use 'USD', not 'usd'"),
        ("Rs", "is not an ISO 4217"),
        ("XXX", "is not an ISO 4217"),
        (840, "valid string"),
    ],
)
def test_bad_currency_is_rejected(currency: Any, fragment: str) -> None:
    data = with_value(example("licence_application"), "firm.paid_up_capital.currency", currency)
    assert fragment in error_at(data, "firm.paid_up_capital.currency")


def test_currency_set_has_the_usual_codes() -> None:
    assert {"PKR", "USD", "AED", "EUR", "GBP", "SGD", "HRK"} <= CURRENCIES
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)


@pytest.mark.parametrize(
    "path, value",
    [
        ("holdings[0].exposure_pct.darknet", "100.01"),
        ("holdings[0].exposure_pct.scam", -1),
        ("holdings[0].quantity", "-0.5"),
        ("holdings[1].value_at_reference.amount", "-12500"),
    ],
)
def test_percentages_and_quantities_are_bounded(path: str, value: Any) -> None:
    assert error_at(with_value(example("amnesty_declaration"), path, value), path)


def test_percentage_bounds_are_inclusive() -> None:
    data = with_value(example("amnesty_declaration"), "holdings[0].exposure_pct.mixer", "100")
    data = with_value(data, "holdings[0].exposure_pct.sanctions", 0)
    assert parse_document(data)
    data = with_value(example("licence_application"), "firm.people[3].ownership_pct", "100.000")
    assert parse_document(data)
    assert error_at(
        with_value(example("licence_application"), "firm.people[3].ownership_pct", 100.5),
        "firm.people[3].ownership_pct",
    )


# --- countries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("XX", "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("pk", "use 'PK', not 'pk'"),
        ("PAK", "is not an ISO 3166-1 alpha-2"),
        ("EU", "is not an ISO 3166-1 alpha-2"),
        ("", "is blank"),  # ENTITIES.md: a blank is not a value
    ],
)
def test_bad_country_is_rejected_upper_case_required(value: str, fragment: str) -> None:
    # Lower case is rejected, not normalised: documents are canonical and equal inputs compare
    # equal as written; the message names the fix.
    path = "firm.people[3].nationalities[1]"
    assert fragment in error_at(with_value(example("licence_application"), path, value), path)


def test_country_sets() -> None:
    from vasp_rules.entities import COUNTRIES

    assert len(COUNTRIES) == 249
    assert {"PK", "AE", "US", "GB", "SG", "KP", "IR", "MM"} <= COUNTRIES
    assert len(EU_MEMBER_STATES) == 27 and EU_MEMBER_STATES <= COUNTRIES
    assert "GR" in EU_MEMBER_STATES and "GB" not in EU_MEMBER_STATES


# --- identity documents and LEI ------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, message",
    [
        ("35202-471826-4", "CNIC number must have 13 digits (got 12)"),
        ("352024718263412", "CNIC number must have 13 digits (got 15)"),
        ("35202 4718263 4", "CNIC number may contain only digits and dashes"),
        ("3520247182634A", "CNIC number may contain only digits and dashes"),
        ("352-0247182634", "CNIC number dashes go as 12345-1234567-1"),
    ],
)
def test_bad_cnic_is_rejected_with_its_path(number: str, message: str) -> None:
    path = "firm.people[0].id_document.number"
    data = with_value(example("licence_application"), path, number)
    assert error_at(data, path) == message


def test_bad_nicop_is_rejected_like_a_cnic() -> None:
    path = "declarant.id_document"
    document = {"type": "NICOP", "number": "1234", "expires_on": "2030-01-01"}
    data = with_value(example("amnesty_declaration"), path, document)
    assert error_at(data, path + ".number") == "NICOP number must have 13 digits (got 4)"


@pytest.mark.parametrize(
    "number",
    ["35202-4718263-4", "3520247182634", "82203-1234567-0", "00000-0000000-0"],
)
def test_cnic_keeps_only_the_13_digit_rule(number: str) -> None:
    # AJK numbers start with 8 and stdnum.pk.cnic would reject them: only the shape is checked.
    doc = IdDocument.model_validate({"type": "CNIC", "number": number, "expires_on": "2030-01-01"})
    assert doc.number == number.replace("-", "")


def test_passport_numbers_are_free_form() -> None:
    doc = IdDocument(type="PASSPORT", number=" AB-123456 ", expires_on=date(2031, 1, 1))
    assert doc.number == "AB-123456"  # kept as written, surrounding space dropped
    # but an id number is one token: a space inside would let one passport be spelt two ways
    with pytest.raises(ValidationError, match="white space"):
        IdDocument(type="PASSPORT", number="AB-123 456", expires_on=date(2031, 1, 1))
    with pytest.raises(ValidationError):
        IdDocument.model_validate({"type": "PASSPORT", "number": "", "expires_on": "2031-01-01"})


@pytest.mark.parametrize(
    "lei, fragment",
    [
        ("549300K7Q2VX4RPB1N87", "LEI check digits do not match (ISO 17442)"),
        ("549300K7Q2VX4RPB1N68", "LEI check digits do not match (ISO 17442)"),
        ("549300K7Q2VX4RPB1N8", "LEI must have 20 characters (got 19)"),
        ("549300K7Q2VX4RPB1N8X", "18 letters or digits followed by 2 check digits"),
        ("549300K7Q2VX4RPB1_86", "18 letters or digits"),
    ],
)
def test_lei_check_digits_are_validated(lei: str, fragment: str) -> None:
    data = with_value(example("licence_application"), "firm.lei", lei)
    assert fragment in error_at(data, "firm.lei")


def test_lei_is_normalised() -> None:
    data = with_value(example("licence_application"), "firm.lei", "549300 k7q2vx4rpb1n86")
    doc = parse_document(data)
    assert isinstance(doc, LicenceApplication)
    assert doc.firm.lei == "549300K7Q2VX4RPB1N86"


# --- optional and required fields ----------------------------------------------------------------

OPTIONAL_FIELDS: dict[type[BaseModel], set[str]] = {
    LicenceApplication: set(),
    ApplicantFirm: {
        "secp_registration_no",
        "lei",
        "noc_granted_on",
        "annual_fixed_overheads",
        "shariah_clearance_ref",
    },
    Person: {"fit_and_proper_declared_on"},
    Customer: {
        "identity_verified_on",
        "account_activated_on",
        "suspicion_flagged_on",
        "str_filed_on",
        "largest_cash_transaction",
    },
    AmnestyDeclaration: {"levy_paid_on", "migrated_on"},
    Transfer: {"counterparty_vasp", "data_transmitted_at", "settled_at"},
}


@pytest.mark.parametrize("model", list(OPTIONAL_FIELDS), ids=lambda m: m.__name__)
def test_exactly_the_contract_optional_fields_are_optional(model: type[BaseModel]) -> None:
    optional = {name for name, field in model.model_fields.items() if not field.is_required()}
    assert optional == OPTIONAL_FIELDS[model]
    for name in optional:
        assert model.model_fields[name].default is None


def test_optional_fields_may_be_null_or_absent() -> None:
    data = example("customer")
    absent = {k: v for k, v in data.items() if k not in OPTIONAL_FIELDS[Customer]}
    null = {**absent, **dict.fromkeys(OPTIONAL_FIELDS[Customer])}
    assert parse_document(absent) == parse_document(null)


def test_empty_lists_are_fine_but_lists_are_required() -> None:
    data = with_value(example("licence_application"), "firm.people", [])
    assert parse_document(data)
    del data["firm"]["people"]
    assert error_at(data, "firm.people") == "required field is missing"


# --- generated documents and schemas -------------------------------------------------------------


def _roundtrip(data: dict[str, Any]) -> None:
    json.dumps(data)  # the strategy produces JSON-like data
    doc = parse_document(data)
    assert doc.kind == data["kind"]
    dumped = doc.model_dump(mode="json")
    again = parse_document(json.loads(json.dumps(dumped)))
    assert again == doc
    assert again.model_dump(mode="json") == dumped
    assert parse_document(doc.model_dump()) == doc  # python objects (dates, Decimals) too


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_documents_parse_and_round_trip(kind: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(documents(kind))
    def check(data: dict[str, Any]) -> None:
        _roundtrip(data)

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_document())
def test_any_generated_document_round_trips(data: dict[str, Any]) -> None:
    _roundtrip(data)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_json_schema_is_a_valid_schema_with_the_contract_fields(kind: str) -> None:
    schema = json_schema(kind)
    json.dumps(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(KINDS[kind].model_fields)
    assert {"kind", ID_FIELD[kind]} <= set(schema["required"])
    assert schema["properties"]["kind"]["const"] == kind
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(example(kind))


def test_json_schema_of_unknown_kind_is_a_document_error() -> None:
    with pytest.raises(DocumentError) as info:
        json_schema("wallet")
    assert info.value.errors[0][0] == "kind"
    assert "licence_application" in info.value.errors[0][1]


def _all_models() -> list[type[BaseModel]]:
    """Every model reachable from the four document kinds."""
    seen: list[type[BaseModel]] = []
    pending: list[Any] = list(KINDS.values())
    while pending:
        item = pending.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item in seen:
                continue
            seen.append(item)
            pending.extend(f.annotation for f in item.model_fields.values())
        else:
            pending.extend(typing.get_args(item))
    return seen


def test_model_names() -> None:
    names = {model.__name__ for model in _all_models()}
    assert {
        "LicenceApplication",
        "ApplicantFirm",
        "Person",
        "Customer",
        "AmnestyDeclaration",
        "Declarant",
        "AssetHolding",
        "Transfer",
        "Money",
        "IdDocument",
        "SanctionsScreening",
    } <= names


@pytest.mark.parametrize("amount", ["1e400", "9" * 5000, "1E+18", "1e-19"])
def test_absurd_amounts_are_refused_with_the_path(amount: str) -> None:
    """Past 18 digits either side of the point the engines' arithmetic (and Python's
    integer-to-text limit) would be strained: such input is refused, not half-evaluated."""
    doc = example("customer")
    doc["outward_transfers_this_year"] = {"amount": amount, "currency": "USD"}
    with pytest.raises(DocumentError) as info:
        parse_document(doc)
    assert str(info.value).startswith("outward_transfers_this_year.amount: out of range")


def test_largest_accepted_amount_evaluates_identically_in_both_engines() -> None:
    from vasp_rules import RulePack

    pack = RulePack.load(EXAMPLES.parent / "rules" / "pk")
    doc = example("customer")
    doc["outward_transfers_this_year"] = {"amount": "9" * 18 + ".25", "currency": "USD"}
    durable = pack.evaluate(doc, date(2026, 6, 1))
    assert "VER-14" in durable.fired
    assert durable.to_json() == pack.evaluate(doc, date(2026, 6, 1), engine="reference").to_json()
