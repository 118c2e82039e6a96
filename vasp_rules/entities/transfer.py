"""``transfer``: one virtual-asset transfer, with the travel-rule data that accompanied it."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from vasp_rules.entities.common import (
    Address,
    Country,
    Date,
    DateTime,
    Decimal0,
    Identifier,
    Money,
    SanctionsScreening,
    StrictModel,
    Text,
)

__all__ = [
    "Beneficiary",
    "CounterpartyType",
    "CounterpartyVasp",
    "Direction",
    "Originator",
    "Transfer",
]

Direction = Literal["IN", "OUT"]
CounterpartyType = Literal["VASP", "UNHOSTED", "UNKNOWN"]


class Originator(StrictModel):
    """Originator data received or sent; every field may be missing (the rules judge that)."""

    name: Text | None = None
    account_or_wallet: Address | None = None
    address: Text | None = None
    national_id: Text | None = None
    customer_id: Text | None = None
    date_of_birth: Date | None = None
    place_of_birth: Text | None = None
    sanctions_screening: SanctionsScreening | None = None


class Beneficiary(StrictModel):
    """Beneficiary data; every field may be missing."""

    name: Text | None = None
    account_or_wallet: Address | None = None
    sanctions_screening: SanctionsScreening | None = None


class CounterpartyVasp(StrictModel):
    """The VASP on the other side of the transfer."""

    name: Text
    jurisdiction: Country
    licensed: StrictBool
    due_diligence_on: Date | None = None


class Transfer(StrictModel):
    """A transfer in or out, with its fiat value at execution and travel-rule timing."""

    kind: Literal["transfer"]
    transfer_id: Identifier
    direction: Direction
    asset: Text
    amount: Decimal0
    value: Money
    executed_at: DateTime
    originator: Originator
    beneficiary: Beneficiary
    counterparty_type: CounterpartyType
    counterparty_vasp: CounterpartyVasp | None = None
    unhosted_ownership_verified: StrictBool
    data_transmitted_at: DateTime | None = None
    settled_at: DateTime | None = None
