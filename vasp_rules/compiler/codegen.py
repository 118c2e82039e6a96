"""The code generator: the checked, folded tree of an expression compiled to a Python function.

Projection (the plain and derived fields of the fact durable-rules matches) needs only the
*value* of each expression, never the facts it read. `compile_value` turns the tree into one
Python function, built as an `ast` module from the tree's nodes (never from rule text: names
are generated here, and every constant of the tree, a folded parameter or a literal, reaches
the code through the function's namespace, never as source) and compiled once with
`compile()`. The function is straight-line code: `and`/`or` stop once the left side settles
them, a quantifier is a `for` loop that breaks at its first decisive item, quantifier
variables are locals. Inside a quantifier, a sub-expression that reads no quantifier variable
is a local computed on first use (once per document); one that reads a batch document alone
is kept per batch view and document (TR-10's window re-reads the same transfers for every
outer one); one that reads the evaluating document and one batch document is kept per
document and batch document. Each gives the value the reference interpreter
(`engine.reference.Evaluator`) gives, which the agreement tests check.

Batch look-ups (`x in batch.KIND.path`, `linked`, paths from `batch` or `as_of`) are the
reference interpreter's own (`Env.reference`); a quantifier over the batch takes its documents
from the interpreter's keyed plan (`Evaluator.candidates`). These, the built-in functions
and aggregates are the calls where the single semantics module of issue 22 will plug in.
"""

from __future__ import annotations

import ast
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import CodeType
from typing import Any

from ..engine.reference import Context, Evaluator
from ..engine.semantics import (
    aggregate,
    arithmetic,
    builtin,
    engine_value,
    kleene_not,
    member_of,
    membership,
    step,
    walk_objects,
)
from ..engine.values import (
    LIST,
    MAPPING,
    MODEL,
    MONEY,
    PLAIN_ENGINE,
    SHAPES,
    UNKNOWN,
    date_to_engine,
)
from ..engine.windows import WINDOWED
from ..lang.ast import (
    Binary,
    Call,
    Const,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Path,
    Presence,
    Quantifier,
    Unary,
    children,
    walk,
)
from .memo import free_names, over_batch

_MISSING = object()
Scope = dict[str, tuple[Any, str]]


class Env:
    """One document's projection: the document, its context, the reference interpreter."""

    __slots__ = ("doc", "ctx", "_ev")

    def __init__(self, ctx: Context) -> None:
        self.doc = ctx.document
        self.ctx = ctx
        self._ev: Evaluator | None = None

    def evaluator(self) -> Evaluator:
        """The reference interpreter for this document, values only (made on first use)."""
        if self._ev is None:
            self._ev = Evaluator(self.ctx, record=False)
        return self._ev

    def reference(self, node: Expr, scope: Scope) -> Any:
        """The reference interpreter's value for a node (batch look-ups) in `scope`."""
        return self.evaluator().evaluate_in(node, scope).value


ValueFn = Callable[[Env], Any]

#: The semantics module's engine values and path steps, by the names the generated code uses.
_engine = engine_value
_step = step


# -- the runtime the generated code calls ------------------------------------------------------
def _leaves(start: Any, parts: tuple[str, ...]) -> tuple[list[Any], bool]:
    """Raw leaves of a path from `start` (as `Evaluator._resolve`, without the paths)."""
    current = [start]
    mapped = False
    for part in parts:
        nxt: list[Any] = []
        for value in current:
            if value is None:
                nxt.append(None)
            elif SHAPES[type(value)] == LIST:
                mapped = True
                nxt.extend(_step(item, part) for item in value)
            else:
                nxt.append(_step(value, part))
        current = nxt
    if mapped:
        flat: list[Any] = []
        for value in current:
            if isinstance(value, list):
                flat.extend(value)
            else:
                flat.append(value)
        current = flat
    return current, mapped


