"""Warnings `vasp-rules check` gives a pack that loads: things that are valid but most likely
not what the author meant.

- A rule reads an optional field, or a field of an optional object
  (`counterparty_vasp.jurisdiction`), and nothing in its condition tests its presence
  (`counterparty_vasp is present`). Every document without it then leaves the condition
  UNKNOWN and (unless the rule says `on_missing: skip`) asks for documents: one unguarded read
  made every unhosted transfer REQUIRE_DOCUMENTS, and neither the loader nor `analyze` told.
  The bundled pack tests every optional field it reads; a rule meant to ask for a missing fact
  says so with `X is missing`.
- A pack that keeps an installed pack's name and version while its files differ: its decisions
  would name a pack and version whose content they do not come from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel

from ..entities.registry import KINDS
from ..lang.ast import Expr, Path, Presence, Quantifier, children
from ..lang.types import model_fields
from ..pack.discovery import discover
from ..pack.loader import LoadedPack, LoadedRule, PackError, load_pack, pack_sha256


@dataclass(frozen=True)
class Problem:
    """One line of `check`'s report: where, which rule, what, and how bad."""

    file: str
    line: int | None
    column: int | None
    rule_id: str | None
    message: str
    severity: str  # "error" | "warning"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _root_reads(node: Expr, bound: frozenset[str]) -> Iterator[Path]:
    """The paths from the document's root read anywhere in `node` (quantifier variables,
    `as_of` and `batch.KIND` aside), Presence tests included."""
    if isinstance(node, Presence):
        yield from _root_reads(node.path, bound)
        return
    if isinstance(node, Path):
        if node.parts[0] not in bound and node.parts[0] not in ("as_of", "batch"):
            yield node
        return
    if isinstance(node, Quantifier):
        yield from _root_reads(node.source, bound)
        inner = bound | {node.var}
        for part in (node.where, node.body):
            if part is not None:
                yield from _root_reads(part, inner)
        return
    for child in children(node):
        yield from _root_reads(child, bound)


def _tested(node: Expr) -> set[tuple[str, ...]]:
    """The paths whose presence the condition tests (`is present` / `is missing`)."""
    out: set[tuple[str, ...]] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Presence):
            out.add(current.path.parts)
        stack.extend(children(current))
    return out


def _optional_steps(model: type[BaseModel], parts: tuple[str, ...]) -> Iterator[int]:
    """For each optional field the path passes through or ends on, how many parts name it
    (`counterparty_vasp.jurisdiction` -> 1, as `counterparty_vasp` may be absent)."""
    current: Any = model
    for i, part in enumerate(parts):
        info = model_fields(current).get(part) if current is not None else None
        if info is None:
            return
        if info.optional:
            yield i + 1
        tp = info.type
        while tp.name == "list" and tp.item is not None:
            tp = tp.item
        current = tp.model if tp.name == "object" else None


def unguarded_reads(rule: LoadedRule) -> list[tuple[str, str]]:
    """(optional field, path read) pairs: the rule's condition reads the path, which passes
    through or ends on an optional field, and tests the presence of neither that field nor
    anything below it on the path; none for a rule that skips on a missing fact."""
    if rule.spec.missing_policy == "skip":
        return []
    tested = _tested(rule.condition)
    model = KINDS[rule.kind]
    found: dict[tuple[str, str], None] = {}
    for path in _root_reads(rule.condition, frozenset()):
        for n in _optional_steps(model, path.parts):
            if not any(path.parts[:k] in tested for k in range(n, len(path.parts) + 1)):
                found[(".".join(path.parts[:n]), path.dotted)] = None
    return list(found)


def presence_warnings(pack: LoadedPack) -> list[Problem]:
    """A warning per rule, kind and path reading an optional field without a guard."""
    out: dict[tuple[str, str, str], Problem] = {}
    for rule in pack.rules:
        for obj, read in unguarded_reads(rule):
            out.setdefault(
                (rule.id, rule.kind, read),
                Problem(
                    rule.file,
                    rule.when_line or rule.line,
                    None,
                    rule.id,
                    f"reads the optional field {obj}{f' ({read})' if read != obj else ''} "
                    f"on {rule.kind} documents "
                    f"without testing `{obj} is present`: every {rule.kind} without it asks "
                    f"for documents (guard the read: `{obj} is present and ...`; test "
                    f"`{obj} is missing` to ask for it on purpose; or set `on_missing: skip`)",
                    "warning",
                ),
            )
    return list(out.values())


def name_warnings(pack: LoadedPack) -> list[Problem]:
    """A warning when another installed pack has this pack's name and version but other
    files (a copied pack that was changed and kept its identity)."""
    name, version = pack.manifest.name, pack.manifest.version
    out: list[Problem] = []
    for source in discover().packs.values():
        if source.root.resolve() == pack.root.resolve():
            continue
        try:
            other = load_pack(source.root)
        except PackError:
            continue
        same = other.manifest.name.lower() == name.lower() and other.manifest.version == version
        if not same or pack_sha256(other.files) == pack_sha256(pack.files):
            continue
        out.append(
            Problem(
                "pack.yaml",
                None,
                None,
                None,
                f"name {name!r} and version {version!r} are those of the installed pack at "
                f"{source.root} ({source.origin}), whose files differ: its decisions would "
                "name a pack they do not come from; give this pack its own name or a new "
                "version",
                "warning",
            )
        )
    return out
