"""Regression tests for the durable-rules 2.0.28 hazards the engine guards against.

Each test names the hazard (see docs/engine.md) and fails if the guard is removed. Tests that
could hang or crash the interpreter run in a subprocess with a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, ROOT, example

from vasp_rules import PackError, RulePack
from vasp_rules.compiler.lower import MAX_NESTING, _literal, _measure
from vasp_rules.engine import durable_backend
from vasp_rules.engine.durable_backend import EngineError, Matcher, to_json
from vasp_rules.runtime.rulepack import COMPILED_CACHE_SIZE


def run_isolated(code: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter (a segfault or hang must not take pytest down)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_no_host_threads_are_started(pk: RulePack) -> None:
    """Hazard: Host() starts timer threads that lose results and segfault under threads."""
    before = threading.active_count()
    for _ in range(20):
        pk.evaluate(example("licence_application"), AS_OF)
    assert threading.active_count() == before
    assert "durable.engine" not in sys.modules, "the Host layer must never be imported"


def test_only_one_module_imports_durable() -> None:
    sources = [p for p in (ROOT / "vasp_rules").rglob("*.py")]
    importers = [p.relative_to(ROOT).as_posix() for p in sources
                 if "import durable" in p.read_text() or "from durable" in p.read_text()]
    assert importers == ["vasp_rules/engine/durable_backend.py"]


def test_a_document_that_fires_nothing_does_not_segfault() -> None:
    """Hazard: delete_state on a session where no action ran segfaults. The sentinel rule makes
    an action run for every fact; a transfer that fires no rule exercises exactly that path."""
    result = run_isolated("""
        import json
        from datetime import date
        from vasp_rules import RulePack
        pack = RulePack.load("rules/pk")
        doc = json.load(open("examples/transfer.json"))
        for i in range(300):
            doc["transfer_id"] = f"T{i}"
            d = pack.evaluate(doc, date(2026, 6, 1))
        print("OK", d.outcome.value)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("OK")


def test_matcher_refuses_to_delete_a_session_where_nothing_ran() -> None:
    """The guard itself: in a ruleset without the sentinel, a fact that matches no rule runs
    no action; the matcher raises instead of calling delete_state (which would segfault)."""
    import durable_rules_engine

    definition = {"only": {"all": [{"m": {"$and": [{"kind": "transfer"}, {"f_x": 1}]}}]}}
    handle = int(durable_rules_engine.create_ruleset("no_sentinel_probe", json.dumps(definition)))
    matcher = Matcher([])
    try:
        with pytest.raises(EngineError):
            matcher._match_session(handle, "transfer", [{"f_x": 2}], [set()])
    finally:
        durable_rules_engine.delete_ruleset(handle)


def test_identical_documents_get_distinct_fact_ids(pk: RulePack) -> None:
    """Hazard: facts without an id get one from their content; identical content is rejected
    as already observed. Every fact gets a unique id, so identical documents all evaluate."""
    doc = example("customer")
    decisions = pk.evaluate_many([doc] * 50, AS_OF, batch=False)
    assert len({d.to_json() for d in decisions}) == 1


def test_more_sessions_than_the_per_ruleset_cap(pk: RulePack) -> None:
    """Hazard: 1,024 live sessions per ruleset, then MemoryError. Each ruleset keeps one
    session, so far more calls than the cap evaluate, one document at a time or in batches."""
    doc = example("transfer")
    docs = []
    for i in range(1500):
        d = dict(doc)
        d["transfer_id"] = f"T{i}"
        docs.append(d)
    decisions = pk.evaluate_many(docs, AS_OF, batch=False)
    assert len(decisions) == 1500
    assert [pk.evaluate(d, AS_OF) for d in docs[:1100]] == decisions[:1100]


def _odd_matcher() -> Matcher:
    return Matcher([durable_backend.MatchRule("odd|T", "k", {"f_odd": True})])


