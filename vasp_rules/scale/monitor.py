"""Continuous monitoring: transfers decided as they arrive, against the window before them.

A batch run decides nothing until its input ends. A `Monitor` decides each transfer when it
arrives, in a batch of the transfers it still holds: those executed within `window` (24 hours,
TR-10's structuring window) before the latest one seen, plus the `lateness` allowed to a
transfer that arrives out of order. Only the transfers the new one's batch rules may visit are
put beside it (groups.py: its originator's component, for TR-10), so a quiet originator costs
no more than its own few transfers.

A later transfer may complete a group an earlier one belongs to (TR-10 refers every transfer of
a structuring group, not only the one that completes the sum). The earlier members named in the
new decision's cross-document facts (`batch.transfer[ID]...`) that are not referred yet are
decided again beside the new one; those now referred are reported in a `GroupAlert` naming the
whole group. When the new transfer links originators the window held apart (a `linked(...)`
chain), every member of the joined component is decided again. Adding a transfer to a batch only
adds to its sums and links, so a transfer once referred stays referred: each is reported once,
in its own decision or in one alert.

Memory is bounded by the window: a transfer leaves the state once it is older than the latest
seen by more than window + lateness, when no group can still gain it. One older than the latest
by more than `lateness` on arrival is `Late`: reported, not decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from ..core.canonical import canonical_json
from ..core.docfiles import InputFileError, json_line_document
from ..model.decision import Decision
from ..runtime.evaluate import Item
from .chunks import Invalid, decide_chunk, grouping, validate
from .groups import DocKeys, Grouping, Neighbours
from .stream import parse_line

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

WINDOW = timedelta(hours=24)
LATENESS = timedelta(minutes=60)
KIND = "transfer"
STATE_FORMAT = 1
#: a fact a cross-document finding read on another document of the batch
_BATCH_FACT = re.compile(r"^batch\.transfer\[(.*?)\]\.")


@dataclass(frozen=True)
class Decided:
    """A transfer decided on arrival (`document`: its input as read, for the audit log)."""

    line: int
    decision: Decision
    document: Any

    def to_json(self) -> str:
        return self.decision.to_json(indent=None)


@dataclass(frozen=True)
class GroupAlert:
    """A transfer's arrival (`completed_by`, on `line`) completed a group of `rule_id`:
    `newly_referred` are the earlier transfers it refers for the first time (with their new
    `decisions` and input documents), `members` every transfer of their originator referred
    by the rule within the window of them or of the new one (ids, in execution order). The new
    transfer is a member, unless it joined the group's transfers into one originator (a
    `linked(...)` chain) without being in the group itself."""

    line: int
    rule_id: str
    completed_by: str
    as_of: date
    members: list[str]
    newly_referred: list[str]
    decisions: list[tuple[Decision, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return canonical_json(
            {
                "alert": "group",
                "line": self.line,
                "rule_id": self.rule_id,
                "completed_by": self.completed_by,
                "as_of": self.as_of.isoformat(),
                "members": self.members,
                "newly_referred": self.newly_referred,
            }
        )


@dataclass(frozen=True)
class Late:
    """A transfer older than the latest seen by more than the lateness bound: not decided."""

    line: int
    transfer_id: str
    executed_at: datetime
    latest: datetime
    lateness: timedelta

    def to_json(self) -> str:
        minutes = self.lateness.total_seconds() / 60
        return canonical_json(
            {
                "late": True,
                "line": self.line,
                "transfer_id": self.transfer_id,
                "executed_at": self.executed_at.isoformat(),
                "latest_seen": self.latest.isoformat(),
                "error": f"executed {self.executed_at.isoformat()}, more than {minutes:g} "
                f"minutes before the latest transfer seen ({self.latest.isoformat()}): "
                "not decided (evaluate it in a batch with the transfers around it)",
            }
        )


@dataclass(frozen=True)
class BadLine:
    """An input line that is not a valid transfer."""

    line: int
    message: str

    def to_json(self) -> str:
        return canonical_json({"line": self.line, "error": self.message})


Event = Decided | GroupAlert | Late | BadLine


@dataclass
class _Entry:
    """A transfer the monitor holds: its place in the stream and the rules that refer it."""

    seq: int
    line: int
    at: datetime
    item: Item
    keys: DocKeys
    text: str
    flagged: set[str] = field(default_factory=set)
    joins: bool = False  # it joined components the window held apart


class _WindowIndex(Neighbours):
    """The groups index of groups.Neighbours, kept up to date as transfers come and go."""

    def __init__(self) -> None:
        super().__init__([])
        self._held: dict[int, DocKeys] = {}
        self._keys = self._held  # type: ignore[assignment]  # read by position, as a list is

    def add(self, seq: int, keys: DocKeys) -> None:
        self._held[seq] = keys
        self.by_kind.setdefault(keys.kind, []).append(seq)
        for g in keys.links:
            self.linked.setdefault(g, []).append(seq)
        for g in keys.publishes:
            self.members.setdefault(g, []).append(seq)
        for n in keys.wild:
            self.wild.setdefault(n, []).append(seq)

    def remove(self, seq: int) -> None:
        keys = self._held.pop(seq)
        _drop(self.by_kind, keys.kind, seq)
        for g in keys.links:
            _drop(self.linked, g, seq)
        for g in keys.publishes:
            _drop(self.members, g, seq)
        for n in keys.wild:
            _drop(self.wild, n, seq)

    def joins(self, keys: DocKeys) -> bool:
        """Whether a new document with these link keys joins components held apart so far."""
        holders = [self.linked.get(g, []) for g in keys.links]
        holders = [h for h in holders if h]
        if len(holders) < 2:
            return False
        first = self._components({holders[0][0]})
        return any(h[0] not in first for h in holders[1:])


def _drop(index: dict[Any, list[int]], key: Any, seq: int) -> None:
    """Remove `seq` from one key's list (the oldest are first: eviction finds them early)."""
    members = index.get(key)
    if members is None:
        return
    members.remove(seq)
    if not members:
        del index[key]


