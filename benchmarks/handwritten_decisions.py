"""Same-output hand-written evaluators: plain Python that builds the decision `pack.evaluate`
builds, byte for byte, on a pack of only these rules (pk 0.4.0). A yardstick for
benchmarks/fastpath.py (issue 22: "at least 0.8x of same-output hand-written code").

Eight licence-application rules of different shapes: LIC-03 (a quantifier over foreign
licences, three selects), LIC-07 (a quantifier with a `where`, a select on a conjunction),
LIC-08 and LIC-09 (two facts), LIC-11 (cases, an aggregate, date arithmetic), LIC-14 (a missing
fact, money at the reference rate in the text), LIC-19 (a quantifier over a list of strings),
VER-12 (a parameter in the text); five transfer rules: TR-01 (the travel-rule threshold, money at
the reference rate, values, and the rule that cannot be decided without a rate), TR-05 (an
optional object, its absent facts), TR-07 (cases on datetimes), TR-08 (a jurisdiction in a
parameter list) and VER-02 (sanctions: the parties' optional screening and a quantifier over
each party's joint holders, with the decision's `persons`).

Each finding carries what the engine's carries: the facts the rule read (every fact the
condition of a rule that held reads, both sides of `and`/`or`, and the facts its values and
texts read; an absent fact as null; `missing` lists the absent facts whose `is missing` test
held, or the parameter a rule that cannot be decided lacks), the reason and remediation written
here as f-strings (the pack's engine values rendered with the library's `format_value`, as a
careful engineer would reuse the project's formatting), the citation, title and version (read
once from the pack: they are constants), then the decision's `input_sha256` with the project's
canonical serialiser. Validation is the same pydantic `parse_document`. Decisions are built
with `trusted`, as the engine builds them. Dates out of the representable range (a due date
past 9999-12-31) are not handled: the generated documents never have them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from vasp_rules import RulePack
from vasp_rules.core.canonical import document_sha256
from vasp_rules.entities.registry import parse_document
from vasp_rules.lang.values import (
    datetime_to_engine,
    format_value,
    money_to_paisa,
    plain_number,
    to_json_value,
)
from vasp_rules.model.decision import (
    Citation,
    Decision,
    Finding,
    Outcome,
    finding_sort_key,
    most_severe,
)
from vasp_rules.runtime.evaluate import trusted
from vasp_rules.runtime.rulepack import _ENGINE_REF, persons_of

LICENCE_RULES = ["LIC-03", "LIC-07", "LIC-08", "LIC-09", "LIC-11", "LIC-14", "LIC-19", "VER-12"]
TRANSFER_RULES = ["TR-01", "TR-05", "TR-07", "TR-08", "VER-02"]

_OUTCOME = {o.value: o for o in Outcome}


def _money(paisa: int | None) -> str:
    return format_value(paisa, "money")


def _list(items: list[Any]) -> str:
    return ", ".join(str(i) for i in items) if items else "none"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class _Decider:
    """What every hand-written evaluator shares: the rules' constant parts, the decision's."""

    kind = ""

    def __init__(self, pack: RulePack, as_of: date) -> None:
        compiled = pack.compiled(as_of)
        self.p: dict[str, Any] = dict(compiled.param_values)
        self.fx: dict[str, Decimal] = dict(compiled.fx)
        self.as_of = as_of
        self.today = as_of.toordinal()
        self.as_of_text = as_of.isoformat()
        self.in_force = pack.rule_ids(on=as_of, kind=self.kind)
        self._starts = pack.regime_start(self.kind, as_of)
        self.regime = self._starts is None
        self.on = set(self.in_force) if self.regime else set()
        self.ref = pack.ref
        self.notice = pack.notice.ref
        self.meta: dict[str, tuple[int, str, Outcome, Citation]] = {}
        for rule in pack.loaded.rules:
            if rule.kind == self.kind:
                spec = rule.spec
                self.meta[rule.id] = (
                    spec.version, spec.title, _OUTCOME[str(spec.outcome)],
                    Citation(**spec.citation.model_dump()),
                )

    def finding(
        self, rule_id: str, reason: str, remediation: str, facts: dict[str, Any],
        missing: list[str] | None = None, outcome: Outcome | None = None,
    ) -> Finding:
        version, title, default, citation = self.meta[rule_id]
        return trusted(
            Finding, rule_id=rule_id, rule_version=version, title=title,
            outcome=outcome or default, reason=reason, citation=citation, facts=facts,
            missing=missing or [], remediation=remediation,
        )

    def unknown(self, rule_id: str, path: str, facts: dict[str, Any]) -> Finding:
        """A rule that cannot be decided for want of a parameter's value (a reference rate)."""
        title = self.meta[rule_id][1]
        return self.finding(
            rule_id,
            f"{title}: cannot be decided because the rule pack has no value for {path} on "
            f"{self.as_of_text}",
            f"ask the pack's maintainers to add {path} so that {rule_id} can be decided.",
            facts, [path], Outcome.REQUIRE_DOCUMENTS,
        )

    def decide(self, doc: dict[str, Any]) -> Decision:
        model = parse_document(doc)
        findings = self.findings(model) if self.regime else []
        findings.sort(key=finding_sort_key)
        return trusted(
            Decision,
            document_kind=self.kind,
            document_id=str(model.__dict__[self.id_field]),
            outcome=most_severe([f.outcome for f in findings]) if self.on
            else Outcome.NO_RULES_IN_FORCE,
            as_of=self.as_of,
            findings=findings,
            rules_evaluated=list(self.in_force) if self.regime else [],
            no_rules_in_force=not self.on,
            regime_starts_on=None if self.regime else self._starts,
            rulepack=self.ref,
            input_sha256=document_sha256(model),
            engine=_ENGINE_REF,
            explanation=None,
            notice=self.notice,
            persons=persons_of(model),
        )

    id_field = ""

    def findings(self, model: Any) -> list[Finding]:
        raise NotImplementedError