def test_a_session_holds_at_most_session_facts_and_is_then_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Facts stay in their session after their rules ran (cheaper than retracting them) until
    it holds SESSION_FACTS: then it is deleted and a new one begun, so neither facts nor
    memory pile up. A fact left there never fires again or with a later call's facts, and
    every session made is deleted once (the last one on close)."""
    monkeypatch.setattr(durable_backend, "SESSION_FACTS", 10)
    deleted: list[str] = []
    real_delete = durable_backend._engine.delete_state

    def delete_state(handle: int, sid: str) -> None:
        deleted.append(sid)
        real_delete(handle, sid)

    monkeypatch.setattr(durable_backend._engine, "delete_state", delete_state)
    matcher = _odd_matcher()
    (handle,) = matcher._shards_of("k")
    seen: list[str] = []
    try:
        for n in range(300):
            facts = [{"f_odd": i % 2 == 1, "f_i": i} for i in range(n % 7)]
            fired = matcher.match_many("k", facts)
            assert fired == [{"odd|T"} if i % 2 else set() for i in range(n % 7)]
            if not facts and not seen:
                continue  # no call yet: no session
            sid, count = matcher._sessions[handle]
            if sid not in seen:
                seen.append(sid)
            held = json.loads(durable_backend._engine.get_facts(handle, sid))
            # its marker and at most the facts counted (one that matched no rule is not kept)
            assert [f["kind"] for f in held].count(durable_backend.SENTINEL) == 1
            assert len(held) <= count + 1 <= 11
        assert len(seen) > 100 and deleted == seen[:-1]
    finally:
        matcher.close()
    assert deleted == seen


def test_a_failed_call_deletes_the_session_and_the_next_call_makes_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call that fails after its facts were asserted (here: reading an action's text) leaves
    them in the session: the session is deleted (safe: its marker's action ran), and the next
    call starts a new one that sees none of them."""
    matcher = _odd_matcher()
    try:
        assert matcher.match_many("k", [{"f_odd": True}]) == [{"odd|T"}]
        (handle,) = matcher._shards_of("k")
        first = matcher._sessions[handle]

        def broken(text: str, prefix: str) -> None:
            raise RuntimeError("an action's text could not be read")

        with monkeypatch.context() as patch:
            patch.setattr(durable_backend, "_fired", broken)
            with pytest.raises(RuntimeError):
                matcher.match_many("k", [{"f_odd": True}, {"f_odd": True}])
        assert handle not in matcher._sessions
        assert matcher.match_many("k", [{"f_odd": False}, {"f_odd": True}]) == [set(), {"odd|T"}]
        assert matcher._sessions[handle] != first
    finally:
        matcher.close()


def test_numbers_never_reach_the_engine_in_exponent_form() -> None:
    """Hazard: durable-rules rejects 1e-05 and 1e+16 (error 204) and Infinity (202)."""
    assert to_json({"a": Decimal("0.00001"), "b": Decimal("1E+20"), "c": 10**17}) == (
        '{"a":0.00001,"b":100000000000000000000,"c":100000000000000000}'
    )
    with pytest.raises(EngineError):
        to_json({"x": Decimal("Infinity")})
    with pytest.raises(EngineError):
        to_json({"x": 1.5})  # floats are refused: money and dates are integers


def test_tiny_and_huge_amounts_evaluate(pk: RulePack) -> None:
    doc = example("customer")
    doc["outward_transfers_this_year"] = {"amount": "0.00001", "currency": "USD"}
    assert pk.evaluate(doc, AS_OF, engine="durable").to_json() == pk.evaluate(
        doc, AS_OF, engine="reference").to_json()
    doc["outward_transfers_this_year"] = {"amount": "12345678901234567.89", "currency": "USD"}
    d = pk.evaluate(doc, AS_OF)
    assert "VER-14" in d.fired
    assert d.to_json() == pk.evaluate(doc, AS_OF, engine="reference").to_json()


def test_string_compared_with_number_is_refused_at_load(tmp_path: Path) -> None:
    """Hazard: durable-rules compares a string with a number as strings ("100" < 25)."""
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", 'customer_id < 25'))
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    assert "cannot compare string with int" in str(info.value)


def test_regex_is_evaluated_by_python_not_the_engine(tmp_path: Path) -> None:
    """Hazard: durable's $mt dialect breaks backslash escapes. `matches` is hoisted and run by
    Python's re.fullmatch, so \\d works as written."""
    root = make_pack(tmp_path, "rules:\n" + rule_yaml(
        "T-01", "customer", 'matches(customer_id, "CUST-\\\\d{8}")'))
    pack = RulePack.load(root)
    compiled = pack.compiled(AS_OF)
    assert "$mt" not in json.dumps(compiled.rules[0].lowered.true)
    assert pack.evaluate(example("customer"), AS_OF).fired == ["T-01"]
    doc = example("customer")
    doc["customer_id"] = "CUST-0048197X"
    assert pack.evaluate(doc, AS_OF).fired == []


