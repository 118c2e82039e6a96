"""``amnesty_declaration``: a voluntary declaration of virtual assets under an amnesty programme."""

from __future__ import annotations

from typing import Annotated, Literal

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
from vasp_rules.entities.facts import EVENT, OfRecord
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
    residence_country: Annotated[Country, OfRecord("a country of residence")]
    public_office: Annotated[PublicOffice, OfRecord("a public office held")]
    public_office_since: Annotated[Date | None, OfRecord("a public office held")] = None
    pending_proceedings: Annotated[list[Proceeding], OfRecord("pending proceedings")]
    sanctions_screening: Annotated[SanctionsScreening, OfRecord("a sanctions screening result")]
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

    asset_symbol: Annotated[Text, OfRecord("the asset of a declared holding")]
    chain: Annotated[Text, OfRecord("the chain of a declared holding")]
    quantity: Annotated[Decimal0, OfRecord("the quantity of a holding")]
    location: Annotated[AssetLocation, OfRecord("where a holding was held on the reference date")]
    wallet_address: Annotated[Address, OfRecord("the address of a declared wallet")]
    custodian_name: Name | None = None
    acquired_on: Annotated[Date, EVENT]
    value_at_reference: Annotated[Money, OfRecord("the value of a holding on the reference date")]
    proof_of_control: ProofOfControl
    exposure_pct: Annotated[ExposurePct, OfRecord("the on-chain exposure of a holding")]
    privacy_coin: Annotated[StrictBool, OfRecord("the kind of asset held")]

    @model_validator(mode="after")
    def _wallet_fits_the_chain(self) -> AssetHolding:
        """A wallet on a chain this module knows must be an address of it, checksum included."""
        network = network_of_chain(self.chain, self.asset_symbol)
        check_wallet("AssetHolding", ("wallet_address",), self.wallet_address, network, strict=True)
        return self


class AmnestyDeclaration(StrictModel):
    """A declaration under one amnesty programme (the rule pack defines the programmes)."""

    kind: Annotated[Literal["amnesty_declaration"], OfRecord("the document kind")]
    declaration_id: IdNumber
    programme_id: Annotated[IdNumber, OfRecord("the programme declared under")]
    submitted_on: Annotated[Date, EVENT]
    declarant: Declarant
    destination_vasp: DestinationVasp
    holdings: list[AssetHolding]
    attestation_signed: StrictBool
    levy_paid_on: Annotated[Date | None, EVENT] = None
    migrated_on: Annotated[Date | None, EVENT] = None