class Monitor:
    """Decides transfers on arrival (`push`) with the window state described above. One
    instance is one stream's state: not thread-safe (the service holds a lock around it)."""

    def __init__(
        self,
        pack: RulePack,
        *,
        as_of: date | None = None,
        window: timedelta = WINDOW,
        lateness: timedelta = LATENESS,
        engine: str = "durable",
    ) -> None:
        if window <= timedelta(0) or lateness < timedelta(0):
            raise ValueError("the window must be positive and the lateness not negative")
        self.pack = pack
        self.as_of = as_of
        self.window = window
        self.lateness = lateness
        self.engine = engine
        self.latest: datetime | None = None
        self._entries: dict[int, _Entry] = {}
        self._by_id: dict[str, list[int]] = {}
        self._order: list[tuple[datetime, int]] = []  # heap: the oldest held transfer first
        self._index = _WindowIndex()
        self._next = 0
        self._days: dict[date, tuple[Grouping, frozenset[str]]] = {}

    @property
    def held(self) -> int:
        """How many transfers the state holds now (the window's, not the stream's)."""
        return len(self._entries)

    # -- arrival ---------------------------------------------------------------------------
    def push(self, text: str | bytes, line: int) -> list[Event]:
        """Decide one input line (one JSON document) on arrival; the events it causes, in
        order: its decision (or why it was not decided), then any group alerts."""
        try:
            raw = json_line_document(text)
        except InputFileError as exc:
            return [BadLine(line, str(exc))]
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        found = validate(raw, line)
        if isinstance(found, Invalid):
            return [BadLine(line, found.message())]
        if found.kind != KIND:
            return [BadLine(line, f"the monitor decides transfers; this line holds a {found.kind}")]
        at: datetime = found.model.executed_at  # type: ignore[attr-defined]
        if self.latest is not None and at < self.latest - self.lateness:
            return [Late(line, found.id, at, self.latest, self.lateness)]
        self.latest = at if self.latest is None else max(self.latest, at)
        self._evict()  # before deciding: what it forgets can be in no group with this one
        entry = self._hold(found, at, line, source.strip())
        events: list[Event] = []
        day = self._day(entry)
        decision = self._decide([entry], day)[0]
        events.append(Decided(line, decision, raw))
        tracked = self._rules(day)
        named: set[str] = set()
        for finding in decision.findings:
            if finding.rule_id in tracked:
                entry.flagged.add(finding.rule_id)
                named.update(_named(finding.facts))
        events.extend(self._complete(entry, named, tracked))
        return events

    def _hold(self, item: Item, at: datetime, line: int, text: str) -> _Entry:
        seq = self._next
        self._next += 1
        day = self.as_of or at.date()
        keys = self._grouping(day).keys(item)
        entry = _Entry(seq, line, at, item, keys, text)
        entry.joins = self._index.joins(keys)
        self._entries[seq] = entry
        self._by_id.setdefault(item.id, []).append(seq)
        heappush(self._order, (at, seq))
        self._index.add(seq, keys)
        return entry

    def _complete(self, new: _Entry, named: set[str], tracked: frozenset[str]) -> list[Event]:
        """Decide again the held transfers the new one may have put in a group; alert on
        those it refers for the first time."""
        if not tracked:
            return []
        if new.joins:  # it joined components: all of them may change
            near = self._index.of([new.seq])
        else:
            near = [s for i in named for s in self._by_id.get(i, ()) if s != new.seq]
        candidates = [
            self._entries[s]
            for s in sorted(set(near))
            if s in self._entries and not tracked <= self._entries[s].flagged
        ]
        if not candidates:
            return []
        fresh: dict[str, list[tuple[_Entry, Decision]]] = {}
        by_day: dict[date, list[_Entry]] = {}
        for c in candidates:
            by_day.setdefault(self._day(c), []).append(c)
        for day, group in sorted(by_day.items()):
            for c, decision in zip(group, self._decide(group, day), strict=True):
                for finding in decision.findings:
                    rule = finding.rule_id
                    if rule in tracked and rule not in c.flagged:
                        c.flagged.add(rule)
                        fresh.setdefault(rule, []).append((c, decision))
        alerts: list[Event] = []
        for rule, found in sorted(fresh.items()):
            anchors = [new.at] + [c.at for c, _ in found]
            members = [
                self._entries[s]
                for s in [new.seq, *self._index.of([new.seq])]
                if rule in self._entries[s].flagged
                and any(abs(self._entries[s].at - a) <= self.window for a in anchors)
            ]
            members.sort(key=lambda e: (e.at, e.seq))
            alerts.append(
                GroupAlert(
                    new.line,
                    rule,
                    new.item.id,
                    self._day(new),
                    [e.item.id for e in members],
                    [c.item.id for c, _ in sorted(found, key=lambda p: (p[0].at, p[0].seq))],
                    [(d, parse_line(c.text)) for c, d in found],
                )
            )
        return alerts

    def _decide(self, entries: list[_Entry], day: date) -> list[Decision]:
        """Decisions on held transfers, each batch made of them and what they may visit."""
        own = [(e.seq, e.item) for e in entries]
        near = self._index.of([e.seq for e in entries])
        beside = [(s, self._entries[s].item) for s in near]
        decided = decide_chunk(self.pack, own, beside, day, self.engine, True, False)
        return [d for _, d in decided]

    def _evict(self) -> None:
        """Forget transfers no group can gain any more (older than window + lateness)."""
        assert self.latest is not None
        cutoff = self.latest - self.lateness - self.window
        while self._order and self._order[0][0] < cutoff:
            _, seq = heappop(self._order)
            entry = self._entries.pop(seq)
            self._index.remove(seq)
            ids = self._by_id[entry.item.id]
            ids.remove(seq)
            if not ids:
                del self._by_id[entry.item.id]

    # -- dates -----------------------------------------------------------------------------
    def _day(self, entry: _Entry) -> date:
        """The date rules are taken in force on: `as_of`, or the transfer's own date."""
        return self.as_of or entry.at.date()

    def _grouping(self, day: date) -> Grouping:
        return self._for_day(day)[0]

    def _rules(self, day: date) -> frozenset[str]:
        """Rules in force on `day` that relate a transfer to other transfers."""
        return self._for_day(day)[1]

    def _for_day(self, day: date) -> tuple[Grouping, frozenset[str]]:
        hit = self._days.get(day)
        if hit is None:
            if len(self._days) > 8:  # days go by: keep the few around the stream's position
                self._days.clear()
            plan = self.pack.batch_plan(day)
            rules = frozenset(a.rule_id for a in plan.accesses if a.owner == a.kind == KIND)
            hit = self._days[day] = (grouping(self.pack, day), rules)
        return hit

    # -- checkpoints -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON data (see `restore`)."""
        return {
            "format": STATE_FORMAT,
            "pack_sha256": self.pack.sha256,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "window_seconds": self.window.total_seconds(),
            "lateness_seconds": self.lateness.total_seconds(),
            "latest": None if self.latest is None else self.latest.isoformat(),
            "next": self._next,
            "held": [
                [e.seq, e.line, e.text, sorted(e.flagged)]
                for e in sorted(self._entries.values(), key=lambda e: e.seq)
            ],
        }

    @classmethod
    def restore(cls, pack: RulePack, state: Mapping[str, Any], engine: str = "durable") -> Monitor:
        """A monitor continuing from a `snapshot`; raises ValueError when the snapshot is of
        another format or pack."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"state format {state.get('format')!r} is not {STATE_FORMAT}")
        if state.get("pack_sha256") != pack.sha256:
            raise ValueError("the state was made with another rule pack (sha256 differs)")
        as_of = state["as_of"]
        monitor = cls(
            pack,
            as_of=None if as_of is None else date.fromisoformat(as_of),
            window=timedelta(seconds=state["window_seconds"]),
            lateness=timedelta(seconds=state["lateness_seconds"]),
            engine=engine,
        )
        for seq, line, text, flagged in state["held"]:
            item = validate(parse_line(text), line)
            if isinstance(item, Invalid):
                raise ValueError(f"the state holds an invalid transfer: {item.message()}")
            monitor._next = seq
            at: datetime = item.model.executed_at  # type: ignore[attr-defined]
            entry = monitor._hold(item, at, line, text)
            entry.flagged.update(flagged)
        monitor._next = state["next"]
        latest = state["latest"]
        monitor.latest = None if latest is None else datetime.fromisoformat(latest)
        return monitor


def _named(facts: Mapping[str, Any]) -> Iterable[str]:
    """Ids of the other transfers a finding read facts of."""
    for path in facts:
        m = _BATCH_FACT.match(path)
        if m is not None:
            yield m.group(1)


__all__ = ["LATENESS", "WINDOW", "BadLine", "Decided", "Event", "GroupAlert", "Late", "Monitor"]