def _path_value(start: Any, parts: tuple[str, ...], env: Env) -> Any:
    """The engine value of a path from `start` (a document or a quantifier's item)."""
    value = start
    for part in parts:
        if value is None:
            return UNKNOWN
        shape = SHAPES[type(value)]
        if shape == MODEL or shape == MONEY:
            value = getattr(value, part, None)
        elif shape == LIST:  # through a list: every item's value, flattened
            fx = env.ctx.fx_to_pkr
            return [_engine(raw, fx) for raw in _leaves(start, parts)[0]]
        elif shape == MAPPING:
            value = value.get(part)
        else:
            return UNKNOWN
    if type(value) in PLAIN_ENGINE:
        return value
    return _engine(value, env.ctx.fx_to_pkr)


def _absent(start: Any, parts: tuple[str, ...]) -> bool:
    """Whether some leaf of the path is absent (`is missing`)."""
    leaves, _ = _leaves(start, parts)
    return any(v is None for v in leaves)


def _path_items(start: Any, parts: tuple[str, ...]) -> Any:
    """A quantifier's raw items from a path; UNKNOWN when the source is absent."""
    walked = walk_objects(start, parts)  # through objects only, the usual case
    if walked is None:  # through a list: every item's leaves, flattened
        return _leaves(start, parts)[0]
    raw = walked[0]
    return UNKNOWN if raw is None else raw


def _batch_leaves(env: Env, node: Quantifier, scope: Scope) -> Any:
    """A quantifier over a path into the batch's documents: their values, as the reference."""
    items, _ = env.evaluator().items(node, scope)
    return UNKNOWN if items is None else [raw for raw, _label in items]


def _batch_documents(env: Env, node: Quantifier, kind: str, scope: Scope) -> list[Any]:
    """The documents a batch quantifier visits, exactly as the reference interpreter takes
    them (the other documents of the kind, narrowed by the quantifier's keyed plan, in batch
    order)."""
    view = env.ctx.batch
    if view is None:
        return []
    positions = env.evaluator().candidates(node, kind, scope)
    docs = view.by_kind.get(kind, [])
    mine = env.doc
    chosen = range(len(docs)) if positions is None else positions
    return [docs[i] for i in chosen if docs[i] is not mine]


_NO_WINDOW = object()


def _window(env: Env, node: Quantifier, scope: Scope) -> Any:
    """A batch sum or count from the window's running sums (`Evaluator.window`); _NO_WINDOW
    when it must be evaluated item by item."""
    fast = env.evaluator().window(node, scope)
    return _NO_WINDOW if fast is None else fast.value


def _view_store(env: Env, key: object) -> dict[int, Any]:
    """The batch view's values of one shared node, by batch document (a fresh dictionary when
    the document is evaluated alone). The view holds its documents, so their ids are not
    reused while it lives; `key` is unique per generated node (one pack's, on one date)."""
    view = env.ctx.batch
    if view is None:
        return {}
    store = view.shared
    mine: dict[int, Any] | None = store.get(key)
    if mine is None:
        mine = store[key] = {}
    return mine


def _arith(op: str, a: Any, b: Any, env: Env) -> Any:
    """`a op b` on known engine values (the semantics module's arithmetic, with the
    document's holiday calendar)."""
    return arithmetic(op, a, b, env.ctx.calendar)


def _member(a: Any, container: Any, want: bool) -> Any:
    """`a in container` (want) or `not in`, on known values (the semantics module's
    membership)."""
    found = membership(a, container)
    return found if want else kleene_not(found)


def constant_words(node: Expr) -> frozenset[str] | None:
    """The items of a constant list of text (a folded parameter or literal list), for `x in
    LIST`: membership by hash gives what the scan gives (`==` on text, no UNKNOWN item)."""
    if isinstance(node, Const) and isinstance(node.value, list):
        items = node.value
    elif isinstance(node, ListLiteral) and all(isinstance(i, Literal) for i in node.items):
        items = [i.value for i in node.items if isinstance(i, Literal)]
    else:
        return None
    if not items or any(type(v) is not str for v in items):
        return None
    return frozenset(items)


