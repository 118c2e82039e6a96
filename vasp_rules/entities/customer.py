"""``customer``: a customer of a licensed VASP, at onboarding or during monitoring."""

from __future__ import annotations

from typing import Literal

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

    kind: Literal["customer"]
    customer_id: IdNumber
    customer_type: CustomerType
    full_name: Name
    date_of_birth: Date
    nationality: Country
    residence_country: Country
    id_document: IdDocument
    biometric_verified: StrictBool
    pep: Pep
    sanctions_screening: SanctionsScreening
    risk_rating: RiskRating
    identity_verified_on: Date | None = None
    account_activated_on: Date | None = None
    source_of_funds: SourceOfFunds
    exposure_countries: list[Country]
    suspicion_flagged_on: Date | None = None
    str_filed_on: Date | None = None
    outward_transfers_this_year: Money
    largest_cash_transaction: Money | None = None