def test_many_rules_with_different_first_tests_do_not_hang(tmp_path: Path) -> None:
    """Hazard: more than 512 distinct tests under one node hangs forever. Rules are spread over
    rulesets of at most 200, so 600 rules whose first tests differ still evaluate."""
    rules = "rules:\n" + "".join(
        rule_yaml(f"T-{i:03d}", "customer", f"customer_id == \"C{i}\"") for i in range(600))
    root = make_pack(tmp_path, rules)
    result = run_isolated(f"""
        import json
        from datetime import date
        from vasp_rules import RulePack
        pack = RulePack.load({str(root)!r})
        doc = json.load(open("examples/customer.json"))
        doc["customer_id"] = "C599"
        print(pack.evaluate(doc, date(2026, 6, 1)).fired)
    """, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "T-599" in result.stdout


def test_identical_conditions_beyond_the_sharing_limit(tmp_path: Path) -> None:
    """Hazard: at most 256 rules may share one identical condition; shards stay below it."""
    rules = "rules:\n" + "".join(
        rule_yaml(f"T-{i:03d}", "customer", 'risk_rating == "HIGH"') for i in range(300))
    pack = RulePack.load(make_pack(tmp_path, rules))
    doc = example("customer")
    doc["risk_rating"] = "HIGH"
    assert len(pack.evaluate(doc, AS_OF).findings) == 300


def test_deep_conditions_are_hoisted_below_the_nesting_limit(tmp_path: Path) -> None:
    """Hazard: $and/$or nesting deeper than 15 is refused. A deeper condition is computed as
    one derived field instead, and still agrees with the reference interpreter."""
    cond = "risk_rating == \"HIGH\""
    for i in range(20):
        cond = f"({cond} or customer_id == \"X{i}\") and biometric_verified"
    pack = RulePack.load(make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", cond)))
    low = pack.compiled(AS_OF).rules[0].lowered
    assert max(_measure(low.true, {})[0], _measure(low.unknown, {})[0]) < MAX_NESTING
    doc = example("customer")
    for risk in ("HIGH", "LOW"):
        doc["risk_rating"] = risk
        assert pack.evaluate(doc, AS_OF).to_json() == pack.evaluate(
            doc, AS_OF, engine="reference").to_json()


def test_threads_give_the_same_results_as_sequential(pk: RulePack) -> None:
    """Hazard: concurrent calls into the C engine crashed. One lock serialises them."""
    kinds = ["licence_application", "customer", "amnesty_declaration", "transfer"]
    docs = [example(k) for k in kinds] * 25
    sequential = [pk.evaluate(d, AS_OF).to_json() for d in docs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda d: pk.evaluate(d, AS_OF).to_json(), docs))
    assert threaded == sequential


def test_rulesets_of_dropped_dates_are_deleted(pk: RulePack, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """Hazard: rulesets created without being deleted leak about 53 KB each. Compiled dates
    are cached in a bounded LRU; dates whose rules compile alike share one set of rulesets,
    deleted when the last date that uses it is evicted."""
    created: list[int] = []
    deleted: list[int] = []
    engine = durable_backend._engine
    make, drop = engine.create_ruleset, engine.delete_ruleset
    fresh = RulePack.load(pk.root)
    doc = example("licence_application")
    # monthly across the Act's transition: LIC-01 compiles one form before it, one after
    days = [date.fromordinal(date(2026, 3, 3).toordinal() + 30 * n)
            for n in range(COMPILED_CACHE_SIZE + 8)]
    fresh.evaluate(doc, days[0])  # compiling the pack tries its patterns in probe rulesets
    monkeypatch.setattr(engine, "create_ruleset",
                        lambda n, d: created.append(handle := make(n, d)) or handle)
    monkeypatch.setattr(engine, "delete_ruleset", lambda h: (deleted.append(h), drop(h)))
    for day in days[1:]:
        fresh.evaluate(doc, day)
    assert len(fresh._compiled) <= COMPILED_CACHE_SIZE
    assert deleted, "evicted dates must delete their durable rulesets"
    assert len(created) <= 6, "dates compiled alike share their rulesets"
    live = {h for held in fresh._parts._matchers.values() for h in held[0]._handles}
    assert set(created) - set(deleted) == live
    assert len(set(deleted)) == len(deleted)


def test_evaluate_many_in_processes_matches_in_process(pk: RulePack) -> None:
    """The C engine never releases the GIL: parallelism is by processes, with equal results."""
    docs = [example(k) for k in ("licence_application", "customer", "transfer")] * 4
    local = [d.to_json() for d in pk.evaluate_many(docs, AS_OF)]
    spread = [d.to_json() for d in pk.evaluate_many(docs, AS_OF, workers=2)]
    assert spread == local


def test_wide_disjunctions_stay_below_the_compound_node_limit(tmp_path: Path) -> None:
    """Hazard (measured while building the pack): durable-rules refuses a pattern with more than
    15 $and/$or nodes (error 113), e.g. an `or` of 14 conjunctions over optional facts. The
    compiler counts nodes and hoists such conditions; it also probes each rule's patterns in a
    throwaway ruleset, so an unknown limit degrades to hoisting instead of failing."""
    parts = [f'(identity_verified_on > date("2026-01-{i + 1:02d}") and str_filed_on is missing)'
             for i in range(14)]
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", " or ".join(parts)))
    pack = RulePack.load(root)
    low = pack.compiled(AS_OF).rules[0].lowered
    from vasp_rules.compiler.lower import within_limits

    assert within_limits(low.true, low.unknown)
    doc = example("customer")
    for day in ("2025-12-31", "2026-01-20"):
        doc["identity_verified_on"] = day
        assert pack.evaluate(doc, AS_OF).to_json() == pack.evaluate(
            doc, AS_OF, engine="reference").to_json()


def test_a_pattern_that_grows_after_a_parameter_date_still_evaluates(tmp_path: Path) -> None:
    """The shape of a compiled condition depends on as_of (constants fold differently before
    and after a date), so limits are enforced for every date compiled, not only at load."""
    cond = ('as_of > param.act_2026_date + months(6) and firm.noc_status != "GRANTED" and '
            '(stage != "FULL" or submitted_on > param.act_2026_date + months(6)) and '
            '(firm.noc_granted_on is missing or firm.annual_fixed_overheads is missing or '
            'firm.secp_registration_no is missing or firm.lei is missing)')
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "licence_application", cond,
                                                      effective_from="2026-03-03"))
    pack = RulePack.load(root)
    doc = example("licence_application")
    for day in (date(2026, 6, 1), date(2026, 9, 4), date(2027, 1, 1)):
        assert pack.evaluate(doc, day).to_json() == pack.evaluate(
            doc, day, engine="reference").to_json()


