"""The one module that talks to durable-rules.

It drives the low-level `durable_rules_engine` module directly instead of `durable.engine.Host`,
because the Host starts self-re-arming timer threads that lose results and crash under threads
(see docs/engine.md). Guards, each with a regression test in tests/test_durable_hazards.py:

- no Host, no background threads; one process-wide lock around every call into the C engine
  (it never releases the GIL, so the lock costs no parallelism);
- every fact gets a unique `id` (content-derived ids collide); each ruleset has one session,
  whose facts stay after their rules ran until it holds SESSION_FACTS, when it is deleted and
  begun again (on any failure at once), so the live-session cap of 1,024 per ruleset is never
  reached and memory stays flat (100,000 facts one a call, 20,000 in batches: no growth);
- a session begins with a marker fact alone, which a sentinel rule of every ruleset matches, so
  an action has run before any `delete_state` (which segfaults on a session where none ran);
- many facts share a session (one per document, each with its own id); every rule is a
  single one-fact pattern, so no fact can match together with another document's fact;
- every pattern starts with the positive `kind` discriminator (patterns of only `$nex` refire
  forever);
- numbers are written as plain decimals, never exponent form; no floats, dates or Decimals reach
  the JSON encoder (orjson for plain facts, `to_json` for the rest, both compact);
- facts are asserted, not posted (a posted event is consumed by the first rule that fires);
- rules are spread over rulesets of at most RULES_PER_RULESET, far below the 512-way fan-out
  that hangs the matcher and the 4,096-rule cap;
- rulesets are deleted when the last compiled date that uses them is dropped (creating without
  deleting leaks).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import durable_rules_engine as _engine
import orjson

from ..core.errors import VaspRulesError
from ..lang.values import plain_number

RULES_PER_RULESET = 200
SESSION_FACTS = 200  # facts per session: far below the cost seen at 40,000 (1.8 s, +330 MB)
SENTINEL = "__seen__"
ENGINE_NAME = "durable-rules"
ENGINE_VERSION = "2.0.28"

_LOCK = threading.RLock()
_ids = itertools.count(1)


class EngineError(VaspRulesError, RuntimeError):
    """durable-rules refused a fact or a ruleset; the message says which and why."""


_PLAIN = (str, int)  # bool is an int; both are written as durable-rules expects
_PLAIN_EXACT = frozenset({str, int, bool})


_text = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(ensure_ascii=False), made once


def _plain_fact(fact: Mapping[str, Any]) -> bool:
    """Whether every value of a flat fact is a string, a whole number or a boolean (they never
    print in exponent form), so that orjson may write it."""
    values = fact.values()  # the usual: all of exact plain types (one pass in C)
    return _PLAIN_EXACT.issuperset(map(type, values)) or all(isinstance(v, _PLAIN) for v in values)


def to_json(value: Any) -> str:
    """JSON text with numbers in plain notation (durable-rules rejects exponent form)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise EngineError(f"non-finite number {value} cannot reach durable-rules")
        return plain_number(value)
    if isinstance(value, float):
        raise EngineError("floats never reach durable-rules; use int or Decimal")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise EngineError(f"cannot send {type(value).__name__} to durable-rules")


@dataclass(frozen=True)
class MatchRule:
    """One durable rule: its name, the document kind it matches and its pattern (no kind test)."""

    name: str
    kind: str
    pattern: dict[str, Any]
    #: the rule's definition as JSON (`rule_json`), when made beforehand: a compiled rule
    #: shared by several dates writes it once
    text: str = field(default="", compare=False)


def rule_json(kind: str, pattern: dict[str, Any]) -> str:
    """A durable rule's definition, as JSON, for a pattern of a document kind."""
    return to_json({"all": [{"m": {"$and": [{"kind": kind}, *_conjuncts(pattern)]}}]})


