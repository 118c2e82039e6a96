"""Which values of a logged document and of its decision are personal data, and whose.

The decision log stores a document and its decision with every personal value replaced by
:data:`PLACEHOLDER`; the values themselves are kept apart, grouped by data subject, so that they
can be encrypted under a key per subject and erased by destroying that key (docs/audit.md).
This module is the pure half of that: :func:`split` finds the personal values and their
subjects, :func:`join` puts them back exactly, :func:`identifiers_of` reads what an operator
types to name a subject. No cryptography and no storage here.

What is personal (ENTITIES.md's fields; :mod:`vasp_rules.audit.personal_fields` describes them
kind by kind):

- a person's name, identity numbers (CNIC, NICOP, passport, national id), customer id inside a
  person, date and place of birth, address, wallets and accounts, and the reference of a case
  pending against a declarant; the persons are ``firm.people[i]`` of a licence application, the
  customer, the declarant (whose holdings' wallets are theirs), a transfer's originator,
  beneficiary and their joint holders, and the persons of an IVMS101 envelope's parties;
- any other text of the document (a firm's legal name, a regulator, a custodian) that quotes
  one of those values, raw or canonical spelling, ignoring case (values shorter than 3
  characters are not looked for);
- in the decision: the values of facts (and of an explanation's reads) taken from a personal
  field, also of another document of the batch, the names of ``persons``, and every other
  string that quotes a personal value (reasons, remediations, explanations). Outcome, rule ids
  and versions, titles, citations, the keys of facts, pack, engine, notice, dates, amounts, the
  document's kind, id and input digest stay public.

docs/personal-data.md says the same for operators.

The document's own id stays public even where it is a customer id (``customer.customer_id``):
the log keeps it in a clear column to find records by. A structure this module does not know
is sealed whole but for a few obviously public keys, under one subject for the document.
Blank text (ENTITIES.md: no value) is left as it is and names no subject.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple

from vasp_rules.audit.personal_fields import (
    FALLBACK,
    ID_FIELD,
    IVMS_ENVELOPE,
    IVMS_PERSON,
    KINDS,
    NADRA_LOOSE,
    OPEN,
    PERSONAL,
    TEXT,
    UNKNOWN,
    Generic,
    Leaf,
    ListOf,
    Obj,
    Path,
    Person,
    identifiers,
    nadra_dashed,
    nadra_digits,
    node_at,
)
from vasp_rules.core.docpath import PathError, format_path, parse_path
from vasp_rules.entities.common import is_blank
from vasp_rules.entities.identity import canonical_address

__all__ = [
    "PLACEHOLDER",
    "Item",
    "Part",
    "Split",
    "Subject",
    "identifiers_of",
    "join",
    "split",
]

#: What a redacted document or decision shows in place of a personal value.
PLACEHOLDER: Final = "[personal data]"

#: Personal values shorter than this are not looked for inside other text (too many false hits).
MIN_QUOTE: Final = 3


@dataclass(frozen=True)
class Subject:
    """A data subject of a document: its role there, its identifiers and its name."""

    role: str
    identifiers: tuple[tuple[str, str], ...]
    name: str | None


@dataclass(frozen=True)
class Item:
    """One personal value: where it is (``input`` or ``decision``) and its original value."""

    where: str
    path: Path
    value: Any


@dataclass(frozen=True)
class Part:
    """The personal values that belong to exactly these subjects (indexes into
    :attr:`Split.subjects`): erasing any one of them must erase the part."""

    subjects: tuple[int, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Split:
    """A document and its decision without their personal values, and those values."""

    input: dict[str, Any]
    decision: dict[str, Any]
    subjects: tuple[Subject, ...]
    parts: tuple[Part, ...]


# --- identifiers ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[!-~]+")


def identifiers_of(value: str) -> list[tuple[str, str]]:
    """The (kind, canonical value) identifiers an operator-typed ``--subject VALUE`` may mean:
    a CNIC or NICOP with or without dashes, a passport in any case, a wallet in any case its
    network ignores, a customer, national id or account number as written. Every candidate is
    returned; a key store looks each up. Blank text names nobody: []."""
    core = value.strip()
    if not core or is_blank(core):
        return []
    out: list[tuple[str, str]] = []
    if NADRA_LOOSE.fullmatch(core):
        digits = nadra_digits(core)
        out += [("cnic", digits), ("nicop", digits)]
        out += [("national_id", v) for v in (core, digits, nadra_dashed(digits))]
    out += [("national_id", core), ("customer_id", core)]
    if _TOKEN.fullmatch(core):
        out.append(("passport", core.upper()))
        address = canonical_address(core)
        out += [("wallet", address), ("account", address)]
    return list(dict.fromkeys(out))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _spellings(value: str) -> set[str]:
    """The spellings of a personal value another text may quote, case folded (which also
    gives hex and bech32 wallets their canonical case), long enough to be looked for."""
    core = value.strip()
    forms = {core}
    if not core.isascii():
        forms.add(unicodedata.normalize("NFKC", core).strip())
    if "  " in core or not core.isprintable():
        forms.add(" ".join(core.split()))
    if NADRA_LOOSE.fullmatch(core):
        digits = nadra_digits(core)
        forms |= {digits, nadra_dashed(digits)}
    return {f.casefold() for f in forms if len(f) >= MIN_QUOTE}


# --- split --------------------------------------------------------------------------------------


class _Acc:
    """A subject being gathered."""

    __slots__ = ("identifiers", "inherit_from", "name", "role")

    def __init__(self, role: str, inherit_from: int | None) -> None:
        self.role = role
        self.identifiers: list[tuple[str, str]] = []
        self.name: str | None = None
        self.inherit_from = inherit_from


_Slot = tuple[Any, Any]  # (container, key): where a value sits in a redacted copy


class _Splitter:
    def __init__(self, info: _DocInfo) -> None:
        self.info = info
        self.subjects: list[_Acc] = []
        self.by_role: dict[str, int] = {}
        # (where, path, original value, subjects, slot in the copy)
        self.sealed: list[tuple[str, Path, Any, set[int], _Slot]] = []
        self.paths: dict[Path, set[int]] = {}  # personal paths of the input
        self.prefixes: set[Path] = set()  # those paths and the containers that hold them
        self.quotes: dict[str, set[int]] = {}  # case-folded spelling -> subjects
        self.candidates: list[tuple[str, Path, str, _Slot]] = []  # text to look into
        self.public_values: set[str] = set()

    # -- subjects ----------------------------------------------------------------------------
    def subject(self, role: str, inherit_from: int | None = None) -> int:
        index = self.by_role.get(role)
        if index is None:
            index = self.by_role[role] = len(self.subjects)
            self.subjects.append(_Acc(role, inherit_from))
        return index

    def seal(
        self, where: str, path: Path, value: Any, who: set[int], slot: _Slot, *, quote: bool
    ) -> None:
        self.sealed.append((where, path, value, who, slot))
        if where == "input":
            self.paths[path] = who
        text = value if isinstance(value, str) else str(value) if _is_number(value) else None
        if quote and text is not None:
            for spelling in _spellings(text):
                if spelling not in self.public_values:
                    self.quotes.setdefault(spelling, set()).update(who)

    def personal(
        self,
        path: Path,
        value: Any,
        slot: _Slot,
        owner: int,
        how: str | None,
        *,
        name: bool = False,
        parent: Mapping[str, Any] | None = None,
    ) -> None:
        """Seal a personal leaf of the input, of subject `owner` (blank text and null are no
        value; a number where an identifier belongs is read as its text)."""
        if value is None or (isinstance(value, str) and is_blank(value)):
            return
        acc = self.subjects[owner]
        text = value if isinstance(value, str) else str(value) if _is_number(value) else None
        if text is not None and how is not None:
            acc.identifiers += identifiers(how, text, parent or {})
        if isinstance(value, str) and name and acc.name is None:
            acc.name = unicodedata.normalize("NFKC", value).strip()
        self.seal("input", path, value, {owner}, slot, quote=True)

    # -- the input ---------------------------------------------------------------------------
    def walk(self, node: Any, value: Any, path: Path, slot: _Slot, owner: int | None) -> None:
        if isinstance(node, Leaf):
            self.leaf(node, value, path, slot, owner)
        elif isinstance(node, Obj):
            if not isinstance(value, dict):
                return self.generic(UNKNOWN, value, path, slot, owner, None)
            for key, item in value.items():
                sub = node.fields.get(key)
                if sub is OPEN and not isinstance(item, (dict, list)):
                    continue  # the common case, without a call
                if type(sub) is Leaf:
                    self.leaf(sub, item, (*path, key), (value, key), owner)
                elif sub is None:
                    self.generic(UNKNOWN, item, (*path, key), (value, key), owner, value)
                else:
                    self.walk(sub, item, (*path, key), (value, key), owner)
        elif isinstance(node, ListOf):
            if not isinstance(value, list):
                return self.walk(node.item, value, path, slot, owner)
            if node.item is OPEN and not any(isinstance(v, (dict, list)) for v in value):
                return None
            for i, item in enumerate(value):
                self.walk(node.item, item, (*path, i), (value, i), owner)
        elif isinstance(node, Person):
            index = next((p for p in reversed(path) if isinstance(p, int)), 0)
            who = self.subject(node.role.format(i=index), owner if node.inherit else None)
            self.walk(node.body, value, path, slot, who)
        elif isinstance(node, Generic):
            self.generic(node, value, path, slot, owner, None)
        else:  # Free
            self.scan(value, path, slot, "input")
        return None

    def leaf(self, node: Leaf, value: Any, path: Path, slot: _Slot, owner: int | None) -> None:
        if isinstance(value, (dict, list)) and node.mode != PERSONAL:
            return self.generic(UNKNOWN, value, path, slot, owner, None)
        if node.mode == PERSONAL:
            who = self.subject(node.owner) if node.owner else self._owner(owner)
            parent = slot[0] if isinstance(slot[0], dict) else None
            self.personal(path, value, slot, who, node.ident, name=node.name, parent=parent)
        elif node.mode == TEXT and isinstance(value, str):
            self.candidates.append(("input", path, value, slot))
        elif node.ident is not None and isinstance(value, str) and owner is not None:
            self.subjects[owner].identifiers += identifiers(node.ident, value, {})
        return None

    def _owner(self, owner: int | None) -> int:
        return owner if owner is not None else self.subject(FALLBACK)

    def generic(
        self,
        node: Generic,
        value: Any,
        path: Path,
        slot: _Slot,
        owner: int | None,
        parent: Mapping[str, Any] | None,
        how: str | None = None,
    ) -> None:
        """Seal every string leaf of a free structure but the public ones (see Generic)."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and isinstance(key, str) and node.public(key, item):
                    continue
                self.generic(
                    node, item, (*path, key), (value, key), owner, value, node.idents.get(key)
                )
                if key in node.names and isinstance(item, str) and not is_blank(item):
                    acc = self.subjects[self._owner(owner)]
                    acc.name = acc.name or unicodedata.normalize("NFKC", item).strip()
            if node is IVMS_PERSON and "primaryIdentifier" in value:
                self._ivms_name(value, self._owner(owner))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.generic(node, item, (*path, i), (value, i), owner, parent, how)
        elif isinstance(value, str) or (how is not None and _is_number(value)):
            self.personal(path, value, slot, self._owner(owner), how, parent=parent)

    def _ivms_name(self, ident: Mapping[str, Any], owner: int) -> None:
        """An IVMS101 natural person's name as the mapped transfer writes it."""
        parts = [ident.get("secondaryIdentifier"), ident.get("primaryIdentifier")]
        full = " ".join(" ".join(p.split()) for p in parts if isinstance(p, str)).strip()
        if len(full) >= MIN_QUOTE:
            self.quotes.setdefault(full.casefold(), set()).add(owner)
            acc = self.subjects[owner]
            acc.name = acc.name or unicodedata.normalize("NFKC", full)

    # -- merging: two persons with one identifier are one subject -----------------------------
    def merge(self) -> None:
        for acc in self.subjects:  # a joint holder holds the party's wallets and accounts
            if acc.inherit_from is not None:
                parent = self.subjects[acc.inherit_from]
                acc.identifiers += [i for i in parent.identifiers if i[0] in ("wallet", "account")]
        root = list(range(len(self.subjects)))

        def find(i: int) -> int:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        seen: dict[tuple[str, str], int] = {}
        for index, acc in enumerate(self.subjects):
            for ident in acc.identifiers:
                other = seen.setdefault(ident, index)
                a, b = find(other), find(index)
                if a != b:
                    root[max(a, b)] = min(a, b)
        if all(find(i) == i for i in range(len(root))):
            return
        for index, acc in enumerate(self.subjects):
            top = find(index)
            if top != index:
                into = self.subjects[top]
                into.identifiers += acc.identifiers
                into.name = into.name or acc.name
        remap = {i: find(i) for i in range(len(root))}
        for entry in self.sealed:
            moved = {remap[s] for s in entry[3]}
            entry[3].clear()
            entry[3].update(moved)
        for who in self.quotes.values():
            moved = {remap[s] for s in who}
            who.clear()
            who.update(moved)

    # -- the decision ------------------------------------------------------------------------
    def fact(self, value: Any, path: Path, slot: _Slot, where: _Where | None) -> None:
        """A fact's value (or a part of it) read from `where` in the document or the batch."""
        if where is not None and where.is_input:
            who = self.paths.get(where.path)
            if who is not None:
                if value is not None and not (isinstance(value, str) and is_blank(value)):
                    self.seal("decision", path, value, set(who), slot, quote=False)
                return
        elif where is not None:
            spec = node_at(where.kind, where.path)
            if spec is not None and isinstance(spec[0], Leaf) and spec[0].mode == PERSONAL:
                return self.foreign(value, path, slot, where, (spec[0], spec[1]))
        if isinstance(value, dict):
            for key, item in value.items():
                sub = where.child(key) if where is not None else None
                self.fact(item, (*path, key), (value, key), sub)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                sub = where.child(i) if where is not None else None
                self.fact(item, (*path, i), (value, i), sub)
        elif isinstance(value, str):
            self.candidates.append(("decision", path, value, slot))
        return None

    def foreign(
        self, value: Any, path: Path, slot: _Slot, where: _Where, spec: tuple[Leaf, str]
    ) -> None:
        """A personal value of another document of the batch, or of the mapped transfer of an
        IVMS101 envelope: its subject is the person it belongs to there."""
        if value is None or (isinstance(value, str) and is_blank(value)):
            return
        leaf, role = spec
        who = self.quoted(value) if isinstance(value, str) else set()
        if where.batch is not None:
            index = self.subject(f"{where.batch}.{role}")
            if isinstance(value, str) and leaf.ident is not None:
                parent = {"type": None}
                self.subjects[index].identifiers += identifiers(leaf.ident, value, parent)
            who.add(index)
        elif not who:
            who = {i for i, acc in enumerate(self.subjects) if acc.role.startswith(role)}
            who = who or {self.subject(FALLBACK)}
        self.seal("decision", path, value, who, slot, quote=True)

    def quoted(self, text: str) -> set[int]:
        folded = text.casefold()
        who: set[int] = set()
        for spelling, subjects in self.quotes.items():
            if spelling in folded:
                who |= subjects
        return who

    def scan(self, value: Any, path: Path, slot: _Slot, where: str = "decision") -> None:
        """Text that is public unless it quotes a personal value. In the decision, a member
        keyed by a path of the document (facts, the reads of an explanation) is read as that
        field."""
        if isinstance(value, dict):
            for key, item in value.items():
                located = where == "decision" and isinstance(key, str)
                field = self.info.locate(key) if located else None
                if field is not None and self._holds_personal(field):
                    self.fact(item, (*path, key), (value, key), field)
                else:
                    self.scan(item, (*path, key), (value, key), where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.scan(item, (*path, i), (value, i), where)
        elif isinstance(value, str):
            self.candidates.append((where, path, value, slot))

    def _holds_personal(self, where: _Where) -> bool:
        if where.is_input:
            return where.path in self.prefixes
        return node_at(where.kind, where.path) is not None

    def look_for_quotes(self) -> None:
        """Seal every candidate text that quotes a personal value (one pass over all of them
        first, so that the usual document, which quotes few, costs little)."""
        if not self.quotes or not self.candidates:
            return
        everything = "\x00".join(text for _, _, text, _ in self.candidates).casefold()
        present = {s: who for s, who in self.quotes.items() if s in everything}
        if not present:
            return
        for where, path, text, slot in self.candidates:
            folded = text.casefold()
            who: set[int] = set()
            for spelling, subjects in present.items():
                if spelling in folded:
                    who |= subjects
            if who:
                self.seal(where, path, text, who, slot, quote=False)


class _Where(NamedTuple):
    """Where a fact was read: this input (`is_input`), or a person's field in another document
    of the batch (`batch`: ``batch.KIND[ID]``) or in the transfer an envelope maps to."""

    kind: str
    path: Path
    is_input: bool
    batch: str | None

    def child(self, key: str | int) -> _Where:
        return self._replace(path=(*self.path, key))


_BATCH = re.compile(r"batch\.([a-z_]+)\[([^\]]*)\]\.(.+)")


class _DocInfo(NamedTuple):
    kind: str | None
    document_id: str | None
    envelope: bool

    def locate(self, key: str) -> _Where | None:
        batch = None
        kind, text = self.kind, key
        m = _BATCH.fullmatch(key)
        if m is not None:
            kind, doc_id, text = m.group(1), m.group(2), m.group(3)
            if kind != self.kind or doc_id != self.document_id or self.envelope:
                batch = f"batch.{kind}[{doc_id}]"
        if kind is None:
            return None
        path = _parse(text)
        if path is None:
            return None
        return _Where(kind, path, batch is None and not self.envelope, batch)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Path | None:
    """A fact's path (they repeat from decision to decision: kept parsed)."""
    try:
        return parse_path(text)
    except PathError:
        return None


#: decision members that are public whatever they say (pack text, ids, digests, dates)
_PUBLIC_DECISION = frozenset(
    {
        "as_of", "document_kind", "document_id", "input_sha256", "outcome", "no_rules_in_force",
        "regime_starts_on", "rulepack", "engine", "notice", "rules_evaluated",
    }
)  # fmt: skip
_PUBLIC_FINDING = frozenset({"rule_id", "rule_version", "outcome", "citation", "title"})


def _copy(value: Any) -> Any:
    """A copy of the containers of a JSON value (leaves are immutable and shared)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _document_info(document: Mapping[str, Any]) -> tuple[Any, _DocInfo]:
    kind = document.get("kind")
    if isinstance(kind, str) and kind in KINDS:
        doc_id = document.get(ID_FIELD[kind])
        return KINDS[kind], _DocInfo(kind, doc_id if isinstance(doc_id, str) else None, False)
    if "ivms101" in document and "kind" not in document:
        side = document.get("transfer")
        doc_id = side.get("transfer_id") if isinstance(side, Mapping) else None
        return IVMS_ENVELOPE, _DocInfo(
            "transfer", doc_id if isinstance(doc_id, str) else None, True
        )
    return Person(FALLBACK, UNKNOWN), _DocInfo(None, None, False)


def split(document: Mapping[str, Any], decision: Mapping[str, Any]) -> Split:
    """The document and decision with every personal value replaced by :data:`PLACEHOLDER`
    (new objects, key order kept), their data subjects, and the personal values grouped into
    parts by the exact set of subjects they belong to. ``join`` of the result gives back the
    originals exactly."""
    spec, info = _document_info(document)
    work = _Splitter(info)
    if info.document_id is not None:
        work.public_values = _spellings(info.document_id)
    redacted_input: dict[str, Any] = _copy(dict(document))
    holder = {"": redacted_input}
    work.walk(spec, redacted_input, (), (holder, ""), None)
    work.merge()
    work.prefixes = {path[:n] for path in work.paths for n in range(1, len(path) + 1)}

    redacted_decision: dict[str, Any] = _copy(dict(decision))
    for key, value in redacted_decision.items():
        slot = (redacted_decision, key)
        if key in _PUBLIC_DECISION:
            continue
        if key == "findings" and isinstance(value, list):
            for i, finding in enumerate(value):
                _finding(work, finding, ("findings", i), (value, i))
        elif key == "persons" and isinstance(value, list):
            for i, person in enumerate(value):
                _person(work, person, ("persons", i), (value, i), info)
        else:
            work.scan(value, (key,), slot)
    work.look_for_quotes()
    return _result(work, redacted_input, redacted_decision)


def _finding(work: _Splitter, finding: Any, path: Path, slot: _Slot) -> None:
    """A finding: rule id, version, outcome, title and citation are the pack's, public."""
    if not isinstance(finding, dict):
        return work.scan(finding, path, slot)
    for key, value in finding.items():
        if key in _PUBLIC_FINDING:
            continue
        work.scan(value, (*path, key), (finding, key))
    return None


def _person(work: _Splitter, person: Any, path: Path, slot: _Slot, info: _DocInfo) -> None:
    """A ``persons`` entry: its name is the person's at its path; role and path are public."""
    if not isinstance(person, dict):
        return work.scan(person, path, slot)
    where = info.locate(person["path"]) if isinstance(person.get("path"), str) else None
    for key, value in person.items():
        if key in ("role", "path"):
            continue
        if key == "name" and where is not None:
            work.fact(value, (*path, key), (person, key), where)
        else:
            work.scan(value, (*path, key), (person, key))
    return None


def _result(
    work: _Splitter, redacted_input: dict[str, Any], redacted_decision: dict[str, Any]
) -> Split:
    """Place the placeholders, drop subjects without data, group the items into parts."""
    used = sorted({s for entry in work.sealed for s in entry[3]})
    number = {old: new for new, old in enumerate(used)}
    subjects = tuple(
        Subject(
            role=acc.role,
            identifiers=tuple(dict.fromkeys(acc.identifiers)),
            name=acc.name,
        )
        for acc in (work.subjects[i] for i in used)
    )
    groups: dict[tuple[int, ...], list[Item]] = {}
    for where, path, value, who, (container, key) in work.sealed:
        container[key] = PLACEHOLDER
        key_of = tuple(sorted(number[s] for s in who))
        groups.setdefault(key_of, []).append(Item(where, path, value))
    parts = tuple(Part(key, tuple(items)) for key, items in sorted(groups.items()))
    return Split(redacted_input, redacted_decision, subjects, parts)


# --- join ---------------------------------------------------------------------------------------


def join(
    input: Mapping[str, Any], decision: Mapping[str, Any], items: Iterable[Item]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document and decision with the personal values of `items` put back (new objects,
    key order kept): the exact inverse of :func:`split` given all of its items. An item whose
    path is not in the redacted value raises ``ValueError`` naming it."""
    out = {"input": _copy(dict(input)), "decision": _copy(dict(decision))}
    for item in items:
        root = out.get(item.where)
        if root is None:
            raise ValueError(f"personal item for {item.where!r}: expected input or decision")
        if not item.path:
            raise ValueError(f"personal item of {item.where} has an empty path")
        container: Any = root
        try:
            for part in item.path[:-1]:
                container = container[part]
            last = item.path[-1]
            if isinstance(container, list) and not isinstance(last, int):
                raise TypeError
            container[last]  # noqa: B018 - the place must exist
            container[last] = item.value
        except (KeyError, IndexError, TypeError):
            raise ValueError(
                f"personal item at {item.where} {format_path(item.path)} does not fit the "
                "redacted value"
            ) from None
    return out["input"], out["decision"]
