"""``amnesty_declaration``: a voluntary declaration of virtual assets under an amnesty programme."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool, model_validator

from vasp_rules.entities.common import (
    Country,
    Date,
    Decimal0,
    IdDocument,
    Money,
    Percentage,
    SanctionsScreening,
    StrictModel,
    Text,
)
from vasp_rules.entities.identity import Address, IdNumber, Name, check_wallet, network_of_chain

__all__ = [
    "AmnestyDeclaration",
    "AssetHolding",
    "AssetLocation",
    "Declarant",
    "DestinationVasp",
    "ExposurePct",
    "Forum",
    "Proceeding",
    "ProofOfControl",
    "PublicOffice",
]

PublicOffice = Literal["NONE", "SELF", "SPOUSE", "DEPENDANT"]
Forum = Literal["COURT", "FIA", "NAB", "FBR"]
AssetLocation = Literal["FOREIGN_VASP", "SELF_HOSTED", "P2P"]
ProofOfControl = Literal["NONE", "SIGNED_MESSAGE", "TEST_TRANSACTION", "CUSTODIAN_STATEMENT"]


class Proceeding(StrictModel):
    """A pending court case or open FIA/NAB/FBR investigation against the declarant."""

    forum: Forum
    reference: Text


class Declarant(StrictModel):
    """The person declaring the assets."""

    full_name: Name
    id_document: IdDocument
    residence_country: Country
    public_office: PublicOffice
    public_office_since: Date | None = None
    pending_proceedings: list[Proceeding]
    sanctions_screening: SanctionsScreening
    kyc_completed: StrictBool


class DestinationVasp(StrictModel):
    """The Pakistani VASP the declared assets migrate to."""

    name: Name
    licensed: StrictBool


class ExposurePct(StrictModel):
    """Blockchain-analytics exposure of a holding, as percentages of its value."""

    sanctions: Percentage
    darknet: Percentage
    mixer: Percentage
    ransomware: Percentage
    scam: Percentage


class AssetHolding(StrictModel):
    """One declared holding of a virtual asset."""

    asset_symbol: Text
    chain: Text
    quantity: Decimal0
    location: AssetLocation
    wallet_address: Address
    custodian_name: Name | None = None
    acquired_on: Date
    value_at_reference: Money
    proof_of_control: ProofOfControl
    exposure_pct: ExposurePct
    privacy_coin: StrictBool

    @model_validator(mode="after")
    def _wallet_fits_the_chain(self) -> AssetHolding:
        """A wallet on a chain this module knows must be an address of it, checksum included."""
        network = network_of_chain(self.chain, self.asset_symbol)
        check_wallet("AssetHolding", ("wallet_address",), self.wallet_address, network, strict=True)
        return self


class AmnestyDeclaration(StrictModel):
    """A declaration under one amnesty programme (the rule pack defines the programmes)."""

    kind: Literal["amnesty_declaration"]
    declaration_id: IdNumber
    programme_id: IdNumber
    submitted_on: Date
    declarant: Declarant
    destination_vasp: DestinationVasp
    holdings: list[AssetHolding]
    attestation_signed: StrictBool
    levy_paid_on: Date | None = None
    migrated_on: Date | None = None