class Matcher:
    """A set of durable rulesets for one compiled pack. Thread-safe; close() frees them.

    With `lazy`, a kind's rulesets are created when a fact of that kind is first matched (the
    first evaluation on a new date builds only what it uses); `create_all` creates the rest
    now, so that a pack check sees every ruleset durable-rules would refuse."""

    def __init__(self, rules: Iterable[MatchRule], *, lazy: bool = False) -> None:
        self._by_kind: dict[str, list[MatchRule]] = {}
        for rule in rules:
            self._by_kind.setdefault(rule.kind, []).append(rule)
        self._shards: dict[str, list[int]] = {}
        self._handles: list[int] = []
        self._sessions: dict[int, tuple[str, int]] = {}  # handle -> session, facts in it
        self._closed = False
        if not lazy:
            try:
                self.create_all()
            except BaseException:
                self.close()
                raise

    def create_all(self) -> None:
        """Create the rulesets of every kind not yet created (EngineError if refused)."""
        for kind in sorted(self._by_kind):
            self._shards_of(kind)

    def _shards_of(self, kind: str) -> list[int]:
        with _LOCK:
            if self._closed:  # a freed handle may be reused by another ruleset: never match
                raise EngineError("this compiled pack's durable-rules rulesets were freed")
            shards = self._shards.get(kind)
            if shards is not None:
                return shards
            kind_rules = self._by_kind.get(kind, [])
            made: list[int] = []
            try:
                per = RULES_PER_RULESET - 1
                for start in range(0, len(kind_rules), per):
                    made.append(self._create(kind, kind_rules[start : start + per]))
            except BaseException:
                for handle in made:  # none of this kind's rulesets is kept
                    self._handles.remove(handle)
                    _engine.delete_ruleset(handle)
                raise
            self._shards[kind] = made
            return made

    def _create(self, kind: str, rules: list[MatchRule]) -> int:
        sentinel = to_json({f"{SENTINEL}|{kind}": {"all": [{"m": {"kind": SENTINEL}}]}})
        parts = [sentinel[1:-1]]
        for rule in rules:
            parts.append(f"{json.dumps(rule.name)}:{rule.text or rule_json(kind, rule.pattern)}")
        definition = "{" + ",".join(parts) + "}"
        name = f"vasp_rules_{next(_ids)}"
        with _LOCK:
            try:
                handle = _engine.create_ruleset(name, definition)
            except Exception as exc:  # the C engine reports limits as plain errors
                raise EngineError(f"durable-rules refused ruleset for {kind}: {exc}") from exc
            self._handles.append(handle)
        return int(handle)

    def match(self, kind: str, fact: Mapping[str, Any]) -> set[str]:
        """Names of the rules whose pattern holds for one fact (the sentinel excluded)."""
        return self.match_many(kind, [fact])[0]

    def match_many(self, kind: str, facts: Sequence[Mapping[str, Any]]) -> list[set[str]]:
        """For each fact, the names of the rules whose pattern holds for it. Facts share
        sessions (at most SESSION_FACTS each) to spread the cost of a session over many
        documents; every rule has a single one-fact pattern, so a fact can only ever match on
        its own (tested: a document's decision never depends on the others evaluated with it)."""
        fired: list[set[str]] = [set() for _ in facts]
        with _LOCK:  # held across shards: close() cannot free a handle between two of them
            for handle in self._shards_of(kind):
                for at in range(0, len(facts), SESSION_FACTS):
                    end = at + SESSION_FACTS
                    self._match_session(handle, kind, facts[at:end], fired[at:end])
        return fired

    def _session(self, handle: int, adding: int) -> str:
        """The ruleset's session with room for `adding` more facts (one holding SESSION_FACTS
        is deleted first), begun with the marker fact alone: the sentinel rule matches it, so
        an action ran in it (delete_state segfaults on one where none ran)."""
        sid, held = self._sessions.pop(handle, ("", 0))
        if held + adding > SESSION_FACTS:  # full (a new session's count is 0: never full)
            _engine.delete_state(handle, sid)  # its marker's action ran: safe
            sid, held = "", 0
        if not sid:
            sid = f"s{next(_ids)}"
            marker = orjson.dumps([{"sid": sid, "id": f"{sid}.m", "kind": SENTINEL}]).decode()
            if not self._run(handle, SENTINEL, marker, f'"id":"{sid}.', []):
                raise EngineError("no rule fired for a fact; the sentinel rule is missing")
        self._sessions[handle] = (sid, held + adding)
        return sid

    def _match_session(
        self, handle: int, kind: str, facts: Sequence[Mapping[str, Any]], fired: list[set[str]]
    ) -> None:
        """The facts asserted in the ruleset's session, each with a unique id, and their rules
        run (names added to `fired`). They stay there (one-fact patterns: no later fact matches
        with them) until the session is full: cheaper than retracting each call's facts (pk
        transfers: 1.3 µs a fact). On any failure the session is deleted and made again."""
        with _LOCK:
            sid = self._session(handle, len(facts))
            call = f"{sid}.{next(_ids)}"
            payload = session_json(sid, call, kind, facts)
            try:
                self._run(handle, kind, payload, f'"id":"{call}.', fired)
            except BaseException:
                del self._sessions[handle]
                with contextlib.suppress(Exception):
                    _engine.delete_state(handle, sid)  # an action ran in it: safe
                raise

    def _run(self, handle: int, kind: str, text: str, prefix: str, fired: list[set[str]]) -> bool:
        """Assert facts, run their rules' actions (each name to its fact's set): any ran?"""
        try:
            code, state = _engine.assert_facts(handle, text)
        except Exception as exc:
            raise EngineError(f"durable-rules refused a {kind} fact: {exc}") from exc
        if code not in (0, 1):  # 1: a fact matched no rule; 2: a duplicate id (ids are unique)
            raise EngineError(f"durable-rules returned code {code} for a {kind} fact")
        result = _engine.start_action_for_state(handle, state)
        ran = False
        while result:
            ran = True
            name, index = _fired(result[1], prefix)
            if index is not None:
                fired[index].add(name)
            nxt = _engine.complete_and_start_action(handle, state)
            result = (None, nxt) if nxt else None
        return ran

    def close(self) -> None:
        with _LOCK:
            self._closed = True
            for handle, (sid, _) in self._sessions.items():  # an action ran in each: safe
                _engine.delete_state(handle, sid)
            self._sessions.clear()
            while self._handles:
                _engine.delete_ruleset(self._handles.pop())

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass


def session_json(sid: str, call: str, kind: str, facts: Sequence[Mapping[str, Any]]) -> str:
    """One call's facts as durable-rules reads them: each with the session id, its own id
    (`CALL.i`) and its kind, compact (`_fired` finds the id by that layout; durable-rules gives
    each fact back as it was written)."""
    messages: list[dict[str, Any]] = []
    for i, fact in enumerate(facts):
        ids = {"sid": sid, "id": f"{call}.{i}", "kind": kind}
        message = dict(ids)  # the ids first (found early in an action's text) ...
        message.update(fact)
        message.update(ids)  # ... and never replaced by a field of the fact
        messages.append(message)
    if all(_plain_fact(m) for m in messages):
        try:
            return orjson.dumps(messages).decode()
        except (orjson.JSONEncodeError, TypeError):  # an int beyond 64 bits, a str subclass
            pass
    return "[" + ",".join(map(to_json, messages)) + "]"


def _fired(text: str, prefix: str) -> tuple[str, int | None]:
    """The rule name and the fact's position in its session from one action's JSON text,
    `{"NAME":{"m":{"sid":"s1","id":"s1.7",...}}}` (None for the session's marker); `prefix`
    is `"id":"SID.`."""
    at = text.find(prefix)
    if at < 0:  # not the layout durable-rules writes: decode it properly
        frame = json.loads(text)
        name = next(iter(frame))
        position = str(frame[name]["m"]["id"]).rsplit(".", 1)[1]
    else:
        name = text[2 : text.index('"', 2)]
        start = at + len(prefix)
        position = text[start : text.index('"', start)]
    return name, None if position == "m" else int(position)


_ACCEPTED: dict[str, bool] = {}  # pattern text -> verdict (compiling a new date re-asks)
_ACCEPTED_MAX = 8192
_ACCEPTED_LOCK = threading.Lock()


def accepts(kind: str, patterns: Iterable[dict[str, Any]]) -> bool:
    """Whether durable-rules accepts these patterns, tried in a throwaway ruleset: a guard
    against limits of the C engine that the compiler's own checks do not know about. The
    verdict depends only on the patterns, so it is remembered by their text: most rules lower
    to the same patterns on every date."""
    patterns = list(patterns)
    try:
        key = f"{kind}\0{to_json(patterns)}"
    except EngineError:
        return False
    verdict = _ACCEPTED.get(key)
    if verdict is None:
        try:
            Matcher([MatchRule(f"probe|{i}", kind, p) for i, p in enumerate(patterns)]).close()
            verdict = True
        except EngineError:
            verdict = False
        with _ACCEPTED_LOCK:
            if len(_ACCEPTED) >= _ACCEPTED_MAX:
                _ACCEPTED.clear()
            _ACCEPTED[key] = verdict
    return verdict


def _conjuncts(pattern: dict[str, Any]) -> list[dict[str, Any]]:
    if not pattern:
        return []
    if set(pattern) == {"$and"}:
        return list(pattern["$and"])
    return [pattern]
