"""The pk pack's licence-application rules in force, written by hand as plain Python (pk 0.4.0).

A yardstick for benchmarks/fastpath.py: what a careful engineer would write without a rule
engine, behind the same pydantic validation. It returns the ids of the rules that fire (a rule
whose facts are absent fires when the pack says `require_documents`, as the engine does). No
reasons, citations or facts are built: this is the cheapest honest version. A rule with several
cases (LIC-11 due or overdue, LIC-12 below the floor or no activity, LIC-18 refused or pending)
fires under its one id when any case holds; before the licensing regime starts nothing fires.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from vasp_rules.entities.licence import LicenceApplication
from vasp_rules.interp.reference import add_months
from vasp_rules.lang.values import money_to_paisa

REGIME_FROM = date(2025, 7, 8)  # pack.yaml regimes: licence_application

_FIRST_IN_FORCE = {
    "LIC-01": date(2026, 3, 3),
    "LIC-19": date(2026, 3, 3),
    "LIC-02": date(2025, 9, 13),
    "LIC-03": date(2025, 9, 13),
    "LIC-04": date(2025, 9, 13),
    "LIC-20": date(2025, 9, 13),
    "VER-08": date(2025, 9, 13),
    **dict.fromkeys(
        ["LIC-05", "LIC-06", "LIC-07", "LIC-08", "LIC-09", "LIC-10", "LIC-11", "VER-06",
         "VER-07", "VER-12"],
        date(2025, 12, 2),
    ),
}


class LicenceRules:
    """The rules on one date; parameters are read once (as the engine compiles once)."""

    def __init__(self, params: dict[str, Any], fx: dict[str, Decimal], as_of: date) -> None:
        self.p = params
        self.fx = fx
        self.as_of = as_of.toordinal()
        self.regime = as_of >= REGIME_FROM
        if not self.regime:
            return  # nothing is in force, parameters included
        self.not_yet = {rid for rid, start in _FIRST_IN_FORCE.items() if as_of < start}
        self.key_roles = set(params["key_roles"])
        self.management = set(params["management_roles"])
        self.recognised = set(params["recognised_jurisdictions"])
        self.noc_activities = set(params["noc_permitted_activities"])
        self.disqualifying = set(params["disqualifying_conviction_categories"])
        self.call_for_action = set(params["fatf_call_for_action"])

    def fired(self, app: LicenceApplication) -> set[str]:
        if not self.regime:
            return set()
        p, fx, today = self.p, self.fx, self.as_of
        firm = app.firm
        out: set[str] = set()
        stage = app.stage
        people = firm.people
        submitted = app.submitted_on.toordinal()
        doc_types = {d.type for d in app.documents}
        all_roles = {r for person in people for r in person.roles}
        transition_end = add_months(p["act_2026_date"], p["act_transition_months"])
        if (
            today > transition_end
            and firm.noc_status != "GRANTED"
            and (stage != "FULL" or submitted > transition_end)
        ):
            out.add("LIC-01")
        if stage == "EOI" and not any(
            lic.status == "ACTIVE"
            and lic.expires_on.toordinal() >= today
            and lic.jurisdiction in self.recognised
            for lic in firm.foreign_licences
        ):
            out.add("LIC-02")
        if any(
            lic.status != "ACTIVE" or lic.expires_on.toordinal() < today
            for lic in firm.foreign_licences
        ):
            out.add("LIC-03")
        if stage == "EOI" and any(t not in doc_types for t in p["eoi_required_documents"]):
            out.add("LIC-04")
        if stage == "NOC" and any(a not in self.noc_activities for a in app.activities):
            out.add("LIC-05")
        if stage != "EOI" and any(r not in all_roles for r in self.key_roles):
            out.add("LIC-06")
        if any(person.outsourced for person in people if "MLRO" in person.roles):
            out.add("LIC-07")
        if firm.noc_status == "GRANTED" and not firm.goaml_registered:
            out.add("LIC-08")
        if stage == "FULL" and firm.pk_entity_status != "INCORPORATED":
            out.add("LIC-09")
        due = add_months(p["vasp_regulations_issued_on"], p["full_application_due_months"])
        if stage == "FULL" and submitted > due:
            out.add("LIC-10")
        if stage == "NOC" and "FORM_A1" in doc_types:
            out.add("LIC-11")  # its decision due (cases: still to come, or overdue)
        capital = money_to_paisa(firm.paid_up_capital.amount, firm.paid_up_capital.currency, fx)
        floors = dict(p["capital_floor"])
        if (
            firm.custody_model == "THIRD_PARTY_LICENSED"
            and "EXCHANGE" in app.activities
            and "CUSTODY" not in app.activities
        ):  # the lower exchange floor when a licensed custodian holds client assets
            floors["EXCHANGE"] = p["capital_floor_exchange_licensed_custodian"]
        if not app.activities:
            out.add("LIC-12")  # no activity requested: no floor to test capital against
        elif capital is None:
            out.add("LIC-12")  # unknown: no rate for the capital's currency
        elif any(capital < floors[a] for a in app.activities if a in floors):
            out.add("LIC-12")
        elif any(a not in floors for a in app.activities):
            out.add("LIC-12")
        overheads = firm.annual_fixed_overheads
        if overheads is None:
            out.add("LIC-14")
        elif capital is not None:
            paisa = money_to_paisa(overheads.amount, overheads.currency, fx)
            fraction = p["overheads_capital_fraction"].get(firm.custody_model)
            if paisa is not None and fraction is not None and capital < paisa * fraction:
                out.add("LIC-13")
        if firm.custody_model == "IN_HOUSE" and any(
            a in ("EXCHANGE", "BROKER_DEALER") for a in app.activities
        ):
            out.add("LIC-15")
        if firm.proprietary_trading:
            out.add("LIC-16")
        if stage != "EOI" and (
            not firm.pk_registered_office
            or not any(
                person.residence_country == "PK" for person in people if "DIRECTOR" in person.roles
            )
        ):
            out.add("LIC-17")
        foreign_owners = [
            person
            for person in people
            if "PK" not in person.nationalities
            and ("DIRECTOR" in person.roles or "UBO" in person.roles
                 or "SHAREHOLDER" in person.roles or person.ownership_pct > 0)
        ]
        if any(person.security_clearance in ("REFUSED", "PENDING") for person in foreign_owners):
            out.add("LIC-18")  # refused (REJECT) or pending (REQUIRE_DOCUMENTS)
        if any(c != "PK" for c in firm.data_locations):
            out.add("LIC-19")
        if firm.shariah_products and firm.shariah_clearance_ref is None:
            out.add("LIC-20")
        if firm.uses_pk_banking_rails:
            out.add("LIC-21")
        approved = {pol.type for pol in firm.policies if pol.board_approved_on.toordinal() <= today}
        if any(t not in approved for t in p["required_board_policies"]):
            out.add("LIC-22")
        significant = p["significant_ownership_pct"]
        if any(
            any(c.category in self.disqualifying for c in person.convictions)
            for person in people
            if any(r in self.management for r in person.roles)
            or person.ownership_pct >= significant
        ):
            out.add("VER-01")
        if any(person.sanctions_screening.result == "CONFIRMED_MATCH" for person in people):
            out.add("VER-02")
        if any(person.sanctions_screening.result == "POTENTIAL_MATCH" for person in people):
            out.add("VER-03")
        if any(person.pep != "NONE" for person in people):
            out.add("VER-04")
        ubo = sum((person.ownership_pct for person in people if "UBO" in person.roles), Decimal(0))
        if ubo < p["ubo_traced_minimum_pct"]:
            out.add("VER-05")
        key_people = [person for person in people if any(r in self.key_roles for r in person.roles)]
        if any(person.fit_and_proper_declared_on is None for person in key_people):
            out.add("VER-06")
        minimum = p["min_key_individual_experience_years"]
        if any(person.years_relevant_experience < minimum for person in key_people):
            out.add("VER-07")
        lookback = add_months(today, -12 * p["enforcement_lookback_years"])
        if any(
            not e.resolved or e.type == "LICENCE_REVOKED" and e.on.toordinal() >= lookback
            for e in firm.enforcement_history
        ):
            out.add("VER-08")
        if firm.record_retention_years < p["min_record_retention_years"]:
            out.add("VER-12")
        if any(person.residence_country in self.call_for_action for person in people):
            out.add("VER-13")
        return out - self.not_yet
