"""``customer``: a customer of a licensed VASP, at onboarding or during monitoring."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StrictBool

from vasp_rules.entities.common import (
    Country,
    Date,
    IdDocument,
    Money,
    Pep,
    SanctionsScreening,
    StrictModel,
)
from vasp_rules.entities.facts import EVENT, OfRecord
from vasp_rules.entities.identity import IdNumber, Name

__all__ = ["Customer", "CustomerType", "RiskRating", "SourceOfFunds"]

CustomerType = Literal["NATURAL", "LEGAL"]
RiskRating = Literal["LOW", "MEDIUM", "HIGH"]


class SourceOfFunds(StrictModel):
    """Whether the customer declared, and evidenced, where their funds come from."""

    declared: StrictBool
    evidenced: StrictBool


class Customer(StrictModel):
    """A VASP customer: identity, screening, risk and activity facts."""

    kind: Annotated[Literal["customer"], OfRecord("the document kind")]
    customer_id: IdNumber
    customer_type: CustomerType
    full_name: Name
    date_of_birth: Annotated[Date, OfRecord("a date of birth")]
    nationality: Annotated[Country, OfRecord("a nationality")]
    residence_country: Annotated[Country, OfRecord("a country of residence")]
    id_document: IdDocument
    biometric_verified: StrictBool
    pep: Annotated[Pep, OfRecord("a politically exposed person status")]
    sanctions_screening: Annotated[SanctionsScreening, OfRecord("a sanctions screening result")]
    risk_rating: Annotated[RiskRating, OfRecord("the customer's assessed risk")]
    identity_verified_on: Annotated[Date | None, EVENT] = None
    account_activated_on: Annotated[Date | None, EVENT] = None
    source_of_funds: SourceOfFunds
    exposure_countries: Annotated[list[Country], OfRecord("the customer's country exposure")]
    suspicion_flagged_on: Annotated[Date | None, EVENT] = None
    str_filed_on: Annotated[Date | None, EVENT] = None
    outward_transfers_this_year: Annotated[Money, OfRecord("transfers already made")]
    largest_cash_transaction: Annotated[
        Money | None, OfRecord("a cash transaction already made")
    ] = None
