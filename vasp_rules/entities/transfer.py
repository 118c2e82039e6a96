"""``transfer``: one virtual-asset transfer, with the travel-rule data that accompanied it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, model_validator

from vasp_rules.entities.common import (
    Country,
    Date,
    DateTime,
    Decimal0,
    Money,
    SanctionsScreening,
    StrictModel,
    Text,
)
from vasp_rules.entities.facts import EVENT, OfRecord
from vasp_rules.entities.identity import Address, IdNumber, Name, check_wallet, network_of_asset

__all__ = [
    "Beneficiary",
    "CounterpartyType",
    "CounterpartyVasp",
    "Direction",
    "JointHolder",
    "Originator",
    "Transfer",
]

Direction = Literal["IN", "OUT"]
CounterpartyType = Literal["VASP", "UNHOSTED", "UNKNOWN"]


class JointHolder(StrictModel):
    """Another holder of a party's account (a joint account): screened like the party itself.

    An IVMS101 payload with several originator or beneficiary persons maps one to the party
    and the others, in payload order, to its ``joint_holders`` (docs/ivms101.md says which)."""

    name: Name
    sanctions_screening: Annotated[
        SanctionsScreening | None, OfRecord("a sanctions screening result")
    ] = None


class _Party(StrictModel):
    """A transfer party: ``joint_holders`` is omitted from the dump when absent, so the
    canonical JSON (and ``input_sha256``) of a document without it is what it always was. (A
    field setting, not a serialiser function: the dump stays typed, which canonical.py writes
    without walking it.)"""


def _absent(value: object) -> bool:
    return value is None


class Originator(_Party):
    """Originator data received or sent; every field may be missing (the rules judge that).
    ``joint_holders``: the other holders of a joint account, each screened (VER-02, VER-03)."""

    name: Name | None = None
    account_or_wallet: Address | None = None
    address: Text | None = None
    national_id: IdNumber | None = None
    customer_id: IdNumber | None = None
    date_of_birth: Annotated[Date | None, OfRecord("a date of birth")] = None
    place_of_birth: Text | None = None
    sanctions_screening: Annotated[
        SanctionsScreening | None, OfRecord("a sanctions screening result")
    ] = None
    joint_holders: list[JointHolder] | None = Field(default=None, exclude_if=_absent)


class Beneficiary(_Party):
    """Beneficiary data; every field may be missing. ``joint_holders`` as for the originator."""

    name: Name | None = None
    account_or_wallet: Address | None = None
    sanctions_screening: Annotated[
        SanctionsScreening | None, OfRecord("a sanctions screening result")
    ] = None
    joint_holders: list[JointHolder] | None = Field(default=None, exclude_if=_absent)


class CounterpartyVasp(StrictModel):
    """The VASP on the other side of the transfer."""

    name: Name
    jurisdiction: Annotated[Country, OfRecord("the jurisdiction of a licence or counterparty")]
    licensed: StrictBool
    due_diligence_on: Annotated[Date | None, EVENT] = None


class Transfer(StrictModel):
    """A transfer in or out, with its fiat value at execution and travel-rule timing."""

    kind: Annotated[Literal["transfer"], OfRecord("the document kind")]
    transfer_id: IdNumber
    direction: Annotated[Direction, OfRecord("a fact of the executed transfer")]
    asset: Annotated[Text, OfRecord("a fact of the executed transfer")]
    amount: Annotated[Decimal0, OfRecord("a fact of the executed transfer")]
    value: Annotated[Money, OfRecord("a fact of the executed transfer")]
    executed_at: Annotated[DateTime, EVENT]
    originator: Originator
    beneficiary: Beneficiary
    counterparty_type: Annotated[CounterpartyType, OfRecord("a fact of the executed transfer")]
    counterparty_vasp: CounterpartyVasp | None = None
    unhosted_ownership_verified: StrictBool
    data_transmitted_at: Annotated[DateTime | None, EVENT] = None
    settled_at: Annotated[DateTime | None, EVENT] = None

    @model_validator(mode="after")
    def _wallets_fit_the_network(self) -> Transfer:
        """An address on a transfer of a one-network asset (BTC, ETH, LTC, TRX, ATOM) must be an
        address of that network, checksum included; an account number at a VASP (not shaped
        like an address) is kept as written."""
        network = network_of_asset(self.asset)
        for party, person in (("originator", self.originator), ("beneficiary", self.beneficiary)):
            check_wallet(
                "Transfer",
                (party, "account_or_wallet"),
                person.account_or_wallet,
                network,
                strict=False,
            )
        return self

    def joint_persons(self) -> list[tuple[str, str, str]] | None:
        """(role, path, name) of every person screened as a party when the originator or
        the beneficiary is a joint account, in document order; None when neither is."""
        parties = (("originator", self.originator), ("beneficiary", self.beneficiary))
        if not any(party.joint_holders for _, party in parties):
            return None
        out: list[tuple[str, str, str]] = []
        for role, party in parties:
            if party.name is not None:
                out.append((role, f"{role}.name", party.name))
            for i, holder in enumerate(party.joint_holders or ()):
                out.append((f"{role} joint holder", f"{role}.joint_holders[{i}].name", holder.name))
        return out
