"""``licence_application``: a firm applying to PVARA (EOI, NOC or full licence), with its people."""

from __future__ import annotations

from typing import Annotated, Literal

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
from vasp_rules.entities.facts import EVENT, WITHDRAWABLE, OfRecord
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

    type: Annotated[
        LicenceDocumentType, OfRecord("the kind of an existing entry (add a new entry instead)")
    ]
    received_on: Annotated[Date, EVENT]


class ForeignLicence(StrictModel):
    """A licence held abroad; its activities use the same codes as the application."""

    regulator: Annotated[Text, OfRecord("the regulator that issued a licence or action")]
    jurisdiction: Annotated[Country, OfRecord("the jurisdiction of a licence or counterparty")]
    licence_no: Annotated[Text, OfRecord("the number of a licence")]
    activities: list[Activity]
    status: Annotated[LicenceStatus, OfRecord("the status of a licence, set by its regulator")]
    expires_on: Date


class Policy(StrictModel):
    """A written policy and the date the board approved it."""

    type: Annotated[PolicyType, OfRecord("the kind of an existing entry (add a new entry instead)")]
    board_approved_on: Annotated[Date, EVENT]


class EnforcementAction(StrictModel):
    """A past regulatory action against the firm."""

    regulator: Annotated[Text, OfRecord("the regulator that issued a licence or action")]
    on: Annotated[Date, EVENT]
    type: Annotated[
        EnforcementType, OfRecord("the kind of an existing entry (add a new entry instead)")
    ]
    resolved: StrictBool


class Conviction(StrictModel):
    """A criminal conviction of a person."""

    category: ConvictionCategory
    convicted_on: Annotated[Date, EVENT]
    jurisdiction: Annotated[Country, OfRecord("the jurisdiction of a licence or counterparty")]


class Person(StrictModel):
    """A director, key individual or owner of the applicant, with fit-and-proper facts."""

    full_name: Name
    date_of_birth: Annotated[Date, OfRecord("a date of birth")]
    nationalities: Annotated[list[Country], OfRecord("a nationality")]
    residence_country: Annotated[Country, OfRecord("a country of residence")]
    id_document: IdDocument
    roles: Annotated[list[Role], WITHDRAWABLE]
    ownership_pct: Percentage
    pep: Annotated[Pep, OfRecord("a politically exposed person status")]
    sanctions_screening: Annotated[SanctionsScreening, OfRecord("a sanctions screening result")]
    convictions: Annotated[list[Conviction], OfRecord("a criminal conviction on record")]
    regulatory_ban: Annotated[StrictBool, OfRecord("a regulatory ban")]
    insolvent: Annotated[StrictBool, OfRecord("an insolvency")]
    years_relevant_experience: Annotated[NonNegativeInt, OfRecord("experience already gained")]
    outsourced: StrictBool
    fit_and_proper_declared_on: Annotated[Date | None, EVENT] = None
    security_clearance: Annotated[
        SecurityClearance, OfRecord("a security clearance decided by the authorities")
    ]


class ApplicantFirm(StrictModel):
    """The applicant firm: corporate status, capital, governance and people."""

    legal_name: Name
    incorporation_country: Annotated[Country, OfRecord("the country the firm is incorporated in")]
    pk_entity_status: PkEntityStatus
    secp_registration_no: Text | None = None
    lei: Lei | None = None
    foreign_licences: list[ForeignLicence]
    noc_status: NocStatus
    noc_granted_on: Annotated[Date | None, EVENT] = None
    goaml_registered: StrictBool
    paid_up_capital: Money
    annual_fixed_overheads: Money | None = None
    custody_model: CustodyModel
    proprietary_trading: StrictBool
    pk_registered_office: StrictBool
    data_locations: Annotated[list[Country], WITHDRAWABLE]
    shariah_products: StrictBool
    shariah_clearance_ref: Text | None = None
    uses_pk_banking_rails: StrictBool
    policies: list[Policy]
    record_retention_years: NonNegativeInt
    enforcement_history: Annotated[list[EnforcementAction], OfRecord("a past enforcement action")]
    people: list[Person]


class LicenceApplication(StrictModel):
    """A licence application at one stage (EOI, NOC or FULL)."""

    kind: Annotated[Literal["licence_application"], OfRecord("the document kind")]
    application_id: IdNumber
    stage: Annotated[Stage, OfRecord("the stage the application was made at")]
    submitted_on: Annotated[Date, EVENT]
    activities: Annotated[list[Activity], WITHDRAWABLE]
    documents: list[DocumentReceipt]
    firm: ApplicantFirm
