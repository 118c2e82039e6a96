"""``amnesty_declaration``: a voluntary declaration of virtual assets under an amnesty programme."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from vasp_rules.entities.common import (
    Address,
    Country,
    Date,
    Decimal0,
    IdDocument,
    Identifier,
    Money,
    Percentage,
    SanctionsScreening,
    StrictModel,
    Text,
)

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

    full_name: Text
    id_document: IdDocument
    residence_country: Country
    public_office: PublicOffice
    public_office_since: Date | None = None
    pending_proceedings: list[Proceeding]
    sanctions_screening: SanctionsScreening
    kyc_completed: StrictBool


class DestinationVasp(StrictModel):
    """The Pakistani VASP the declared assets migrate to."""

    name: Text
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
    custodian_name: Text | None = None
    acquired_on: Date
    value_at_reference: Money
    proof_of_control: ProofOfControl
    exposure_pct: ExposurePct
    privacy_coin: StrictBool


class AmnestyDeclaration(StrictModel):
    """A declaration under one amnesty programme (the rule pack defines the programmes)."""

    kind: Literal["amnesty_declaration"]
    declaration_id: Identifier
    programme_id: Identifier
    submitted_on: Date
    declarant: Declarant
    destination_vasp: DestinationVasp
    holdings: list[AssetHolding]
    attestation_signed: StrictBool
    levy_paid_on: Date | None = None
    migrated_on: Date | None = None