#: the generated code's globals besides its constants (names start with `_`, which generated
#: locals (`_t`, `_v`, `_h`) and constants (`_k`) never share)
_RUNTIME: dict[str, Any] = {
    "_U": UNKNOWN,
    "_SHAPES": SHAPES,
    "_MODEL": MODEL,
    "_MONEY": MONEY,
    "_MAPPING": MAPPING,
    "_LIST": LIST,
    "_PLAIN": PLAIN_ENGINE,
    "type": type,
    "getattr": getattr,
    "_MISSING": _MISSING,
    "_engine": _engine,
    "_path_value": _path_value,
    "_absent": _absent,
    "_path_items": _path_items,
    "_batch_leaves": _batch_leaves,
    "_batch_documents": _batch_documents,
    "_view_store": _view_store,
    "_window": _window,
    "_NO_WINDOW": _NO_WINDOW,
    "_arith": _arith,
    "_member": _member,
    "_member_of": member_of,
    "_builtin": builtin,
    "_aggregate": aggregate,
    "_id": id,
    "__builtins__": {},
}


# -- code templates ------------------------------------------------------------------------
@cache
def _parsed(template: str) -> ast.Module:
    return ast.parse(template)


class _Fill(ast.NodeTransformer):
    """A template's placeholders replaced: a name by an expression or another name, a
    statement that is a lone placeholder name by a list of statements."""

    def __init__(self, subs: dict[str, Any]) -> None:
        self.subs = subs

    def visit_Expr(self, node: ast.Expr) -> Any:
        if isinstance(node.value, ast.Name) and isinstance(self.subs.get(node.value.id), list):
            return self.subs[node.value.id] or ast.Pass()  # a block never left empty
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> Any:
        sub = self.subs.get(node.id)
        if sub is None:
            return node
        if isinstance(sub, str):
            return ast.Name(sub, node.ctx)
        if isinstance(sub, ast.Name):
            return ast.Name(sub.id, node.ctx)
        assert isinstance(node.ctx, ast.Load), node.id
        return sub


def _code(template: str, **subs: Any) -> list[ast.stmt]:
    """Statements of one of this module's fixed templates with its placeholders filled (the
    template is this module's own text; nothing of a rule is ever parsed)."""
    tree = _Fill(subs).visit(_copy(_parsed(template)))
    body: list[ast.stmt] = tree.body
    return body


def _copy(node: ast.Module) -> ast.Module:
    """A fresh copy of a parsed template (the transformer edits in place)."""
    return _Clone().visit(node)  # type: ignore[no-any-return]


class _Clone(ast.NodeTransformer):
    def generic_visit(self, node: ast.AST) -> ast.AST:
        fields = {}
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                fields[name] = [self.visit(v) if isinstance(v, ast.AST) else v for v in value]
            elif isinstance(value, ast.AST):
                fields[name] = self.visit(value)
            else:
                fields[name] = value
        return type(node)(**fields)


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


_COMPARE_OPS: dict[str, type[ast.cmpop]] = {
    "==": ast.Eq,
    "!=": ast.NotEq,
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
}


def _mentions(node: Expr, names: frozenset[str]) -> bool:
    if isinstance(node, Path):
        return node.parts[0] in names or node.parts[0] == "batch"
    if isinstance(node, Quantifier):
        inner = names - {node.var}
        return (
            _mentions(node.source, names)
            or (node.where is not None and _mentions(node.where, inner))
            or (node.body is not None and _mentions(node.body, inner))
        )
    return any(_mentions(c, names) for c in children(node))


