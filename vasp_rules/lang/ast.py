"""Syntax tree of the condition language.

Nodes are frozen dataclasses so that compiled conditions can be shared between threads and used
as dictionary keys (the compiler hoists and deduplicates sub-expressions by structure).
Every node carries the character offset where it starts in its condition text, for error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Union

Expr = Union[
    "Literal",
    "ListLiteral",
    "Path",
    "Param",
    "Unary",
    "Binary",
    "Presence",
    "Call",
    "Quantifier",
    "Const",
]


@dataclass(frozen=True)
class Literal:
    """A constant: number (int or Decimal), string, bool or date (written `date("2026-03-03")`)."""

    value: int | Decimal | str | bool | date
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ListLiteral:
    items: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Path:
    """A dotted field path. The first part may name a quantifier variable or `as_of`.

    A path that passes through a list maps over it (`firm.people.roles` is every person's roles,
    flattened into one list).
    """

    parts: tuple[str, ...]
    pos: int = field(default=0, compare=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Param:
    """A pack parameter resolved on the evaluation date: `param.NAME` or `param.NAME[key]`."""

    name: str
    key: Expr | None = None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Binary:
    """and, or, comparisons (== != < <= > >=), membership (in, not in), arithmetic (+ - * /)."""

    op: str
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Presence:
    """`PATH is missing` / `PATH is present`: the explicit test for an absent fact."""

    path: Path
    present: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    """A built-in function: days(n), months(n), years(n), hours(n), working_days(n), len(list),
    max(a, b), min(a, b), matches(text, pattern), linked(var, key, ...) (see `link_keys`)."""

    name: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Quantifier:
    """`KIND(VAR in SOURCE [where FILTER] [: BODY])` with KIND one of any, all, none, count,
    sum, max, min, select.

    any/all/none test BODY (or FILTER alone) on the items; count counts the items passing FILTER
    (or BODY); sum/max/min aggregate BODY over the items passing FILTER; select lists BODY (or
    the item) for the items passing FILTER. SOURCE is a path, a parameter or `batch.KIND` (the
    other documents of that kind evaluated in the same batch).
    """

    kind: str
    var: str
    source: Expr
    where: Expr | None
    body: Expr | None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Const:
    """A value fixed at compile time for one `as_of`: a resolved parameter, `as_of` itself, or
    folded arithmetic on them. `value` is an engine value (see vasp_rules.lang.values);
    `origin` is the source text it replaced, kept for explanations."""

    value: Any
    type_name: str
    origin: str = field(default="", compare=False)
    pos: int = field(default=0, compare=False)

    def __hash__(self) -> int:
        """Equal constants hash alike, a list or table of values too (a parameter's list of
        roles), so that nodes holding one can be kept per finding like any other."""
        try:
            return hash((self.type_name, _frozen(self.value)))
        except TypeError:  # something unhashable deeper down: equal constants still agree
            return hash(self.type_name)


def _frozen(value: Any) -> Any:
    kind = type(value)
    if kind is list or kind is tuple:
        return tuple(_frozen(v) for v in value)
    if kind is dict:
        return frozenset((k, _frozen(v)) for k, v in value.items())
    return value


def link_keys(node: Call) -> tuple[tuple[str, ...], ...]:
    """The key paths of `linked(VAR, KEY, ...)`, as path parts from a document of the batch
    kind VAR ranges over (the checker makes every KEY a field path of that kind)."""
    return tuple(a.parts for a in node.args[1:] if isinstance(a, Path))


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(node, ListLiteral):
        return node.items
    if isinstance(node, Param):
        return (node.key,) if node.key is not None else ()
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Presence):
        return (node.path,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Quantifier):
        return tuple(x for x in (node.source, node.where, node.body) if x is not None)
    return ()


def map_children(node: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """A copy of node with fn applied to each direct sub-expression (positions kept)."""
    if isinstance(node, ListLiteral):
        return ListLiteral(tuple(fn(i) for i in node.items), node.pos)
    if isinstance(node, Param):
        return Param(node.name, fn(node.key) if node.key is not None else None, node.pos)
    if isinstance(node, Unary):
        return Unary(node.op, fn(node.operand), node.pos)
    if isinstance(node, Binary):
        return Binary(node.op, fn(node.left), fn(node.right), node.pos)
    if isinstance(node, Call):
        return Call(node.name, tuple(fn(a) for a in node.args), node.pos)
    if isinstance(node, Quantifier):
        return Quantifier(
            node.kind,
            node.var,
            fn(node.source),
            fn(node.where) if node.where is not None else None,
            fn(node.body) if node.body is not None else None,
            node.pos,
        )
    return node


def walk(node: Expr) -> list[Expr]:
    """Every node of the tree, pre-order."""
    out: list[Expr] = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def render(node: Expr) -> str:
    """The expression written back in the condition language (normalised spacing)."""
    if isinstance(node, Literal):
        v = node.value
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, date):
            return f'date("{v.isoformat()}")'
        return str(v)
    if isinstance(node, ListLiteral):
        return "[" + ", ".join(render(i) for i in node.items) + "]"
    if isinstance(node, Path):
        return node.dotted
    if isinstance(node, Param):
        return f"param.{node.name}" + (f"[{render(node.key)}]" if node.key is not None else "")
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {_wrap(node.operand, _PREC['not'])}"
        return f"-{_wrap(node.operand, _PREC['neg'])}"
    if isinstance(node, Binary):
        prec = _PREC[node.op]
        # operators group to the left: an equal-precedence right operand keeps its parentheses
        return f"{_wrap(node.left, prec)} {node.op} {_wrap(node.right, prec + 1)}"
    if isinstance(node, Presence):
        return f"{node.path.dotted} is {'present' if node.present else 'missing'}"
    if isinstance(node, Call):
        return f"{node.name}(" + ", ".join(render(a) for a in node.args) + ")"
    if isinstance(node, Const):
        return node.origin or repr(node.value)
    text = f"{node.kind}({node.var} in {render(node.source)}"
    if node.where is not None:
        text += f" where {render(node.where)}"
    if node.body is not None:
        text += f": {render(node.body)}"
    return text + ")"


_PREC = {
    "or": 1,
    "and": 2,
    "not": 3,
    "==": 4,
    "!=": 4,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "in": 4,
    "not in": 4,
    "is": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "neg": 7,
}


def _precedence(node: Expr) -> int:
    if isinstance(node, Binary):
        return _PREC[node.op]
    if isinstance(node, Unary):
        return _PREC["not"] if node.op == "not" else _PREC["neg"]
    if isinstance(node, Presence):
        return _PREC["is"]
    return 99  # atoms: literals, paths, calls, quantifiers


def _wrap(node: Expr, minimum: int) -> str:
    """Render a sub-expression, in parentheses when it binds looser than its place needs."""
    text = render(node)
    needs = _precedence(node) < minimum
    # comparisons do not chain: a comparison inside a comparison is always wrapped
    if minimum == _PREC["=="] + 1 or (_precedence(node) == _PREC["=="] == minimum):
        needs = needs or _precedence(node) == _PREC["=="]
    return f"({text})" if needs else text
