"""Type checker: resolves every field path and parameter against the entity schemas and the
pack's parameter declarations, and refuses ill-typed conditions before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from ..core.errors import VaspRulesError
from . import regex
from .ast import (
    Binary,
    Call,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Path,
    Presence,
    Quantifier,
    Unary,
    render,
)
from .types import (
    BOOL,
    DATE,
    DATETIME,
    INT,
    MONEY,
    NUMBER,
    STRING,
    Type,
    duration,
    list_of,
    model_fields,
)

DATE_UNITS = ("days", "months", "years", "working_days")
DATETIME_UNITS = ("hours",)  # days() is for dates: write hours(24 * N) for datetimes


class TypeCheckError(VaspRulesError, ValueError):
    def __init__(self, message: str, pos: int) -> None:
        self.message = message
        self.pos = pos
        super().__init__(message)


@dataclass
class CheckResult:
    """What a checked expression needs: its type, the document paths and parameters it reads,
    and whether it looks at other documents of the batch."""

    type: Type
    root_paths: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    batch_kinds: set[str] = field(default_factory=set)
    reads_money: bool = False  # then the pack's FX rates must cover the rule's window


class Checker:
    def __init__(
        self,
        root: type[BaseModel],
        params: Mapping[str, Type],
        kinds: Mapping[str, type[BaseModel]],
        extra_names: Mapping[str, Type] | None = None,
    ) -> None:
        self.root = root
        self.params = params
        self.kinds = kinds
        self.extra_names = dict(extra_names or {})
        self._result = CheckResult(BOOL)
        #: id(node) -> type name, for every node of the last checked tree
        self.types: dict[int, str] = {}
        #: quantifier variables in scope that range over the batch's documents -> their kind
        self._over_batch: dict[str, str] = {}

    def check(self, node: Expr, expect: Type | None = None) -> CheckResult:
        self._result = CheckResult(BOOL)
        self._over_batch = {}
        tp = self._check(node, {})
        if expect is not None and tp.name != expect.name:
            raise TypeCheckError(f"expected a {expect} expression, got {tp}", _pos(node))
        self._result.type = tp
        return self._result

    # ------------------------------------------------------------------------------------
    def _check(self, node: Expr, scope: dict[str, Type]) -> Type:
        tp = self._check_node(node, scope)
        if tp.name == "money" or (tp.value is not None and tp.value.name == "money"):
            self._result.reads_money = True
        self.types[id(node)] = tp.name
        return tp

    def _check_node(self, node: Expr, scope: dict[str, Type]) -> Type:
        if isinstance(node, Literal):
            v = node.value
            if isinstance(v, bool):
                return BOOL
            if isinstance(v, int):
                return INT
            if isinstance(v, Decimal):
                return NUMBER
            if isinstance(v, date):
                return DATE
            return Type("string", enum=None)
        if isinstance(node, ListLiteral):
            if not node.items:
                raise TypeCheckError("an empty list literal has no type; remove it", node.pos)
            first = self._check(node.items[0], scope)
            for item in node.items[1:]:
                tp = self._check(item, scope)
                if not first.comparable_with(tp):
                    raise TypeCheckError(f"list mixes {first} and {tp}", _pos(item))
            return list_of(first)
        if isinstance(node, Path):
            return self._path(node, scope)
        if isinstance(node, Param):
            return self._param(node, scope)
        if isinstance(node, Unary):
            tp = self._check(node.operand, scope)
            if node.op == "not":
                self._want_bool(tp, node.operand, "'not'")
                return BOOL
            if not (tp.is_numeric or tp.name == "money"):
                raise TypeCheckError(f"cannot negate {tp}", node.pos)
            return tp
        if isinstance(node, Presence):
            self._path(node.path, scope)
            return BOOL
        if isinstance(node, Binary):
            return self._binary(node, scope)
        if isinstance(node, Call):
            return self._call(node, scope)
        if isinstance(node, Quantifier):
            return self._quantifier(node, scope)
        raise TypeCheckError("constants appear only after compilation", 0)

    def _want_bool(self, tp: Type, node: Expr, where: str) -> None:
        if tp.name != "bool":
            raise TypeCheckError(f"{where} needs a true/false test, got {tp}", _pos(node))

    def _path(self, node: Path, scope: dict[str, Type]) -> Type:
        parts = node.parts
        head = parts[0]
        rest: tuple[str, ...]
        if head in scope:
            tp, rest = scope[head], parts[1:]
        elif head in self.extra_names:
            tp, rest = self.extra_names[head], parts[1:]
        elif head == "as_of":
            if len(parts) > 1:
                raise TypeCheckError("as_of is a date and has no fields", node.pos)
            return DATE
        elif head == "batch":
            if len(parts) < 2 or parts[1] not in self.kinds:
                known = ", ".join(sorted(self.kinds))
                raise TypeCheckError(f"batch.KIND needs a document kind ({known})", node.pos)
            self._result.batch_kinds.add(parts[1])
            tp, rest = list_of(Type("object", model=self.kinds[parts[1]])), parts[2:]
        else:
            tp, rest = Type("object", model=self.root), parts
            self._result.root_paths.add(node.dotted)
        walked = [head] if rest is not parts else []
        for part in rest:
            tp = self._field(tp, part, ".".join(walked) or self.root.__name__, node.pos)
            walked.append(part)
        return tp

    def _field(self, tp: Type, name: str, where: str, pos: int) -> Type:
        if tp.name == "list" and tp.item is not None:
            inner = self._field(tp.item, name, where, pos)
            return inner if inner.name == "list" else list_of(inner)
        if tp.name == "money" and name in ("amount", "currency"):
            return NUMBER if name == "amount" else STRING
        if tp.name != "object" or tp.model is None:
            raise TypeCheckError(f"{where} is {tp} and has no field {name!r}", pos)
        fields = model_fields(tp.model)
        if name not in fields:
            suggestion = _closest(name, list(fields))
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise TypeCheckError(
                f"{tp.model.__name__} has no field {name!r}{hint} "
                f"(fields: {', '.join(sorted(fields))})",
                pos,
            )
        return fields[name].type

    def _param(self, node: Param, scope: dict[str, Type]) -> Type:
        if node.name not in self.params:
            suggestion = _closest(node.name, list(self.params))
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise TypeCheckError(f"unknown parameter {node.name!r}{hint}", node.pos)
        self._result.params.add(node.name)
        tp = self.params[node.name]
        if node.key is None:
            return tp
        if tp.name != "map" or tp.value is None:
            raise TypeCheckError(f"parameter {node.name!r} is {tp}, not a table", node.pos)
        key_tp = self._check(node.key, scope)
        if key_tp.name != "string":
            raise TypeCheckError(f"table keys are strings, got {key_tp}", _pos(node.key))
        return tp.value

    def _binary(self, node: Binary, scope: dict[str, Type]) -> Type:
        op = node.op
        lt = self._check(node.left, scope)
        rt = self._check(node.right, scope)
        if op in ("and", "or"):
            self._want_bool(lt, node.left, f"'{op}'")
            self._want_bool(rt, node.right, f"'{op}'")
            return BOOL
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if not lt.comparable_with(rt):
                raise TypeCheckError(f"cannot compare {lt} with {rt}", node.pos)
            if op not in ("==", "!=") and lt.name in ("bool", "string"):
                raise TypeCheckError(f"'{op}' does not order {lt} values", node.pos)
            self._enum_literal(lt, node.right)
            self._enum_literal(rt, node.left)
            return BOOL
        if op in ("in", "not in"):
            if rt.name == "map":
                item = STRING
            elif rt.name == "list" and rt.item is not None:
                item = rt.item
            else:
                raise TypeCheckError(f"'{op}' needs a list on its right, got {rt}", node.pos)
            if not lt.comparable_with(item):
                raise TypeCheckError(f"cannot look for {lt} in a list of {item}", node.pos)
            self._enum_literal(item, node.left)
            if isinstance(node.right, ListLiteral):
                for it in node.right.items:
                    self._enum_literal(lt, it)
            return BOOL
        return self._arith(node, lt, rt)

    def _arith(self, node: Binary, lt: Type, rt: Type) -> Type:
        op = node.op
        if lt.is_numeric and rt.is_numeric:
            if op == "/":
                return NUMBER
            return INT if lt.name == rt.name == "int" else NUMBER
        if op in ("+", "-"):
            if lt.name == rt.name == "money":
                return MONEY
            if lt.name == "date" and rt.name == "duration" and rt.unit in DATE_UNITS:
                return DATE
            if lt.name == "datetime" and rt.name == "duration" and rt.unit in DATETIME_UNITS:
                return DATETIME
            if op == "-" and lt.name == rt.name == "date":
                return INT
        money_times_number = (lt.name == "money" and rt.is_numeric) or (
            rt.name == "money" and lt.is_numeric
        )
        if op == "*" and money_times_number:
            return MONEY
        if op == "/" and lt.name == "money" and rt.is_numeric:
            return MONEY
        if op == "/" and lt.name == rt.name == "money":
            return NUMBER
        raise TypeCheckError(f"cannot compute {lt} {op} {rt}", node.pos)

    def _enum_literal(self, tp: Type, other: Expr) -> None:
        if tp.enum and isinstance(other, Literal) and isinstance(other.value, str):
            if other.value not in tp.enum:
                raise TypeCheckError(
                    f"{other.value!r} is not a possible value here "
                    f"(one of {', '.join(sorted(tp.enum))})",
                    other.pos,
                )

    def _call(self, node: Call, scope: dict[str, Type]) -> Type:
        if node.name == "linked":
            return self._linked(node, scope)
        args = [self._check(a, scope) for a in node.args]
        name = node.name
        if name in ("days", "months", "years", "hours", "working_days"):
            if len(args) != 1 or args[0].name != "int":
                raise TypeCheckError(f"{name}(N) takes one whole number", node.pos)
            return duration(name)
        if name == "len":
            if len(args) != 1 or args[0].name != "list":
                raise TypeCheckError("len(LIST) takes one list", node.pos)
            return INT
        if name in ("max", "min"):
            if len(args) != 2 or not args[0].comparable_with(args[1]):
                raise TypeCheckError(f"{name}(a, b) takes two comparable values", node.pos)
            return NUMBER if args[0].name != args[1].name else args[0]
        if name == "matches":
            pattern = node.args[1] if len(node.args) == 2 else None
            if (
                len(args) != 2
                or args[0].name != "string"
                or not (isinstance(pattern, Literal) and isinstance(pattern.value, str))
            ):
                raise TypeCheckError(
                    'matches(TEXT, "PATTERN") takes a text and a pattern', node.pos
                )
            try:
                regex.check(str(pattern.value))
            except regex.PatternError as exc:
                raise TypeCheckError(
                    f"invalid pattern (RE2 syntax, see docs/rule-language.md): {exc}",
                    _pos(pattern),
                ) from None
            return BOOL
        raise TypeCheckError(f"unknown function {name!r}", node.pos)

    def _linked(self, node: Call, scope: dict[str, Type]) -> Type:
        """`linked(VAR, KEY, ...)`: VAR ranges over the batch's documents of the kind being
        evaluated; each KEY is a single-valued field path of that kind."""
        usage = (
            "linked(VAR, KEY, ...) takes a variable ranging over batch.KIND and the fields "
            "that link two documents, e.g. linked(t, originator.account_or_wallet, "
            "originator.customer_id)"
        )
        if len(node.args) < 2:
            raise TypeCheckError(usage, node.pos)
        var = node.args[0]
        if not (isinstance(var, Path) and len(var.parts) == 1 and var.parts[0] in self._over_batch):
            raise TypeCheckError(
                "linked(...)'s first argument must be a variable ranging over the batch's "
                f"documents (x in batch.KIND); {usage}",
                _pos(var),
            )
        kind = self._over_batch[var.parts[0]]
        if self.kinds[kind] is not self.root:
            raise TypeCheckError(
                f"linked(...) links documents of the kind being evaluated "
                f"({self.root.__name__}), but {var.parts[0]!r} ranges over batch.{kind}",
                _pos(var),
            )
        self._check(var, scope)
        seen: set[tuple[str, ...]] = set()
        for key in node.args[1:]:
            if not isinstance(key, Path) or key.parts[0] in (
                *scope,
                *self.extra_names,
                "as_of",
                "batch",
            ):
                raise TypeCheckError(
                    "linked(...) keys are field paths of the document (such as "
                    f"originator.customer_id), not {render(key)}",
                    _pos(key),
                )
            tp = self._check(key, scope)
            if tp.name not in _LINK_KEY_TYPES:
                raise TypeCheckError(
                    f"a linked(...) key must be one value (text, number or date); "
                    f"{key.dotted} is {tp}",
                    key.pos,
                )
            if key.parts in seen:
                raise TypeCheckError(f"linked(...) names {key.dotted} twice", key.pos)
            seen.add(key.parts)
        return BOOL

    def _quantifier(self, node: Quantifier, scope: dict[str, Type]) -> Type:
        source = self._check(node.source, scope)
        if source.name != "list" or source.item is None:
            raise TypeCheckError(
                f"{node.kind}(...) needs a list to range over, got {source}", node.pos
            )
        if node.var in ("as_of", "batch", "param") or node.var in self.extra_names:
            raise TypeCheckError(
                f"{node.var!r} is reserved; choose another variable name", node.pos
            )
        inner = dict(scope)
        inner[node.var] = source.item
        outer_kind = self._over_batch.pop(node.var, None)
        src = node.source
        if isinstance(src, Path) and src.parts[0] == "batch" and len(src.parts) == 2:
            self._over_batch[node.var] = src.parts[1]
        if node.where is not None:
            self._want_bool(self._check(node.where, inner), node.where, "'where'")
        body = self._check(node.body, inner) if node.body is not None else None
        self._over_batch.pop(node.var, None)
        if outer_kind is not None:
            self._over_batch[node.var] = outer_kind
        kind = node.kind
        if kind in ("any", "all", "none"):
            if body is not None:
                self._want_bool(body, node.body or node, f"{kind}(...)")
            return BOOL
        if kind == "count":
            if body is not None:
                self._want_bool(body, node.body or node, "count(...)")
            return INT
        if kind == "select":
            return list_of(body if body is not None else source.item)
        assert body is not None
        if kind == "sum":
            if not (body.is_numeric or body.name == "money"):
                raise TypeCheckError(f"sum(...) adds numbers or money, got {body}", node.pos)
            return body
        if body.name not in ("int", "number", "money", "date", "datetime", "string"):
            raise TypeCheckError(f"{kind}(...) needs orderable values, got {body}", node.pos)
        return body


_LINK_KEY_TYPES = frozenset({"string", "int", "number", "date", "datetime", "bool"})


def _pos(node: Expr) -> int:
    return getattr(node, "pos", 0)


def _closest(name: str, options: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return found[0] if found else None


__all__ = ["Checker", "CheckResult", "TypeCheckError", "DATE", "DATETIME", "STRING", "NUMBER"]