class _Generator:
    """Builds one function `_value(env)` for one expression.

    The code depends only on the expression's structure (`_structure`); what a date or a
    parameter changes (folded constants, nodes handed to the reference interpreter) reaches it
    through its namespace, bound from the tree's nodes by their pre-order position. So a new
    date whose trees have the same structure reuses the compiled code with a new namespace."""

    def __init__(self, node: Expr) -> None:
        self.namespace: dict[str, Any] = dict(_RUNTIME)
        self.binders: list[tuple[str, int, Callable[[Any], Any]]] = []
        self._numbers = itertools.count()
        self.prologue: list[ast.stmt] = []
        #: batch sums and counts whose item-by-item code is being generated (`windowed`)
        self.item_by_item: set[int] = set()
        #: the bound variables that range over the batch's documents (`x in batch.KIND`)
        self.documents: frozenset[str] = frozenset()
        self._positions: dict[int, int] = {}
        nodes = walk(node)
        for i, sub in enumerate(nodes):
            self._positions.setdefault(id(sub), i)
        #: whether one node object stands at several places of the tree: its constants are
        #: then bound from its first place only, so the code is not reused for other trees
        self.reusable = len(self._positions) == len(nodes)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._numbers)}"

    def constant(self, value: Any) -> ast.Name:
        """A name in the generated code's namespace holding `value`, which the structure of
        the tree determines (a path's parts, an operator, a name)."""
        name = self.fresh("_k")
        self.namespace[name] = value
        return _name(name)

    def bound_constant(self, node: Expr, value_of: Callable[[Any], Any]) -> ast.Name:
        """A name bound to `value_of(node)` for each tree of this structure."""
        name = self.fresh("_k")
        position = self._positions[id(node)]
        self.binders.append((name, position, value_of))
        self.namespace[name] = value_of(node)
        return _name(name)

    def function(self, node: Expr) -> _Program:
        out: list[ast.stmt] = []
        result = self.emit(node, {}, out)
        body = self.prologue + out + [ast.Return(result)]
        func = ast.FunctionDef(
            name="_value",
            args=ast.arguments(
                posonlyargs=[], args=[ast.arg("env")], kwonlyargs=[], kw_defaults=[], defaults=[]
            ),
            body=body,
            decorator_list=[],
            returns=None,
        )
        module = ast.Module(body=[func], type_ignores=[])
        ast.fix_missing_locations(module)
        code = compile(module, "<vasp-rules codegen>", "exec")
        static = {k: v for k, v in self.namespace.items() if k not in _RUNTIME}
        for name, _, _ in self.binders:
            static.pop(name, None)
        return _Program(code, module, static, tuple(self.binders), self.reusable)

    # -- hoisting --------------------------------------------------------------------------
    def emit(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """Statements appended to `out` computing `node`; the returned expression is a name or
        constant holding its value (evaluating it has no effect)."""
        bound = frozenset(scope)
        if not bound or isinstance(node, Const | Literal):
            return self.plain(node, scope, out)
        if not _mentions(node, bound):
            # loop-invariant inside a quantifier: a local computed on first use
            local = self.fresh("_h")
            self.prologue.extend(_code("H = _MISSING", H=local))
            inner: list[ast.stmt] = []
            value = self.plain(node, scope, inner)
            out.extend(
                _code(
                    "if H is _MISSING:\n    BODY\n    H = VALUE", H=local, BODY=inner, VALUE=value
                )
            )
            return _name(local)
        heads = free_names(node) - {"as_of"}
        free = heads & bound
        var = next(iter(free)) if len(free) == 1 else None
        if var is None or var not in self.documents:
            return self.plain(node, scope, out)
        shared = heads == {var}
        if not shared and isinstance(node, Path):
            return self.plain(node, scope, out)
        # one batch document `var` alone: kept by the batch view; with fields of the evaluating
        # document: kept per document (this call) and batch document
        table = self.fresh("_d")
        self.prologue.extend(_code("D = None", D=table))  # made on first use
        if shared:
            make = _code(
                "D = _view_store(env, KEY)", D=table, KEY=self.bound_constant(node, _fresh_key)
            )
        else:
            make = _code("D = {}", D=table)
        out.extend(_code("if D is None:\n    MAKE", D=table, MAKE=make))
        local = self.fresh("_t")
        inner = []
        value = self.plain(node, scope, inner)
        out.extend(
            _code(
                "T = D.get(_id(V), _MISSING)\n"
                "if T is _MISSING:\n    BODY\n    T = VALUE\n    D[_id(V)] = T",
                T=local,
                D=table,
                V=scope[var],
                BODY=inner,
                VALUE=value,
            )
        )
        return _name(local)

    def plain(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if isinstance(node, Const):
            return self.bound_constant(node, _const_value)
        if isinstance(node, Literal):
            return self.bound_constant(node, _literal_value)
        if isinstance(node, ListLiteral):
            items = [self.emit(i, scope, out) for i in node.items]
            local = self.fresh("_t")
            out.extend(_code("T = ITEMS", T=local, ITEMS=ast.List(items, ast.Load())))
            return _name(local)
        if isinstance(node, Path):
            return self.path(node, scope, out)
        if isinstance(node, Presence):
            return self.presence(node, scope, out)
        if isinstance(node, Param):
            return self.param(node, scope, out)
        if isinstance(node, Unary):
            return self.unary(node, scope, out)
        if isinstance(node, Binary):
            return self.binary(node, scope, out)
        if isinstance(node, Call):
            return self.call(node, scope, out)
        assert isinstance(node, Quantifier)
        return self.quantifier(node, scope, out)

    def reference(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """The reference interpreter's value, in a scope of the bound variables."""
        local = self.fresh("_t")
        out.extend(
            _code(
                "T = env.reference(NODE, SCOPE)",
                T=local,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
            )
        )
        return _name(local)

    def scope_dict(self, scope: dict[str, str]) -> ast.expr:
        """A reference scope (name -> (raw value, label)) of the bound variables."""
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for var, local in scope.items():
            label = self.constant(var)
            keys.append(label)
            values.append(ast.Tuple([_name(local), label], ast.Load()))
        return ast.Dict(keys, values)

    # -- paths -----------------------------------------------------------------------------
    def start(
        self, parts: tuple[str, ...], scope: dict[str, str]
    ) -> tuple[ast.expr, tuple[str, ...]]:
        head = parts[0]
        if head in scope:
            return _name(scope[head]), parts[1:]
        return ast.Attribute(_name("env"), "doc", ast.Load()), parts

    def path(self, node: Path, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        head = node.parts[0]
        if head in ("as_of", "batch") and head not in scope:
            return self.reference(node, scope, out)
        start, parts = self.start(node.parts, scope)
        local = self.fresh("_t")
        if not parts:  # a quantifier's item itself
            out.extend(_code("T = _engine(START, env.ctx.fx_to_pkr)", T=local, START=start))
            return _name(local)
        # walked inline through objects; through a list, the general resolver
        steps: list[ast.stmt] = []
        whole = self.constant(parts)
        for part in parts:
            steps.extend(
                _code(
                    "if T is None:\n    T = _U\n    break\nS = _SHAPES[type(T)]\n"
                    "if S == _MODEL or S == _MONEY:\n    T = getattr(T, PART, None)\n"
                    "elif S == _MAPPING:\n    T = T.get(PART)\n"
                    "elif S == _LIST:\n    T = _path_value(START, PARTS, env)\n    break\n"
                    "else:\n    T = _U\n    break",
                    T=local,
                    S=self.fresh("_s"),
                    PART=self.constant(part),
                    START=start,
                    PARTS=whole,
                )
            )
        out.extend(
            _code(
                "T = START\nwhile True:\n    STEPS\n    if type(T) not in _PLAIN:\n"
                "        T = _engine(T, env.ctx.fx_to_pkr)\n    break",
                T=local,
                START=start,
                STEPS=steps,
            )
        )
        return _name(local)

    def presence(self, node: Presence, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        head = node.path.parts[0]
        if head in ("as_of", "batch") and head not in scope:
            return self.reference(node, scope, out)
        start, parts = self.start(node.path.parts, scope)
        local = self.fresh("_t")
        template = (
            "T = _absent(START, PARTS)" if not node.present else "T = not _absent(START, PARTS)"
        )
        out.extend(_code(template, T=local, START=start, PARTS=self.constant(parts)))
        return _name(local)

    def param(self, node: Param, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        local = self.fresh("_t")
        out.extend(
            _code("T = env.ctx.params.get(NAME, _U)", T=local, NAME=self.constant(node.name))
        )
        if node.key is None:
            return _name(local)
        inner: list[ast.stmt] = []
        key = self.emit(node.key, scope, inner)
        out.extend(
            _code(
                "if T is not _U:\n    BODY\n    if KEY is _U or KEY not in T:\n        T = _U\n"
                "    else:\n        T = T[KEY]",
                T=local,
                BODY=inner,
                KEY=key,
            )
        )
        return _name(local)

    # -- operators -------------------------------------------------------------------------
    def unary(self, node: Unary, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        operand = self.emit(node.operand, scope, out)
        local = self.fresh("_t")
        template = "T = A if A is _U else not A" if node.op == "not" else "T = A if A is _U else -A"
        out.extend(_code(template, T=local, A=operand))
        return _name(local)

    def binary(self, node: Binary, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        op, right = node.op, node.right
        if (
            op in ("in", "not in")
            and isinstance(right, Path)
            and right.parts[0] == "batch"
            and "batch" not in scope
            and len(right.parts) > 2
        ):
            return self.reference(node, scope, out)
        local = self.fresh("_t")
        a = self.emit(node.left, scope, out)
        if op in ("and", "or"):
            decisive = op == "or"  # the value that settles it whatever the other side is
            rest: list[ast.stmt] = []
            b = self.emit(right, scope, rest)
            out.extend(
                _code(
                    "if A is DECISIVE:\n    T = DECISIVE\nelse:\n    REST\n"
                    "    if B is DECISIVE:\n        T = DECISIVE\n"
                    "    elif A is _U or B is _U:\n        T = _U\n    else:\n        T = OTHER",
                    T=local,
                    A=a,
                    B=b,
                    REST=rest,
                    DECISIVE=ast.Constant(decisive),
                    OTHER=ast.Constant(not decisive),
                )
            )
            return _name(local)
        if op in ("in", "not in"):
            want = ast.Constant(op == "in")
            words = constant_words(right)
            if words is not None:  # a list of text fixed for this date: a set look-up
                out.extend(
                    _code(
                        "T = _U if A is _U else _member_of(A, WORDS) is WANT",
                        T=local,
                        A=a,
                        WORDS=self.bound_constant(right, _words),
                        WANT=want,
                    )
                )
                return _name(local)
            b = self.emit(right, scope, out)
            out.extend(
                _code(
                    "T = _U if A is _U or B is _U else _member(A, B, WANT)",
                    T=local,
                    A=a,
                    B=b,
                    WANT=want,
                )
            )
            return _name(local)
        if op in _COMPARE_OPS:
            rest = []
            b = self.emit(right, scope, rest)
            test = ast.Compare(a, [_COMPARE_OPS[op]()], [b])
            out.extend(
                _code(
                    "if A is _U:\n    T = _U\nelse:\n    REST\n    T = _U if B is _U else TEST",
                    T=local,
                    A=a,
                    B=b,
                    REST=rest,
                    TEST=test,
                )
            )
            return _name(local)
        b = self.emit(right, scope, out)
        out.extend(
            _code(
                "T = _U if A is _U or B is _U else _arith(OP, A, B, env)",
                T=local,
                A=a,
                B=b,
                OP=self.constant(op),
            )
        )
        return _name(local)

    def call(self, node: Call, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if node.name == "linked":
            return self.reference(node, scope, out)  # the batch's components
        args = [self.emit(a, scope, out) for a in node.args]
        unknown: ast.expr = (
            ast.BoolOp(ast.Or(), [ast.Compare(a, [ast.Is()], [_name("_U")]) for a in args])
            if len(args) > 1
            else ast.Compare(args[0], [ast.Is()], [_name("_U")])
            if args
            else ast.Constant(False)
        )
        local = self.fresh("_t")
        out.extend(
            _code(
                "T = _U if UNKNOWN else _builtin(NAME, ARGS)",
                T=local,
                UNKNOWN=unknown,
                NAME=self.constant(node.name),
                ARGS=ast.List(list(args), ast.Load()),
            )
        )
        return _name(local)

    # -- quantifiers -------------------------------------------------------------------------
    def quantifier(self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if over_batch(node) and node.kind in WINDOWED and id(node) not in self.item_by_item:
            return self.windowed(node, scope, out)  # running sums first (engine/windows.py)
        kind, var = node.kind, node.var
        items = self.items(node, scope, out)
        item = self.fresh("_v")
        inner_scope = {**scope, var: item}
        documents = self.documents
        # as memo.inner_names: `var` ranges over the batch's documents, or shadows one that did
        self.documents = (documents | {var}) if over_batch(node) else (documents - {var})
        try:
            where_code: list[ast.stmt] = []
            where = (
                self.emit(node.where, inner_scope, where_code) if node.where is not None else None
            )
            body_code: list[ast.stmt] = []
            body = self.emit(node.body, inner_scope, body_code) if node.body is not None else None
        finally:
            self.documents = documents
        local, keep, value = self.fresh("_t"), self.fresh("_t"), self.fresh("_t")
        unknown, values = self.fresh("_t"), self.fresh("_t")
        loop: list[ast.stmt] = []
        if where is not None:
            loop.extend(where_code)
            loop.extend(
                _code("KEEP = WHERE\nif KEEP is False:\n    continue", KEEP=keep, WHERE=where)
            )
        if node.body is None and kind == "select":  # the item itself
            template = "V = _engine(ITEM, env.ctx.fx_to_pkr)"
            if where is not None:
                template = "V = _U if KEEP is _U else _engine(ITEM, env.ctx.fx_to_pkr)"
            loop.extend(_code(template, V=value, KEEP=keep, ITEM=item))
        elif body is None:
            loop.extend(
                _code("V = KEEP", V=value, KEEP=keep if where is not None else ast.Constant(True))
            )
        else:
            loop.extend(body_code)
            if where is None:
                loop.extend(_code("V = BODY", V=value, BODY=body))
            else:
                skip = (
                    "V is False"
                    if kind in ("any", "none", "count")
                    else "V is True"
                    if kind == "all"
                    else "False"
                )
                loop.extend(
                    _code(
                        "V = BODY\nif KEEP is _U:\n    if "
                        + skip
                        + ":\n        continue\n    V = _U",
                        V=value,
                        BODY=body,
                        KEEP=keep,
                    )
                )
        decisive = {"any": ("True", "True"), "none": ("True", "False"), "all": ("False", "False")}
        if kind in decisive:
            when, gives = decisive[kind]
            loop.extend(
                _code(
                    "if V is _U:\n    UNKNOWN = True\nelif V is "
                    + when
                    + ":\n    T = "
                    + gives
                    + "\n    break",
                    V=value,
                    UNKNOWN=unknown,
                    T=local,
                )
            )
            settled = "T = _U if UNKNOWN else " + ("True" if kind == "all" else str(kind == "none"))
            out.extend(
                _code(
                    "if ITEMS is _U:\n    T = _U\nelse:\n    UNKNOWN = False\n"
                    "    for ITEM in ITEMS:\n        LOOP\n    else:\n        " + settled,
                    T=local,
                    ITEMS=items,
                    ITEM=item,
                    UNKNOWN=unknown,
                    LOOP=loop,
                )
            )
            return _name(local)
        loop.extend(
            _code(
                "if V is _U:\n    UNKNOWN = True\n    continue\nVALUES.append(V)",
                V=value,
                UNKNOWN=unknown,
                VALUES=values,
            )
        )
        out.extend(
            _code(
                "if ITEMS is _U:\n    T = _U\nelse:\n    UNKNOWN = False\n    VALUES = []\n"
                "    for ITEM in ITEMS:\n        LOOP\n    T = _aggregate(KIND, VALUES, UNKNOWN)",
                T=local,
                ITEMS=items,
                ITEM=item,
                UNKNOWN=unknown,
                VALUES=values,
                LOOP=loop,
                KIND=self.constant(kind),
            )
        )
        return _name(local)

    def windowed(self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """A sum or count over the batch: from the window's running sums when it has that
        shape (`Evaluator.window`), else item by item."""
        local = self.fresh("_t")
        loop: list[ast.stmt] = []
        self.item_by_item.add(id(node))
        value = self.quantifier(node, scope, loop)
        loop.extend(_code("T = VALUE", T=local, VALUE=value))
        out.extend(
            _code(
                "T = _window(env, NODE, SCOPE)\nif T is _NO_WINDOW:\n    LOOP",
                T=local,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
                LOOP=loop,
            )
        )
        return _name(local)

    def items(self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """The items a quantifier ranges over: raw values from a path, engine values from
        anything else; UNKNOWN when the source is absent."""
        source = node.source
        local = self.fresh("_t")
        if isinstance(source, Path) and source.parts[0] == "batch" and "batch" not in scope:
            if len(source.parts) != 2:  # a path into the batch's documents: their values
                template = "T = _batch_leaves(env, NODE, SCOPE)"
            else:
                template = "T = _batch_documents(env, NODE, KIND, SCOPE)"
            out.extend(
                _code(
                    template,
                    T=local,
                    NODE=self.bound_constant(node, _itself),
                    KIND=self.constant(source.parts[-1]),
                    SCOPE=self.scope_dict(scope),
                )
            )
            return _name(local)
        if isinstance(source, Path) and not (source.parts[0] == "as_of" and "as_of" not in scope):
            start, parts = self.start(source.parts, scope)
            out.extend(
                _code(
                    "T = _path_items(START, PARTS)",
                    T=local,
                    START=start,
                    PARTS=self.constant(parts),
                )
            )
            return _name(local)
        return self.emit(source, scope, out)


@dataclass(frozen=True)
class _Program:
    """The compiled code of one structure and how to bind its namespace for a tree."""

    code: CodeType
    module: ast.Module
    static: dict[str, Any]
    binders: tuple[tuple[str, int, Callable[[Any], Any]], ...]
    reusable: bool

    def bind(self, node: Expr) -> ValueFn:
        namespace = dict(_RUNTIME)
        namespace.update(self.static)
        if self.binders:
            nodes = walk(node)
            for name, position, value_of in self.binders:
                namespace[name] = value_of(nodes[position])
        exec(self.code, namespace)  # the code object compiled from the checked tree's structure
        fn: ValueFn = namespace["_value"]
        fn.__dict__["source"] = self.module  # for docs and debugging: `source_of`
        return fn


def _itself(node: Any) -> Any:
    return node


def _const_value(node: Const) -> Any:
    return node.value


def _literal_value(node: Literal) -> Any:
    lit = node.value
    return date_to_engine(lit) if isinstance(lit, date) else lit


def _words(node: Expr) -> frozenset[str] | None:
    return constant_words(node)


def _fresh_key(node: Any) -> object:
    return object()  # the batch view's key of one shared node of one bound function


def _structure(node: Expr) -> Hashable:
    """What the generated code depends on: the tree without positions, with each folded
    constant reduced to its type and to whether it is a list of text (`constant_words`)."""
    if isinstance(node, Const):
        return (Const, node.type_name, constant_words(node) is not None)
    if isinstance(node, Literal):
        return (Literal, type(node.value), node.value)
    if isinstance(node, Path):
        return (Path, node.parts)
    parts: list[Hashable] = [type(node).__name__]
    for name in ("op", "name", "kind", "var", "present"):
        if hasattr(node, name):
            parts.append(getattr(node, name))
    if isinstance(node, Param):
        parts.append(node.key is None)
    if isinstance(node, Quantifier):
        parts.append((node.where is None, node.body is None))
    parts.extend(_structure(child) for child in children(node))
    return tuple(parts)


_PROGRAMS: OrderedDict[Hashable, _Program] = OrderedDict()
_PROGRAMS_LOCK = threading.Lock()
_PROGRAMS_KEPT = 4096


def compile_value(node: Expr) -> ValueFn:
    """A function computing the reference interpreter's value of `node` (no scope). The code is
    generated from the tree and compiled once per structure (kept for the process, at most
    4,096 structures); a tree of a known structure (the same rule on another date) only binds
    its constants."""
    key = _structure(node)
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(key)
        if program is not None:
            _PROGRAMS.move_to_end(key)
    if program is None:
        program = _Generator(node).function(node)
        if not program.reusable:
            return program.bind(node)
        with _PROGRAMS_LOCK:
            _PROGRAMS[key] = program
            while len(_PROGRAMS) > _PROGRAMS_KEPT:
                _PROGRAMS.popitem(last=False)
    return program.bind(node)


def source_of(fn: ValueFn) -> str:
    """The Python source of a generated function (for documentation and debugging)."""
    module: ast.Module = fn.__dict__["source"]
    return ast.unparse(module)


__all__ = [
    "Env",
    "ValueFn",
    "aggregate",
    "builtin",
    "compile_value",
    "constant_words",
    "member_of",
    "source_of",
    "walk_objects",
]
