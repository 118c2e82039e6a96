"""The pk pack's transfer rules in force, written by hand as plain Python (pk 0.4.0).

A yardstick for benchmarks/fastpath.py (see handwritten_licence.py). A transfer evaluated alone
has no other transfers (`batch.transfer` holds the *other* documents of the batch), so the
structuring rule TR-10 (sums over the originator's transfers in windows of 24 hours around this
one) reduces to its own value, which is below the threshold whenever the rule's other test holds:
it fires only when the value is unknown (no reference rate for its currency) and the originator
has an identity to group by (account/wallet, customer ID or national ID). VER-02 and VER-03
read the parties' optional sanctions screening (absent: not screened here), and their joint
holders' (an IVMS101 joint account). TR-09 takes effect on
2030-12-31; before the travel-rule regime starts (2025-07-08) nothing fires.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from vasp_rules.entities.transfer import Transfer
from vasp_rules.lang.values import money_to_paisa

TR_09_FROM = date(2030, 12, 31)
REGIME_FROM = date(2025, 7, 8)  # pack.yaml regimes: transfer


class TransferRules:
    """The rules on one date; parameters are read once."""

    def __init__(self, params: dict[str, Any], fx: dict[str, Decimal], as_of: date) -> None:
        self.fx = fx
        self.regime = as_of >= REGIME_FROM
        if not self.regime:
            return  # nothing is in force, parameters included
        self.threshold = params["travel_rule_threshold"]
        self.unhosted = params["unhosted_wallet_threshold"]
        self.call_for_action = set(params["fatf_call_for_action"])
        self.tr09 = as_of >= TR_09_FROM

    def fired(self, t: Transfer) -> set[str]:
        out: set[str] = set()
        if not self.regime:
            return out
        o, b = t.originator, t.beneficiary
        value = money_to_paisa(t.value.amount, t.value.currency, self.fx)
        threshold = self.threshold
        names_missing = o.name is None or o.account_or_wallet is None
        no_identifier = (
            o.address is None
            and o.national_id is None
            and o.customer_id is None
            and (o.date_of_birth is None or o.place_of_birth is None)
        )
        beneficiary_missing = b.name is None or b.account_or_wallet is None
        if t.direction == "OUT":
            if names_missing or no_identifier:
                if value is None or value >= threshold:
                    out.add("TR-01")  # held, or unknown for want of a rate
            if beneficiary_missing:
                out.add("TR-02")
            if names_missing or beneficiary_missing:
                if value is None or value < threshold:
                    out.add("TR-03")
        else:
            if names_missing or beneficiary_missing:
                out.add("TR-04")
            elif no_identifier and (value is None or value >= threshold):
                out.add("TR-04")
        vasp = t.counterparty_vasp
        counterparty = t.counterparty_type
        if counterparty == "UNKNOWN" or (
            counterparty == "VASP"
            and (vasp is None or not vasp.licensed or vasp.due_diligence_on is None)
        ):
            out.add("TR-05")
        if (
            t.counterparty_type == "UNHOSTED"
            and not t.unhosted_ownership_verified
            and (value is None or value > self.unhosted)
        ):
            out.add("TR-06")
        sent, settled = t.data_transmitted_at, t.settled_at
        if settled is not None:
            if sent is None:
                if counterparty == "VASP":
                    out.add("TR-07")  # never sent to the counterparty VASP
            elif sent > settled:
                out.add("TR-07")  # sent after settlement
        if vasp is not None and vasp.jurisdiction in self.call_for_action:
            out.add("TR-08")
        if (
            self.tr09
            and vasp is not None
            and vasp.jurisdiction != "PK"
            and (o.address is None or o.date_of_birth is None)
            and (value is None or value > threshold)
        ):
            out.add("TR-09")
        identity = (o.account_or_wallet, o.customer_id, o.national_id)
        if value is None and any(key is not None for key in identity):
            out.add("TR-10")
        holders = [*(o.joint_holders or ()), *(b.joint_holders or ())]
        for screening in (
            o.sanctions_screening,
            b.sanctions_screening,
            *(h.sanctions_screening for h in holders),
        ):
            if screening is not None:  # absent: the party was not screened here
                if screening.result == "CONFIRMED_MATCH":
                    out.add("VER-02")
                elif screening.result == "POTENTIAL_MATCH":
                    out.add("VER-03")
        return out
