"""``licence_application``: a firm applying to PVARA (EOI, NOC or full licence), with its people."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from vasp_rules.entities.common import (
    Country,
    Date,
    IdDocument,
    Lei,
    Money,
    NonNegativeInt,
    Pep,
    Percentage,
    SanctionsScreening,
    StrictModel,
    Text,
)
from vasp_rules.entities.identity import IdNumber, Name

__all__ = [
    "Activity",
    "ApplicantFirm",
    "Conviction",
    "ConvictionCategory",
    "CustodyModel",
    "DocumentReceipt",
    "EnforcementAction",
    "EnforcementType",
    "ForeignLicence",
    "LicenceApplication",
    "LicenceDocumentType",
    "LicenceStatus",
    "NocStatus",
    "Person",
    "PkEntityStatus",
    "Policy",
    "PolicyType",
    "Role",
    "SecurityClearance",
    "Stage",
]

Stage = Literal["EOI", "NOC", "FULL"]
Activity = Literal[
    "EXCHANGE",
    "BROKER_DEALER",
    "CUSTODY",
    "VA_DERIVATIVES",
    "LENDING_BORROWING",
    "ADVISORY",
    "ASSET_MANAGEMENT",
    "TRANSFER_SETTLEMENT",
    "ISSUANCE",
    "PAYMENTS",
]
LicenceDocumentType = Literal[
    "COMPANY_PROFILE",
    "FOREIGN_LICENCES",
    "SERVICES_OVERVIEW",
    "COMPLIANCE_HISTORY",
    "SECURITY_CUSTODY",
    "CAPITAL_DETAILS",
    "PK_BUSINESS_PLAN",
    "FORM_A1",
    "AUDITED_ACCOUNTS",
]
PkEntityStatus = Literal["NONE", "IN_PROGRESS", "INCORPORATED"]
LicenceStatus = Literal["ACTIVE", "SUSPENDED", "REVOKED", "EXPIRED"]
NocStatus = Literal["NONE", "APPLIED", "GRANTED", "REFUSED"]
CustodyModel = Literal["NONE", "IN_HOUSE", "THIRD_PARTY_LICENSED"]
PolicyType = Literal["AML_CFT", "SANCTIONS", "TRAVEL_RULE", "CUSTODY", "BCP", "CYBER", "COMPLAINTS"]
EnforcementType = Literal["LICENCE_REVOKED", "FINE", "RESTRICTION", "WARNING"]
Role = Literal["DIRECTOR", "CEO", "CFO", "COMPLIANCE_OFFICER", "MLRO", "UBO", "SHAREHOLDER"]
ConvictionCategory = Literal["MONEY_LAUNDERING", "TERRORIST_FINANCING", "FRAUD", "TAX", "OTHER"]
SecurityClearance = Literal["NOT_REQUIRED", "PENDING", "GRANTED", "REFUSED"]


class DocumentReceipt(StrictModel):
    """A document of the application pack and the date PVARA received it."""

    type: LicenceDocumentType
    received_on: Date


class ForeignLicence(StrictModel):
    """A licence held abroad; its activities use the same codes as the application."""

    regulator: Text
    jurisdiction: Country
    licence_no: Text
    activities: list[Activity]
    status: LicenceStatus
    expires_on: Date


class Policy(StrictModel):
    """A written policy and the date the board approved it."""

    type: PolicyType
    board_approved_on: Date


class EnforcementAction(StrictModel):
    """A past regulatory action against the firm."""

    regulator: Text
    on: Date
    type: EnforcementType
    resolved: StrictBool


class Conviction(StrictModel):
    """A criminal conviction of a person."""

    category: ConvictionCategory
    convicted_on: Date
    jurisdiction: Country


class Person(StrictModel):
    """A director, key individual or owner of the applicant, with fit-and-proper facts."""

    full_name: Name
    date_of_birth: Date
    nationalities: list[Country]
    residence_country: Country
    id_document: IdDocument
    roles: list[Role]
    ownership_pct: Percentage
    pep: Pep
    sanctions_screening: SanctionsScreening
    convictions: list[Conviction]
    regulatory_ban: StrictBool
    insolvent: StrictBool
    years_relevant_experience: NonNegativeInt
    outsourced: StrictBool
    fit_and_proper_declared_on: Date | None = None
    security_clearance: SecurityClearance


class ApplicantFirm(StrictModel):
    """The applicant firm: corporate status, capital, governance and people."""

    legal_name: Name
    incorporation_country: Country
    pk_entity_status: PkEntityStatus
    secp_registration_no: Text | None = None
    lei: Lei | None = None
    foreign_licences: list[ForeignLicence]
    noc_status: NocStatus
    noc_granted_on: Date | None = None
    goaml_registered: StrictBool
    paid_up_capital: Money
    annual_fixed_overheads: Money | None = None
    custody_model: CustodyModel
    proprietary_trading: StrictBool
    pk_registered_office: StrictBool
    data_locations: list[Country]
    shariah_products: StrictBool
    shariah_clearance_ref: Text | None = None
    uses_pk_banking_rails: StrictBool
    policies: list[Policy]
    record_retention_years: NonNegativeInt
    enforcement_history: list[EnforcementAction]
    people: list[Person]


class LicenceApplication(StrictModel):
    """A licence application at one stage (EOI, NOC or FULL)."""

    kind: Literal["licence_application"]
    application_id: IdNumber
    stage: Stage
    submitted_on: Date
    activities: list[Activity]
    documents: list[DocumentReceipt]
    firm: ApplicantFirm