def test_fractions_are_not_computed_in_doubles(tmp_path: Path) -> None:
    """durable-rules computes in doubles, where 0.1 * 3 > 0.3. Fields holding fractional
    numbers, fractional constants and division stay with the exact reference interpreter, so
    both matchers decide 0.1 > 0.3 - 0.1 * 2 as false (in doubles the right side is
    0.09999999999999998)."""
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "transfer",
                                                      "amount > 0.3 - amount * 2"))
    pack = RulePack.load(root)
    assert pack.compiled(AS_OF).rules[0].lowered.hoisted, "the fractional test must be hoisted"
    doc = example("transfer")
    doc["amount"] = "0.1"
    assert pack.evaluate(doc, AS_OF).fired == []
    assert pack.evaluate(doc, AS_OF, engine="reference").fired == []
    doc["amount"] = "0.1000001"
    assert pack.evaluate(doc, AS_OF).fired == ["T-01"]


def test_a_600_way_disjunction_does_not_hang(tmp_path: Path) -> None:
    """Hazard: more than 512 distinct tests under one node hangs forever (a 600-way `$or`).
    No $and/$or of ours holds more than 64 tests: a wider condition is hoisted."""
    cond = "customer_id in [" + ", ".join(f'"C{i}"' for i in range(600)) + "]"
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", cond))
    result = run_isolated(f"""
        import json
        from datetime import date
        from vasp_rules import RulePack
        from vasp_rules.compiler.lower import _measure
        pack = RulePack.load({str(root)!r})
        low = pack.compiled(date(2026, 6, 1)).rules[0].lowered
        assert _measure(low.true, {{}})[3] <= 64, _measure(low.true, {{}})[3]
        doc = json.load(open("examples/customer.json"))
        doc["customer_id"] = "C599"
        print(pack.evaluate(doc, date(2026, 6, 1)).fired)
    """, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "T-01" in result.stdout


def test_many_optional_facts_in_one_condition_do_not_blow_up(tmp_path: Path) -> None:
    """Three-valued patterns share sub-patterns; written out they grow exponentially with the
    optional facts a condition combines. Such conditions are measured with a cap and hoisted,
    so loading stays quick (guarded here against a hang, not timed)."""
    parts = [f'(identity_verified_on > date("2026-01-{i % 28 + 1:02d}") or str_filed_on is missing)'
             for i in range(45)]
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", " and ".join(parts)))
    result = run_isolated(f"""
        import json
        from datetime import date
        from vasp_rules import RulePack
        pack = RulePack.load({str(root)!r})
        doc = json.load(open("examples/customer.json"))
        a = pack.evaluate(doc, date(2026, 6, 1)).to_json()
        b = pack.evaluate(doc, date(2026, 6, 1), engine="reference").to_json()
        print("same" if a == b else "different")
    """, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "same"


def test_a_compiled_date_creates_only_the_rulesets_it_matches(
    pk: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new date's first evaluation creates the rulesets of its document's kind only; the
    others are created when first needed, `create_all` creates them for a pack check, and
    every one is deleted with the compiled date (never a kind created after `close`)."""
    created: list[str] = []
    deleted: list[int] = []
    real_create = durable_backend._engine.create_ruleset
    real_delete = durable_backend._engine.delete_ruleset
    monkeypatch.setattr(durable_backend._engine, "create_ruleset",
                        lambda name, text: (created.append(text), real_create(name, text))[1])
    monkeypatch.setattr(durable_backend._engine, "delete_ruleset",
                        lambda h: (deleted.append(h), real_delete(h)))
    fresh = RulePack.load(pk.root)
    day = date(2026, 7, 9)
    with fresh.using(day) as compiled:
        created.clear()
        matcher = compiled.matcher()
        assert created == []
        decision = fresh.evaluate(example("customer"), day)
        assert decision.rules_evaluated
        assert len(created) == 1 and '{"kind":"customer"}' in created[0]
        matcher.create_all()
        assert len(created) == len(matcher._by_kind)  # one ruleset a kind
        handles = list(matcher._handles)
    compiled.close()
    assert set(handles) <= set(deleted)
    with pytest.raises(EngineError, match="freed"):
        matcher.match("transfer", {})


def test_a_refused_ruleset_keeps_nothing_of_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """When durable-rules refuses a kind's second ruleset, the first one made for that kind is
    deleted at once (no leaked handle) and the refusal is an EngineError naming the kind."""
    rules = [
        durable_backend.MatchRule(f"r{i}", "customer", {"f_x": i})
        for i in range(durable_backend.RULES_PER_RULESET + 5)
    ]
    calls = 0
    real_create = durable_backend._engine.create_ruleset

    def second_refused(name: str, text: str) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("refused")
        return int(real_create(name, text))

    monkeypatch.setattr(durable_backend._engine, "create_ruleset", second_refused)
    matcher = Matcher(rules, lazy=True)
    with pytest.raises(EngineError, match="customer"):
        matcher.match("customer", {"f_x": 1})
    assert matcher._handles == []
    matcher.close()


def test_numbers_beyond_64_bits_never_meet_in_durable_rules(tmp_path: Path) -> None:
    """Hazard: durable-rules clamps integers beyond 64 bits (10**20 == 2**64 holds there, and
    2**63 + 5 > 2**63 - 1 does not), and the schema lets an amount reach about 10**20 paisa. A
    constant at or beyond the clamp, and a comparison of two amounts (or counts), are hoisted:
    both matchers decide as Python does. Dates and times stay native: they are bounded."""
    from vasp_rules.engine.durable_backend import MatchRule

    clamped = Matcher([MatchRule("eq", "customer", {"f_x": 2**64})])
    try:  # the hazard itself, measured
        assert clamped.match("customer", {"f_x": 10**20}) == {"eq"}
    finally:
        clamped.close()
    rules = "rules:\n" + rule_yaml(
        "T-01", "customer", "outward_transfers_this_year > largest_cash_transaction"
    )
    pack = RulePack.load(make_pack(tmp_path, rules))
    (rule,) = pack.compiled(AS_OF).rules
    assert rule.lowered.hoisted, "two amounts must be compared by Python, not natively"
    doc = example("customer")
    doc["outward_transfers_this_year"] = {"amount": "999999999999999999.99", "currency": "PKR"}
    doc["largest_cash_transaction"] = {"amount": "999999999999999999.98", "currency": "PKR"}
    decided = pack.evaluate(doc, AS_OF)
    assert decided.fired == ["T-01"]
    assert decided.to_json() == pack.evaluate(doc, AS_OF, engine="reference").to_json()
    # a constant at the clamp or beyond it is not written into a pattern
    assert _literal(2**63 - 2) == 2**63 - 2
    assert _literal(2**63 - 1) is None and _literal(-(2**64)) is None
    assert _literal(Decimal(10**20)) is None
    when = "account_activated_on < identity_verified_on"
    dates = "rules:\n" + rule_yaml("T-03", "customer", when)
    native = RulePack.load(make_pack(tmp_path, dates)).compiled(AS_OF).rules[0]
    assert not native.lowered.hoisted, "dates are bounded: compared by durable-rules"