class LicenceDecisions(_Decider):
    """LICENCE_RULES on one date, written by hand."""

    kind = "licence_application"
    id_field = "application_id"

    def findings(self, app: Any) -> list[Finding]:
        on, out, today = self.on, [], self.today
        firm = app.firm
        if "LIC-03" in on:
            facts: dict[str, Any] = {}
            licences, regulators, statuses = [], [], []
            for i, lic in enumerate(firm.foreign_licences):
                at = f"firm.foreign_licences[{i}]"
                facts[at + ".status"] = lic.status
                facts[at + ".expires_on"] = lic.expires_on.isoformat()
                if lic.status != "ACTIVE" or lic.expires_on.toordinal() < today:
                    facts[at + ".licence_no"] = lic.licence_no
                    facts[at + ".regulator"] = lic.regulator
                    licences.append(lic.licence_no)
                    regulators.append(lic.regulator)
                    statuses.append(lic.status)
            if licences:
                out.append(self.finding(
                    "LIC-03",
                    f"Foreign licence {_list(licences)} ({_list(regulators)}) relied on in the "
                    "application is suspended, revoked or expired, or its expiry date is before "
                    f"{self.as_of_text} (status recorded: {_list(statuses)}).",
                    "Provide the regulator's confirmation that the licence is ACTIVE and renewed "
                    "(a current register extract), or explain the suspension, revocation or "
                    "lapse in COMPLIANCE_HISTORY.",
                    facts,
                ))
        if "LIC-07" in on:
            facts = {}
            names = []
            for i, person in enumerate(firm.people):
                at = f"firm.people[{i}]"
                facts[at + ".roles"] = list(person.roles)
                facts[at + ".outsourced"] = person.outsourced
                if "MLRO" in person.roles and person.outsourced:
                    facts[at + ".full_name"] = person.full_name
                    names.append(person.full_name)
            if names:
                out.append(self.finding(
                    "LIC-07",
                    f"The MLRO ({_list(names)}) is outsourced; the NOC Regulations do not allow "
                    "the MLRO function to be outsourced.",
                    "Appoint an MLRO employed by the firm and file the appointment letter and the "
                    "MLRO's fit-and-proper declaration.",
                    facts,
                ))
        if "LIC-08" in on and firm.noc_status == "GRANTED" and not firm.goaml_registered:
            out.append(self.finding(
                "LIC-08",
                f"The firm holds an NOC (status {firm.noc_status}) but is not registered with the "
                f"FMU on goAML (registered: {_yes(firm.goaml_registered)}); it may not offer "
                "AML-registered services until it is.",
                "Register with the FMU on goAML and file the registration confirmation; offer no "
                "AML-registered services before then.",
                {"firm.noc_status": firm.noc_status,
                 "firm.goaml_registered": firm.goaml_registered},
            ))
        if "LIC-09" in on and app.stage == "FULL" and firm.pk_entity_status != "INCORPORATED":
            out.append(self.finding(
                "LIC-09",
                "A full licence application needs a Pakistani entity incorporated with SECP; the "
                f"firm's Pakistani entity is {firm.pk_entity_status}.",
                "Complete incorporation with SECP and file the certificate of incorporation (SECP "
                "registration number) before the full application is assessed.",
                {"stage": app.stage, "firm.pk_entity_status": firm.pk_entity_status},
            ))
        if "LIC-11" in on and app.stage == "NOC":
            received = None
            facts = {"stage": app.stage}
            for i, document in enumerate(app.documents):
                facts[f"documents[{i}].type"] = document.type
                if document.type == "FORM_A1":
                    facts[f"documents[{i}].received_on"] = document.received_on.isoformat()
                    day = document.received_on.toordinal()
                    received = day if received is None or day > received else received
            if received is not None:
                days = self.p["noc_decision_days"]
                due = date.fromordinal(received + days).isoformat()
                got = date.fromordinal(received).isoformat()
                if received + days >= today:
                    reason = (f"Form A1 was received on {got}; PVARA's decision on the NOC is due "
                              f"by {due} ({days} days).")
                    remedy = (f"No action needed; follow up with PVARA if no decision arrives by "
                              f"{due}.")
                else:
                    reason = (f"Form A1 was received on {got}; PVARA's decision on the NOC was "
                              f"due by {due} ({days} days) and is overdue on {self.as_of_text}.")
                    remedy = (f"Follow up with PVARA now: the decision was due by {due}; ask for "
                              "its status in writing and keep offering no services that need "
                              "the NOC.")
                out.append(self.finding("LIC-11", reason, remedy, facts))
        if "LIC-14" in on and firm.annual_fixed_overheads is None:
            capital = firm.paid_up_capital
            paisa = money_to_paisa(capital.amount, capital.currency, self.fx)
            out.append(self.finding(
                "LIC-14",
                f"Annual fixed overheads were not provided, so paid-up capital ({_money(paisa)}) "
                "cannot be tested against them.",
                "Provide annual fixed overheads (firm.annual_fixed_overheads) from the latest "
                "AUDITED_ACCOUNTS.",
                {"firm.annual_fixed_overheads": None,
                 "firm.paid_up_capital": capital.model_dump(mode="json")},
                ["firm.annual_fixed_overheads"],
            ))
        if "LIC-19" in on:
            facts = {}
            abroad = []
            for i, country in enumerate(firm.data_locations):
                facts[f"firm.data_locations[{i}]"] = country
                if country != "PK":
                    abroad.append(country)
            if abroad:
                out.append(self.finding(
                    "LIC-19",
                    f"Data is held outside Pakistan ({_list(abroad)}); the Act allows this "
                    "unless PVARA directs otherwise.",
                    "No action needed unless PVARA directs that data be held in Pakistan.",
                    facts,
                ))
        minimum = self.p.get("min_record_retention_years")
        if "VER-12" in on and firm.record_retention_years < minimum:
            out.append(self.finding(
                "VER-12",
                f"Records are kept for {firm.record_retention_years} years; the NOC Regulations "
                f"require {minimum}.",
                f"Condition: amend the record-retention policy to {minimum} years and file it "
                "with the board's approval.",
                {"firm.record_retention_years": firm.record_retention_years},
            ))
        return out


_ORIGINATOR = ("name", "account_or_wallet", "address", "national_id", "customer_id",
               "date_of_birth", "place_of_birth")


class TransferDecisions(_Decider):
    """TRANSFER_RULES on one date, written by hand (a transfer evaluated alone)."""

    kind = "transfer"
    id_field = "transfer_id"

    def findings(self, t: Any) -> list[Finding]:
        on, out = self.on, []
        o = t.originator
        value = money_to_paisa(t.value.amount, t.value.currency, self.fx)
        if "TR-01" in on and t.direction == "OUT":
            present = {k: getattr(o, k) is not None for k in _ORIGINATOR}
            has_identifier = (
                present["address"] or present["national_id"] or present["customer_id"]
                or present["date_of_birth"] and present["place_of_birth"]
            )
            lacking = not present["name"] or not present["account_or_wallet"] or not has_identifier
            if lacking and (value is None or value >= self.p["travel_rule_threshold"]):
                facts: dict[str, Any] = {"direction": t.direction,
                                         "value": t.value.model_dump(mode="json")}
                for k in _ORIGINATOR:
                    facts["originator." + k] = to_json_value(getattr(o, k))
                if value is None:
                    out.append(self.unknown("TR-01", f"param.fx_to_pkr[{t.value.currency}]",
                                            facts))
                else:
                    facts["value.amount"] = to_json_value(t.value.amount)
                    facts["value.currency"] = t.value.currency
                    missing = sorted("originator." + k for k in _ORIGINATOR if not present[k])
                    out.append(self.finding(
                        "TR-01",
                        f"Outgoing transfer of {plain_number(t.value.amount)} {t.value.currency} "
                        f"({_money(value)} at the reference rate) is at or above the "
                        f"{_money(self.p['travel_rule_threshold'])} travel-rule threshold but "
                        "lacks required originator information: name given: "
                        f"{_yes(present['name'])}; account or wallet given: "
                        f"{_yes(present['account_or_wallet'])}; address, national ID, customer "
                        f"ID or date and place of birth given: {_yes(has_identifier)}.",
                        "Hold the transfer; collect the originator's name, account or wallet, "
                        "and address, national ID, customer ID or date and place of birth, and "
                        "transmit them with it.",
                        facts, missing,
                    ))
        vasp = t.counterparty_vasp
        kind = t.counterparty_type
        if "TR-05" in on and (kind == "UNKNOWN" or kind == "VASP" and (
            vasp is None or not vasp.licensed or vasp.due_diligence_on is None
        )):
            facts = {"counterparty_type": kind}
            missing = []
            if vasp is None:
                facts["counterparty_vasp"] = None
                missing.append("counterparty_vasp")
                name = licensed = done = "unknown"
            else:
                name, licensed = vasp.name, _yes(vasp.licensed)
                facts["counterparty_vasp.name"] = vasp.name
                facts["counterparty_vasp.licensed"] = vasp.licensed
                when = vasp.due_diligence_on
                facts["counterparty_vasp.due_diligence_on"] = to_json_value(when)
                if when is None:
                    missing.append("counterparty_vasp.due_diligence_on")
                done = "unknown" if when is None else when.isoformat()
            out.append(self.finding(
                "TR-05",
                f"The counterparty (type {kind}; VASP identified: {_yes(vasp is not None)}; name "
                f"{name}; licensed: {licensed}; due diligence done on: {done}) is of unknown "
                "type, or is a VASP that is not licensed or on which no due diligence is "
                "recorded.",
                "Identify the counterparty (a VASP or an unhosted wallet); for a VASP, complete "
                "and record due diligence on it (licence check, AML/CFT controls, ability to "
                "exchange travel-rule data) before executing further transfers with it.",
                facts, missing,
            ))
        sent, settled = t.data_transmitted_at, t.settled_at
        if "TR-07" in on and settled is not None:
            at = datetime_to_engine(settled)
            if sent is not None and datetime_to_engine(sent) > at:
                out.append(self.finding(
                    "TR-07",
                    f"The transfer settled at {format_value(at, 'datetime')} but travel-rule "
                    "data was transmitted only at "
                    f"{format_value(datetime_to_engine(sent), 'datetime')}; it must travel "
                    "before or at the same time as the transfer.",
                    "Condition: fix the transfer workflow so that travel-rule data is sent "
                    "before settlement, and record the late transmission.",
                    {"settled_at": settled.isoformat(), "data_transmitted_at": sent.isoformat()},
                ))
            elif sent is None and kind == "VASP":
                out.append(self.finding(
                    "TR-07",
                    f"The transfer to a counterparty VASP settled at "
                    f"{format_value(at, 'datetime')} with no travel-rule data transmitted at "
                    "all; the data must travel before or at the same time as the transfer.",
                    "Condition: transmit the travel-rule data to the counterparty VASP now, fix "
                    "the transfer workflow so that it is sent before settlement, and record the "
                    "late transmission.",
                    {"settled_at": settled.isoformat(), "data_transmitted_at": None,
                     "counterparty_type": kind},
                    ["data_transmitted_at"],
                ))
        listed = self.p["fatf_call_for_action"]
        if "TR-08" in on and vasp is not None and vasp.jurisdiction in listed:
            out.append(self.finding(
                "TR-08",
                f"The counterparty VASP {vasp.name} is in {vasp.jurisdiction}, a jurisdiction "
                f"subject to a FATF call for action ({_list(listed)}).",
                "Do not execute the transfer; apply countermeasures to the relationship and "
                "consider an STR.",
                {"counterparty_vasp.jurisdiction": vasp.jurisdiction,
                 "counterparty_vasp.name": vasp.name},
            ))
        if "VER-02" in on:
            self._sanctions(t, out)
        return out

    def _sanctions(self, t: Any, out: list[Finding]) -> None:
        """VER-02: a confirmed match for a party or a joint holder of its account."""
        facts: dict[str, Any] = {}
        hit = False
        texts = []
        for role in ("originator", "beneficiary"):
            party = getattr(t, role)
            facts[role + ".name"] = party.name
            screening = party.sanctions_screening
            if screening is None:
                facts[role + ".sanctions_screening"] = None
            else:
                facts[role + ".sanctions_screening.result"] = screening.result
                hit = hit or screening.result == "CONFIRMED_MATCH"
            texts.append(f"{role} {party.name or 'unknown'}: "
                         f"{'unknown' if screening is None else screening.result}")
        holders = []
        for role in ("originator", "beneficiary"):
            party = getattr(t, role)
            if party.joint_holders is None:
                facts[role + ".joint_holders"] = None
                holders.append("unknown")
                continue
            facts[role + ".joint_holders"] = [
                h.model_dump(mode="json") for h in party.joint_holders
            ]
            names = []
            for j, holder in enumerate(party.joint_holders):
                at = f"{role}.joint_holders[{j}]"
                if holder.sanctions_screening is None:
                    facts[at + ".sanctions_screening"] = None
                else:
                    facts[at + ".sanctions_screening.result"] = holder.sanctions_screening.result
                    if holder.sanctions_screening.result == "CONFIRMED_MATCH":
                        facts[at + ".name"] = holder.name
                        names.append(holder.name)
            hit = hit or bool(names)
            holders.append(_list(names))
        if hit:
            out.append(self.finding(
                "VER-02",
                f"Sanctions screening confirmed a match for a party to the transfer ({texts[0]}; "
                f"{texts[1]}; joint holders confirmed as matches: originator's {holders[0]}, "
                f"beneficiary's {holders[1]}).",
                "Do not execute or credit the transfer: freeze the funds without delay and "
                "report to the FMU and the relevant authority.",
                facts,
            ))
