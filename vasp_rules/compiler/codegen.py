# Over 800 lines on purpose: one recursive translation to `ast`, a builder per node kind.
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
(`interp.reference.Evaluator`) gives, which the agreement tests check. Given the documents'
model (`root`), a path the entity schema types is read attribute by attribute (`SchemaPath`).

Batch look-ups (`x in batch.KIND.path`, `linked`, paths from `batch` or `as_of`) are the
reference interpreter's own (`Env.reference`); a quantifier over the batch takes its documents
from the interpreter's keyed plan (`Evaluator.candidates`). These, the built-in functions
and aggregates are the calls where the single semantics module of issue 22 will plug in.
"""

from __future__ import annotations

import ast
import itertools
import textwrap
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import CodeType
from typing import Any, NamedTuple

from pydantic import BaseModel

from ..entities.registry import KINDS
from ..interp.reference import (
    NONE,
    Context,
    Evaluator,
    Result,
    from_document,
    is_model,
    union,
)
from ..interp.windows import QUANTIFIERS, WINDOWED
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
    render,
    walk,
)
from ..lang.semantics import (
    aggregate,
    arithmetic,
    builtin,
    engine_value,
    kleene,
    kleene_not,
    member_of,
    membership,
    skips_unknown_where,
    step,
    walk_objects,
)
from ..lang.types import Type, model_fields
from ..lang.values import (
    LIST,
    MAPPING,
    MODEL,
    MONEY,
    PLAIN_ENGINE,
    SHAPES,
    UNKNOWN,
    Scope,
    date_to_engine,
    decimal_json,
    to_json_value,
)

_MISSING = object()
_PLAIN_JSON = frozenset({str, int, bool, type(None)})  # their JSON form is themselves
#: `_TEXT.issuperset(map(type, items))`: a list of text only, whose JSON form and engine value
#: are a copy of itself (one C-level pass; `all(...)` over a generator costs twice as much)
_TEXT = frozenset({str})


def all_text(values: Any) -> bool:
    """Whether every item is text, exactly `str` (the generated code tests it inline)."""
    return _TEXT.issuperset(map(type, values))

#: how the paths that are not a document's fact begin (`from_document`, inline in `_read`)
NOT_DOCUMENT = ("param.", "list[", "as_of")


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
#: a generated function in three-valued mode: `fn(env, ev, scope)` gives what
#: `ev.evaluate_in(node, scope)` gives (the value and the missing facts), recording as it does
ResultFn = Callable[[Env, Evaluator, Scope], Result]
#: a generated function in recording mode: `fn(env, ev, scope)` records into `ev` what the
#: reference interpreter records evaluating the node in `scope` (a rule's computed values)
RecordFn = Callable[[Env, Evaluator, Scope], Any]

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


def _window_rec(ev: Evaluator, node: Quantifier, scope: Scope) -> Any:
    """As `_window`, recording into `ev` what the window read (as item by item would)."""
    fast = ev.window(node, scope)
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


# -- the runtime of recording mode: what `Evaluator` records, for paths through objects ------
def _read(
    ev: Evaluator, start: Any, parts: tuple[str, ...], label: str, names: tuple[str, ...]
) -> Any:
    """A path from `start` read as `Evaluator._path` reads it, when it runs through objects
    only (`walk_objects`, inline; `_MISSING` through a list, the reference's case): its leaf
    recorded under its concrete path (`names[taken]` after `label`) when it is a document's
    fact, then the leaf's engine value."""
    raw = start
    taken = 0
    for part in parts:
        if raw is None:
            break
        shape = SHAPES[type(raw)]
        if shape == MODEL or shape == MONEY:
            raw = getattr(raw, part, None)
        elif shape == MAPPING:
            raw = raw.get(part)
        elif shape == LIST:
            return _MISSING
        else:
            raw = None
        taken += 1
    path = label + names[taken] if label else names[taken]  # the reference's concrete path
    reads = ev.reads
    kind = type(raw)
    if path not in reads and path not in ev.computed and not path.startswith(NOT_DOCUMENT):
        if kind in _PLAIN_JSON:  # `to_json_value`, inline for the usual leaves
            reads[path] = raw
        else:
            _record(ev, path, raw)
    if kind in PLAIN_ENGINE:
        return raw
    return _leaf_value(ev, raw)


def _record(ev: Evaluator, path: str, raw: Any) -> None:
    """A leaf that is not plain JSON recorded as the reference records it (not an object)."""
    if type(raw) is list and all_text(raw):  # a list of text, the usual
        ev.reads[path] = raw[:]
    elif SHAPES[type(raw)] != MODEL:
        ev.reads[path] = to_json_value(raw)


def _leaf_value(ev: Evaluator, raw: Any) -> Any:
    """The engine value of a leaf that is not a plain engine value."""
    if raw is None:
        return UNKNOWN
    if type(raw) is list and all_text(raw):  # its `engine_value`: a copy
        return raw[:]
    return engine_value(raw, ev.ctx.fx_to_pkr)


def _present(
    ev: Evaluator, walked: tuple[Any, int], label: str, names: tuple[str, ...], present: bool
) -> bool:
    """`PATH is present|missing` as `Evaluator._presence` records it (one leaf)."""
    raw, taken = walked
    path = label + names[taken]  # the concrete path the reference names
    if path not in ev.reads and from_document(path) and not is_model(raw):
        ev.reads[path] = to_json_value(raw)
    if raw is None:
        if not present:
            ev.absent.add(path)
        return not present
    return present


_LABELS: dict[tuple[str, str], list[str]] = {}  # (list's path, ending) -> `path[i]ending`
_LABELS_KEPT = 8192


def _labels(path: str, ending: str, count: int) -> list[str]:
    """The concrete paths of a list's items (`ending` after each: a field), at least `count`."""
    labels = _LABELS.get((path, ending))
    if labels is None or len(labels) < count:
        if len(_LABELS) >= _LABELS_KEPT:
            _LABELS.clear()
        labels = _LABELS[path, ending] = [f"{path}[{i}]{ending}" for i in range(count)]
    return labels


def _list_items(ev: Evaluator, walked: tuple[Any, int], label: str, names: tuple[str, ...]) -> Any:
    """A quantifier's items from a list reached through objects (`_items_at`)."""
    raw, taken = walked
    return _items_at(ev, raw, label + names[taken])


def _mapped(ev: Evaluator, raw: Any, path: str, part: str) -> Any:
    """Recording: `LIST.part`, a field of every object of a list reached at `path`, flattened
    and recorded leaf by leaf under its concrete path, as `Evaluator._path` reads a path
    through a list; `_MISSING` when `raw` is not a list (the reference's case)."""
    if raw is None:  # the walk stopped before the list, or there is none: one absent leaf
        ev.reads.setdefault(path, None)
        return UNKNOWN
    if type(raw) is not list:
        return _MISSING
    reads = ev.reads
    fx = ev.ctx.fx_to_pkr
    values: list[Any] = []
    for item, at in zip(raw, _labels(path, "." + part, len(raw)), strict=False):
        leaf = step(item, part)
        kind = type(leaf)
        if kind is str:  # the usual: text is its own JSON and engine value
            if at not in reads:
                reads[at] = leaf
            values.append(leaf)
        elif kind is list:
            for j, one in enumerate(leaf):
                here = f"{at}[{j}]"
                if here not in reads and not is_model(one):
                    reads[here] = to_json_value(one)
                values.append(one if type(one) in PLAIN_ENGINE else engine_value(one, fx))
        else:
            if at not in reads and not is_model(leaf):
                reads[at] = to_json_value(leaf)
            values.append(leaf if kind in PLAIN_ENGINE else engine_value(leaf, fx))
    return values


def _mapped_values(raw: Any, part: str, fx: Any) -> Any:
    """`_mapped`'s value alone (projection): UNKNOWN without the list."""
    if raw is None:
        return UNKNOWN
    if type(raw) is not list:
        return _MISSING
    values: list[Any] = []
    for item in raw:
        leaf = step(item, part)
        if type(leaf) is list:
            values.extend(
                one if type(one) in PLAIN_ENGINE else engine_value(one, fx) for one in leaf
            )
        else:
            values.append(leaf if type(leaf) in PLAIN_ENGINE else engine_value(leaf, fx))
    return values


def _items_at(ev: Evaluator, raw: Any, path: str) -> Any:
    """`_list_items` of a list already reached (`path`: its concrete path)."""
    if raw is None:
        ev.reads.setdefault(path, None)
        return UNKNOWN
    if type(raw) is not list:  # not a list (the schema's tuples or sets): the reference's
        return _MISSING
    return list(zip(raw, _labels(path, "", len(raw)), strict=False))  # labels may run longer


def _read3(
    ev: Evaluator, walked: tuple[Any, int], label: str, names: tuple[str, ...]
) -> tuple[Any, frozenset[str]]:
    """`_read`, with the missing fact that makes the value UNKNOWN (`Evaluator._path`)."""
    raw, taken = walked
    path = label + names[taken]
    reads = ev.reads
    if path not in reads and from_document(path) and path not in ev.computed:
        if not is_model(raw):
            reads[path] = to_json_value(raw)
    value, gaps = ev.engine_value(raw, path)
    return value, (frozenset(gaps) if value is UNKNOWN else NONE)


def _items3(ev: Evaluator, node: Quantifier, scope: Scope) -> tuple[Any, frozenset[str]]:
    """A quantifier's labelled items and the facts its source misses (`Evaluator.items`)."""
    items, missing = ev.items(node, scope)
    return (UNKNOWN if items is None else items), missing


def _ref_items(ev: Evaluator, node: Quantifier, scope: Scope) -> Any:
    """A quantifier's labelled items as the reference takes them (the batch, lists)."""
    items, _ = ev.items(node, scope)
    return UNKNOWN if items is None else items


def _labelled(values: list[Any], label: str) -> list[tuple[Any, str]]:
    """Items of a computed list, labelled as `Evaluator.items` labels them."""
    return [(v, f"{label}[{i}]") for i, v in enumerate(values)]


_MEMO_SCALARS = frozenset({str, int, bool, Decimal, type(None)})
_MEMO_NUMBERS: weakref.WeakKeyDictionary[Expr, int] = weakref.WeakKeyDictionary()
_MEMO_COUNTER = itertools.count()
_MEMO_LOCK = threading.Lock()


def _memo_number(node: Expr) -> int | None:
    """A number shared by equal nodes (of a rule's condition and of its values); None for a
    node that cannot be hashed (none known since constants hash by their value)."""
    try:
        hash(node)
    except TypeError:
        return None
    with _MEMO_LOCK:
        number = _MEMO_NUMBERS.get(node)
        if number is None:
            number = _MEMO_NUMBERS[node] = next(_MEMO_COUNTER)
        return number


def _memo_key(number: int | None, bindings: tuple[tuple[Any, str], ...]) -> Any:
    """The key of a memoised node's value in one finding: its number and the items its
    variables name (a scalar by value, a document's object by identity: it lives as long as
    the finding); None when an item may not outlive the call (a computed value)."""
    if number is None:
        return None
    key: list[Any] = [number]
    for raw, label in bindings:
        kind = type(raw)
        if kind in _MEMO_SCALARS:
            key.append((raw, label))
        elif SHAPES[kind] == MODEL:
            key.append((id(raw), label))
        else:
            return None
    return tuple(key)


def _replay(ev: Evaluator, entry: tuple[Any, tuple[tuple[str, Any], ...], frozenset[str]]) -> Any:
    """A shared node's value, its recording (made once per batch view into an evaluator of
    its own) replayed into `ev`: in one view, the node records the same in every finding."""
    value, reads, absent = entry
    for path, json_value in reads:  # all under `batch.KIND[id]`: never a computed name
        ev.reads.setdefault(path, json_value)
    if absent:
        ev.absent.update(absent)
    return value


def free_names(node: Expr) -> frozenset[str]:
    """The heads of the paths a node reads that it does not bind itself."""
    if isinstance(node, Path):
        return frozenset({node.parts[0]})
    if isinstance(node, Presence):
        return frozenset({node.path.parts[0]})
    if isinstance(node, Quantifier):
        inner: frozenset[str] = frozenset()
        for x in (node.where, node.body):
            if x is not None:
                inner |= free_names(x)
        return free_names(node.source) | (inner - {node.var})
    out: frozenset[str] = frozenset()
    for child in children(node):
        out |= free_names(child)
    return out


def over_batch(node: Quantifier) -> bool:
    """Whether a quantifier ranges over the batch's documents (as `Evaluator.items` says)."""
    source = node.source
    return isinstance(source, Path) and source.parts[0] == "batch" and len(source.parts) == 2


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
    "_MISSING": _MISSING,
    "_NO_WINDOW": _NO_WINDOW,
    "_member_of": member_of,
    "_builtin": builtin,
    "_aggregate": aggregate,
    "_id": id,
    "_kleene": kleene,
    "_skips": skips_unknown_where,
    "_walk": walk_objects,
    "_Evaluator": Evaluator,
    "_Result": Result,
    "_NONE": NONE,
    "_union": union,
    "_NOT_DOCUMENT": NOT_DOCUMENT,
    "_PLAIN_JSON": _PLAIN_JSON,
    "_TEXT": _TEXT,
    "_date": date,
    "_Decimal": Decimal,
    "_decimal_json": decimal_json,
    "_json": to_json_value,
    "_is_model": is_model,
    "_engine": _engine,
    "__builtins__": {},
    **{fn.__name__: fn for fn in (
        type, getattr, _path_value, _absent, _path_items, _batch_leaves, _batch_documents,
        _view_store, _window, _window_rec, _arith, _member, _read, _present, _list_items, _items_at,
        _mapped, _mapped_values, _ref_items, _labelled, _replay, _memo_key, _read3, _items3, tuple,
        list, set, frozenset, str, _record, _leaf_value, map,
    )},  # fmt: skip
}


# -- code templates ------------------------------------------------------------------------
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
        assert isinstance(node.ctx, ast.Load) or isinstance(sub, ast.Tuple), node.id
        return sub


def _code(template: str, **subs: Any) -> list[ast.stmt]:
    """Statements of one of this module's fixed templates with its placeholders filled (the
    template is this module's own text; nothing of a rule is ever parsed)."""
    tree = _Fill(subs).visit(ast.parse(template))  # parsed afresh: the C parser is quicker
    body: list[ast.stmt] = tree.body  # than copying a parsed tree, which the filling edits
    return body


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _env_doc() -> ast.expr:
    """`env.doc`: the evaluating document."""
    return ast.Attribute(_name("env"), "doc", ast.Load())


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


class SchemaPath(NamedTuple):
    """A path the entity schema types: its steps from a model, whether each step but the last
    may be absent, and the type of the field it ends at."""

    steps: tuple[str, ...]
    optional: list[bool]
    leaf: Type

    @property
    def item_model(self) -> type[BaseModel] | None:
        """The model of the items of the list it ends at (None: not a list of objects)."""
        item = self.leaf.item if self.leaf.name == "list" else None
        return None if item is None else item.model


#: whether a concrete path `P` is a new fact of the document (`from_document`, inline)
_NEW_FACT = "P not in ev.reads and P not in ev.computed and not P.startswith(_NOT_DOCUMENT)"
#: a leaf `R` read at path `P`: recorded (when `{new}`) and valued as `_read` does
_RECORD_SCALAR = (
    "if {new}:\n"
    "    if type(R) in _PLAIN_JSON:\n"
    "        ev.reads[P] = R\n"
    "    else:\n"
    "        _record(ev, P, R)\n"
    "T = R if type(R) in _PLAIN else _leaf_value(ev, R)\n"
)
#: the same for a leaf the schema calls a date or a number, by its exact type first
_RECORD_TYPED = {
    "date": (
        "if type(R) is _date:\n"
        "    if {new}:\n"
        "        ev.reads[P] = R.isoformat()\n"
        "    T = R.toordinal()\n"
        "else:\n"
    ),
    "number": (
        "if type(R) is _Decimal:\n"
        "    if {new}:\n"
        "        ev.reads[P] = _decimal_json(R)\n"
        "    T = R\n"
        "else:\n"
    ),
}
#: the same for a leaf that may be a list: a list of text (the usual list) copied for both in
#: one pass
_RECORD_LEAF = (
    "if type(R) is list and _TEXT.issuperset(map(type, R)):\n"
    "    T = R[:]\n"
    "    if {new}:\n"
    "        ev.reads[P] = R[:]\n"
    "else:\n" + textwrap.indent(_RECORD_SCALAR, "    ")
)


class _Generator:
    """Builds one function for one expression: `_value(env)` (values mode) or, recording,
    `_value(env, ev, scope)`, which also records into `ev` what the reference records.

    The code depends only on the expression's structure (`_structure`); what a date or a
    parameter changes (folded constants, nodes handed to the reference interpreter) reaches it
    through its namespace, bound from the tree's nodes by their pre-order position. So a new
    date whose trees have the same structure reuses the compiled code with a new namespace."""

    def __init__(
        self,
        node: Expr,
        *,
        record: bool = False,
        outer: frozenset[str] = frozenset(),
        root: type[BaseModel] | None = None,
        kept: frozenset[int] | None = None,
    ) -> None:
        #: recording mode: evaluate every part the reference evaluates (both sides of
        #: and/or, every item) and record the facts read and found absent, with their labels
        self.record = record
        #: recording: the pre-order positions of the nodes whose values are kept per finding
        #: (`worth_keeping`); None: every node that can be
        self.kept = kept
        #: the model of the documents the code reads (their kind's entity), when known: paths
        #: through its objects are then read without asking each value's shape
        self.root = root
        #: locals of quantifier items known to be objects of one model (from `root`'s schema)
        self.models: dict[str, type[BaseModel]] = {}
        #: locals of items of a list the schema types, by type (labels: document facts)
        self.document_items: dict[str, Type] = {}
        #: names of the scope the function is called with (a rule's computed values)
        self.outer = outer
        self.namespace: dict[str, Any] = dict(_RUNTIME)
        self.binders: list[tuple[str, int, Callable[[Any], Any]]] = []
        self._numbers = itertools.count()
        self.prologue: list[ast.stmt] = []
        self.operand_gap = "_NONE"  # the missing facts of the last unary operand (three-valued)
        #: per block of statements (a list, kept alive here): the paths computed in it
        self._blocks: dict[int, tuple[list[ast.stmt], dict[Any, str]]] = {}
        #: the blocks of the nodes being emitted, outermost first: a block made while a node
        #: is emitted into another is placed after what that other block holds by then
        self._enclosing: list[list[ast.stmt]] = []
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

    # -- what the schema says ---------------------------------------------------------------
    def schema_path(self, parts: tuple[str, ...], scope: dict[str, str]) -> SchemaPath | None:
        """What the schema says of a path from a quantifier item of a known model or from the
        document (`root`): every step but the last holds one object (optional or not), the
        last is a field. None otherwise (through a list, a mapping, an unknown name, a
        computed value: the general code's case)."""
        head = parts[0]
        if head in scope:
            model, steps = self.models.get(scope[head]), parts[1:]
        elif self.root is None or head in self.outer or self.delegated(head, scope):
            return None
        else:
            model, steps = self.root, parts
        if model is None or not steps:
            return None
        optional: list[bool] = []
        for part in steps[:-1]:
            info = model_fields(model).get(part)
            if info is None or info.type.name != "object" or info.type.model is None:
                return None
            optional.append(info.optional)
            model = info.type.model
        leaf = model_fields(model).get(steps[-1])
        return None if leaf is None else SchemaPath(steps, optional, leaf.type)

    def typed_walk(
        self, parts: tuple[str, ...], scope: dict[str, str], out: list[ast.stmt], labelled: bool
    ) -> tuple[ast.Name, ast.expr | None, SchemaPath] | None:
        """A path the schema types (`schema_path`, returned last), walked attribute by attribute
        into a new local: the leaf, or None where a step is absent (the walk stops there, as
        `walk_objects` does). `labelled`: also the concrete path walked (the reference's
        label: up to the absent step, if one is), a constant suffix of the item's label when
        no step may be absent. The attributes are the model's own field names (checked
        against it), never rule text. None when the schema does not type the path."""
        typed = self.schema_path(parts, scope)
        if typed is None:
            return None
        steps, optional = typed.steps, typed.optional
        head = parts[0]

        def concrete(taken: int) -> ast.expr:
            if head not in scope:
                return self.constant(".".join(steps[:taken]))
            suffix = self.constant("".join("." + p for p in steps[:taken]))
            return ast.BinOp(_name(scope[head] + "l"), ast.Add(), suffix)

        leaf = self.fresh("_r")
        walked = self.fresh("_q") if labelled and any(optional) else None
        block = out
        chain: ast.expr = _name(scope[head]) if head in scope else _env_doc()
        for taken, part in enumerate(steps, 1):
            chain = ast.Attribute(chain, part, ast.Load())
            if taken < len(steps) and not optional[taken - 1]:
                continue
            block.extend(_code("R = CHAIN", R=leaf, CHAIN=chain))
            if walked is not None:
                block.extend(_code("P = PATH", P=walked, PATH=concrete(taken)))
            if taken < len(steps):  # an optional object: the rest only when it is there
                inner: list[ast.stmt] = []
                block.append(
                    ast.If(ast.Compare(_name(leaf), [ast.IsNot()], [ast.Constant(None)]), inner, [])
                )
                block = inner
                chain = _name(leaf)
        if not labelled:
            return _name(leaf), None, typed
        path = _name(walked) if walked is not None else concrete(len(steps))
        return _name(leaf), path, typed

    def typed_mapped(
        self, parts: tuple[str, ...], scope: dict[str, str]
    ) -> tuple[tuple[str, ...], str] | None:
        """A path through one list of objects the schema types (`firm.people.roles`): the path
        to the list and the field of its items; None for any other path."""
        to_list = self.schema_path(parts[:-1], scope) if len(parts) > 1 else None
        model = None if to_list is None else to_list.item_model
        if model is None or parts[-1] not in model_fields(model):
            return None
        return parts[:-1], parts[-1]

    def typed_items(self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """Recording: a quantifier's items from a list the schema types, labelled as
        `Evaluator.items` labels them (`_list_items` without the walk)."""
        assert isinstance(node.source, Path)
        walked = self.typed_walk(node.source.parts, scope, out, labelled=True)
        assert walked is not None
        leaf, path, _ = walked
        assert path is not None
        local = self.fresh("_t")
        out.extend(
            _code(
                "T = _items_at(ev, LEAF, PATH)\nif T is _MISSING:\n"
                "    T = _ref_items(ev, NODE, SCOPE)",
                T=local,
                LEAF=leaf,
                PATH=path,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
            )
        )
        return _name(local)

    def item_local(self, node: Quantifier, scope: dict[str, str]) -> str:
        """A new local for a quantifier's item, its model noted when the schema gives it."""
        item = self.fresh("_v")
        model = self.item_model(node.source, scope)
        if model is not None:
            self.models[item] = model
        source = node.source  # a list the schema types (never the batch: no such field)
        typed = self.schema_path(source.parts, scope) if isinstance(source, Path) else None
        if typed is not None and typed.leaf.name == "list" and typed.leaf.item is not None:
            self.document_items[item] = typed.leaf.item
        return item

    def item_read(self, item: str, out: list[ast.stmt], local: str) -> ast.expr:
        """Recording: a quantifier's item itself, as `_read` reads it. An item of a list the
        schema types is a document's fact by its label, and one of scalars is no list."""
        typed = self.document_items.get(item)
        new = _NEW_FACT if typed is None else "P not in ev.reads"
        leaf = typed is None or typed.name in ("list", "object")  # or else a scalar
        record = _RECORD_LEAF if leaf else _RECORD_SCALAR
        out.extend(
            _code(
                "R = ITEM\nP = LABEL\n" + record.format(new=new),
                T=local,
                R=self.fresh("_r"),
                P=self.fresh("_q"),
                ITEM=_name(item),
                LABEL=_name(item + "l"),
            )
        )
        return _name(local)

    def item_model(self, source: Expr, scope: dict[str, str]) -> type[BaseModel] | None:
        """The model of a quantifier's items when its source is a list of objects of one model
        reached through objects (`firm.people`, `p.convictions`), or documents of the batch
        (`batch.transfer`)."""
        if not isinstance(source, Path):
            return None
        if source.parts[0] == "batch" and "batch" not in scope and len(source.parts) == 2:
            return KINDS.get(source.parts[1])
        typed = self.schema_path(source.parts, scope)
        return None if typed is None else typed.item_model

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
        result = self.top(node, out)
        body = self.prologue + out + [ast.Return(self.returned(result))]
        func = ast.FunctionDef(
            name="_value",
            args=ast.arguments(
                posonlyargs=[],
                args=[ast.arg(a) for a in (("env", "ev", "scope") if self.record else ("env",))],
                kwonlyargs=[],
                kw_defaults=[],
                defaults=[],
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

    def top(self, node: Expr, out: list[ast.stmt]) -> ast.expr:
        return self.emit(node, {}, out)

    def returned(self, result: ast.expr) -> ast.expr:
        return result

    # -- hoisting --------------------------------------------------------------------------
    def emit(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        """Statements appended to `out` computing `node`; the returned expression is a name or
        constant holding its value (evaluating it has no effect). A path already computed
        earlier in the same block, from the same binding, is that value again (`"X" in
        p.roles or "Y" in p.roles`): reading it again would give, and record, nothing new."""
        if not isinstance(node, Path):
            self._enclosing.append(out)
            try:
                return self.computed(node, scope, out)
            finally:
                self._enclosing.pop()
        block = self._blocks.get(id(out))
        if block is None or block[0] is not out:
            block = self._blocks[id(out)] = (out, {})
        key = (node.parts, scope.get(node.parts[0]))
        known = block[1].get(key)
        if known is None and not self.record:
            # values mode: a path an enclosing block computed already (before this block's
            # place) is that value too (`"A" in p.roles or "B" in p.roles`, nested); the
            # recording modes keep to one block, where a repeat records nothing new
            known = self._enclosing_value(key, out)
        if known is None:
            value = self.computed(node, scope, out)
            if not isinstance(value, ast.Name):
                return value
            known = block[1][key] = value.id
        return _name(known)

    def _enclosing_value(self, key: Any, out: list[ast.stmt]) -> str | None:
        for block in reversed(self._enclosing):
            if block is out:
                continue
            known = self._blocks.get(id(block))
            if known is not None and known[0] is block and key in known[1]:
                return known[1][key]
        return None

    def computed(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        bound = frozenset(scope)
        if self.record and self.memoisable(node, bound):
            # a rule's `values` often restate its condition's quantifiers and their `where`
            # for the same item: computed once per finding (the evaluator's memo). Exact: in
            # one finding a second evaluation would record only what the first recorded.
            names = sorted(free_names(node) & bound)
            key, local = self.fresh("_m"), self.fresh("_t")
            inner: list[ast.stmt] = []
            value = self.hoisted(node, scope, inner)
            one = (  # one document object bound (the usual case): its key made here
                "K = (NUMBER, (_id(V), VL)) if NUMBER is not None else None\n"
                if len(names) == 1 and scope[names[0]] in self.models  # an object, known
                else "K = (NUMBER, (_id(V), VL)) if NUMBER is not None and _SHAPES[type(V)] == "
                "_MODEL else (NUMBER, (V, VL)) if NUMBER is not None and type(V) is str "
                "else _memo_key(NUMBER, BINDINGS)\n"
                if len(names) == 1
                else "K = _memo_key(NUMBER, BINDINGS)\n"
            )
            out.extend(
                _code(
                    one + "T = _MISSING if K is None else ev.memo.get(K, _MISSING)\n"
                    "if T is _MISSING:\n    BODY\n    T = VALUE\n    if K is not None:\n"
                    "        ev.memo[K] = T",
                    K=key,
                    T=local,
                    NUMBER=self.bound_constant(node, _memo_number),
                    BINDINGS=ast.Tuple(
                        [
                            ast.Tuple([_name(scope[n]), _name(scope[n] + "l")], ast.Load())
                            for n in names
                        ],
                        ast.Load(),
                    ),
                    BODY=inner,
                    VALUE=value,
                    V=_name(scope[names[0]]) if names else None,
                    VL=_name(scope[names[0]] + "l") if names else None,
                )
            )
            return _name(local)
        return self.hoisted(node, scope, out)

    def memoisable(self, node: Expr, bound: frozenset[str]) -> bool:
        """An `and`/`or` or a quantifier inside a quantifier, reading its items, or one the
        finding asks for again (`kept`: LIC-11's `max(...)`), reading neither the batch's
        documents nor a computed value: kept per finding in recording mode."""
        if not (
            isinstance(node, Quantifier) or (isinstance(node, Binary) and node.op in ("and", "or"))
        ):
            return False
        free = free_names(node)
        if self.kept is not None and self._positions.get(id(node)) not in self.kept:
            return False
        asked = bool(free & bound) or self.kept is not None
        return asked and not (free & (self.outer | self.documents | {"batch"}))

    def hoisted(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        bound = frozenset(scope)
        if not bound or isinstance(node, Const | Literal):
            return self.plain(node, scope, out)
        if not _mentions(node, bound):
            # loop-invariant inside a quantifier: a local computed on first use
            local = self.fresh("_h")
            self.prologue.extend(_code("H = _MISSING", H=local))
            inner: list[ast.stmt] = []
            value = self.plain(node, scope, inner)
            if (
                self.record
                and not isinstance(self, _ThreeValued)
                and not free_names(node) & (self.outer | self.documents | {"batch"})
            ):
                # recording: kept per finding too (`ev.memo`), so that a rule's values and
                # texts take what its condition computed (LIC-06's `firm.people.roles`); a
                # repeat in the same finding would record nothing new
                out.extend(
                    _code(
                        "if H is _MISSING:\n    H = ev.memo.get(KEY, _MISSING) if KEY[0] is not "
                        "None else _MISSING\n    if H is _MISSING:\n        BODY\n"
                        "        H = VALUE\n        if KEY[0] is not None:\n"
                        "            ev.memo[KEY] = H",
                        H=local,
                        KEY=self.bound_constant(node, _invariant_key),
                        BODY=inner,
                        VALUE=value,
                    )
                )
                return _name(local)
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
        if shared and self.record:  # evaluated once per view into an evaluator of its own
            out.extend(
                _code(
                    "T = D.get(_id(V), _MISSING)\n"
                    "if T is _MISSING:\n    SAVED = ev\n    ev = _Evaluator(env.ctx)\n"
                    "    BODY\n    T = (VALUE, tuple(ev.reads.items()), frozenset(ev.absent))\n"
                    "    ev = SAVED\n    D[_id(V)] = T\nT = _replay(ev, T)",
                    T=local,
                    D=table,
                    V=scope[var],
                    BODY=inner,
                    VALUE=value,
                    SAVED=self.fresh("_e"),
                )
            )
            return _name(local)
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
                "T = ev.evaluate_in(NODE, SCOPE).value"
                if self.record
                else "T = env.reference(NODE, SCOPE)",
                T=local,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
            )
        )
        return _name(local)

    def scope_dict(self, scope: dict[str, str]) -> ast.expr:
        """A reference scope (name -> (raw value, label)) of the bound variables (recording:
        with their labels, over the scope the function was called with)."""
        if self.record and not scope:
            return _name("scope")
        keys: list[ast.expr | None] = [None] if self.record else []
        values: list[ast.expr] = [_name("scope")] if self.record else []
        for var, local in scope.items():
            name = self.constant(var)
            keys.append(name)
            label = _name(local + "l") if self.record else name
            values.append(ast.Tuple([_name(local), label], ast.Load()))
        return ast.Dict(keys, values)

    def delegated(self, head: str, scope: dict[str, str]) -> bool:
        """Whether a path from `head` is the reference interpreter's: from `as_of` or the
        batch."""
        return head not in scope and head in ("as_of", "batch")

    def recorded(
        self, parts: tuple[str, ...], scope: dict[str, str], out: list[ast.stmt]
    ) -> tuple[ast.expr, ast.expr, ast.expr, ast.expr]:
        """Recording a path through objects: its start, steps, the start's label and the
        concrete path's ending after each number of steps taken (`_read`). A name the
        calling scope may bind (a computed value) starts there when it does, as in the
        reference, and from the document otherwise."""
        head, rest = parts[0], parts[1:]
        from_var = tuple("".join("." + p for p in rest[:i]) for i in range(len(rest) + 1))
        from_doc = tuple(".".join(parts[:i]) for i in range(len(parts) + 1))
        if head in scope:
            return (
                _name(scope[head]),
                self.constant(rest),
                _name(scope[head] + "l"),
                self.constant(from_var),
            )
        if head not in self.outer:
            return _env_doc(), self.constant(parts), ast.Constant(""), self.constant(from_doc)
        start, steps, label, names = (self.fresh(p) for p in ("_s", "_p", "_l", "_n"))
        out.extend(
            _code(
                "E = scope.get(HEAD)\nif E is None:\n    S = env.doc\n    P = PARTS\n"
                "    L = ''\n    N = FROM_DOC\nelse:\n    S, L = E\n    P = REST\n"
                "    N = FROM_VAR",
                E=self.fresh("_o"),
                HEAD=self.constant(head),
                S=start,
                P=steps,
                L=label,
                N=names,
                PARTS=self.constant(parts),
                FROM_DOC=self.constant(from_doc),
                REST=self.constant(rest),
                FROM_VAR=self.constant(from_var),
            )
        )
        return _name(start), _name(steps), _name(label), _name(names)

    # -- paths -----------------------------------------------------------------------------
    def walked(
        self,
        node: Path | Presence,
        scope: dict[str, str],
        out: list[ast.stmt],
        reading: str,
        **subs: Any,
    ) -> None:
        """Recording a path or presence test: walked through objects here, `reading` the leaf
        (`W`, with `LABEL` and `NAMES`), or, through a list, the reference's (`GENERAL`)."""
        parts = node.parts if isinstance(node, Path) else node.path.parts
        start, steps, label, names = self.recorded(parts, scope, out)
        fallback: list[ast.stmt] = []
        general = self.reference(node, scope, fallback)
        out.extend(
            _code(
                "W = _walk(START, PARTS)\nif W is None:\n    FALLBACK\n    T = GENERAL\n"
                + ("    G = GENERAL_GAP\n" if "G" in subs else "")  # three-valued
                + "else:\n    "
                + reading,
                W=self.fresh("_w"),
                START=start,
                PARTS=steps,
                FALLBACK=fallback,
                GENERAL=general,
                GENERAL_GAP=self.gap(general),
                LABEL=label,
                NAMES=names,
                **subs,
            )
        )

    def gap(self, value: ast.expr) -> ast.Name:
        """The missing facts of a value (three-valued mode; `_NONE` here)."""
        return _name("_NONE")

    def start(
        self, parts: tuple[str, ...], scope: dict[str, str]
    ) -> tuple[ast.expr, tuple[str, ...]]:
        head = parts[0]
        if head in scope:
            return _name(scope[head]), parts[1:]
        return ast.Attribute(_name("env"), "doc", ast.Load()), parts

    def read(self, node: Path, scope: dict[str, str], out: list[ast.stmt], local: str) -> ast.expr:
        """Recording a path: walked and recorded by one call (`_read`) through objects; through
        a list, the reference's. A path the schema says runs through required objects to a
        field (`p.roles`, `firm.noc_status`) is read inline, attribute by attribute."""
        typed = self.typed_read(node, scope, out, local)
        if typed is not None:
            return typed
        mapped = self.mapped_read(node, scope, out, local)
        if mapped is not None:
            return mapped
        if node.parts[0] in scope and len(node.parts) == 1:  # an item itself: `_read` inline
            return self.item_read(scope[node.parts[0]], out, local)
        start, steps, label, names = self.recorded(node.parts, scope, out)
        return self.or_reference(  # paths the schema does not type: the rare case
            "_read(ev, START, PARTS, LABEL, NAMES)", node, scope, out, local,
            START=start, PARTS=steps, LABEL=label, NAMES=names,
        )

    def or_reference(
        self, call: str, node: Path, scope: dict[str, str], out: list[ast.stmt], local: str,
        **subs: Any,
    ) -> ast.expr:
        """`local = CALL` (a runtime read), or the reference interpreter's value of `node`
        where the read answers `_MISSING` (a shape it does not know)."""
        fallback: list[ast.stmt] = []
        general = self.reference(node, scope, fallback)
        out.extend(
            _code(
                f"T = {call}\nif T is _MISSING:\n    FALLBACK\n    T = GENERAL",
                T=local, FALLBACK=fallback, GENERAL=general, **subs,
            )
        )
        return _name(local)

    def mapped_read(
        self, node: Path, scope: dict[str, str], out: list[ast.stmt], local: str
    ) -> ast.expr | None:
        """A path through one list of objects the schema types (`typed_mapped`), in one call
        over the list: `_mapped` recording, `_mapped_values` for the value alone; the
        reference's when the schema's list is not a list at run time."""
        mapped = self.typed_mapped(node.parts, scope)
        if mapped is None:
            return None
        walked = self.typed_walk(mapped[0], scope, out, labelled=self.record)
        assert walked is not None
        call = (
            "_mapped(ev, LEAF, PATH, PART)"
            if self.record
            else "_mapped_values(LEAF, PART, env.ctx.fx_to_pkr)"
        )
        return self.or_reference(
            call, node, scope, out, local,
            LEAF=walked[0], PATH=walked[1], PART=self.constant(mapped[1]),
        )

    def typed_read(
        self, node: Path, scope: dict[str, str], out: list[ast.stmt], local: str
    ) -> ast.expr | None:
        """A recorded read the schema types (`typed_walk`): from a quantifier item of a known
        model or from the document, attribute by attribute; the concrete path is the item's
        label and a constant suffix (or a constant), always a document's fact (never a
        parameter, `as_of` or a computed value's name)."""
        walked = self.typed_walk(node.parts, scope, out, labelled=True)
        if walked is None:
            return None
        leaf, path, schema = walked
        assert path is not None
        kind = schema.leaf.name
        if kind in _RECORD_TYPED:
            record = _RECORD_TYPED[kind] + textwrap.indent(_RECORD_SCALAR, "    ")
        else:
            record = _RECORD_LEAF if kind in ("list", "object") else _RECORD_SCALAR
        out.extend(
            _code(
                "P = PATH\n" + record.format(new="P not in ev.reads"),
                T=local,
                R=leaf,
                P=self.fresh("_q"),
                PATH=path,
            )
        )
        return _name(local)

    def path(self, node: Path, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if self.delegated(node.parts[0], scope):
            return self.reference(node, scope, out)
        local = self.fresh("_t")
        if self.record:  # through objects, recorded here; through lists, the reference's
            return self.read(node, scope, out, local)
        walked = self.typed_walk(node.parts, scope, out, labelled=False)
        if walked is not None:  # through objects the schema types: attribute by attribute
            kind = walked[2].leaf.name
            value = (
                "T[:] if type(T) is list and _TEXT.issuperset(map(type, T)) else "
                if kind in ("list", "object")
                else "T.toordinal() if type(T) is _date else "
                if kind == "date"
                else ""
            )
            out.extend(
                _code(
                    "T = LEAF\nif type(T) not in _PLAIN:\n"
                    f"    T = {value}_engine(T, env.ctx.fx_to_pkr)",
                    T=local,
                    LEAF=walked[0],
                )
            )
            return _name(local)
        mapped = self.mapped_read(node, scope, out, local)
        if mapped is not None:
            return mapped
        start, parts = self.start(node.parts, scope)
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
        if self.delegated(node.path.parts[0], scope):
            return self.reference(node, scope, out)
        local = self.fresh("_t")
        walked = self.typed_walk(node.path.parts, scope, out, labelled=self.record)
        if walked is not None and self.record:  # `_present`, inline
            leaf, path, _ = walked
            out.extend(
                _code(
                    "P = PATH\nif P not in ev.reads and not _is_model(R):\n"
                    "    ev.reads[P] = _json(R)\n"
                    + (
                        "T = R is not None"
                        if node.present
                        else "if R is None:\n    ev.absent.add(P)\n    T = True\nelse:\n"
                        "    T = False"
                    ),
                    T=local,
                    R=leaf,
                    P=self.fresh("_q"),
                    PATH=path,
                )
            )
            return _name(local)
        if walked is not None:
            test = "T = R is not None" if node.present else "T = R is None"
            out.extend(_code(test, T=local, R=walked[0]))
            return _name(local)
        if self.record:
            self.walked(
                node,
                scope,
                out,
                "T = _present(ev, W, LABEL, NAMES, PRESENT)",
                T=local,
                PRESENT=ast.Constant(node.present),
            )
            return _name(local)
        start, parts = self.start(node.path.parts, scope)
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
        self.operand_gap = self.gap(operand).id
        local = self.fresh("_t")
        template = "T = A if A is _U else not A" if node.op == "not" else "T = A if A is _U else -A"
        out.extend(_code(template, T=local, A=operand))
        return _name(local)

    def binary(self, node: Binary, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        op, right = node.op, node.right
        if _batch_membership(node) and "batch" not in scope:  # the batch's value index
            return self.reference(node, scope, out)
        local = self.fresh("_t")
        a = self.emit(node.left, scope, out)
        if op in ("and", "or") and self.record:  # both sides: the reference records each
            b = self.emit(right, scope, out)
            decisive = op == "or"  # `kleene`, inline
            out.extend(
                _code(
                    "T = DECISIVE if A is DECISIVE or B is DECISIVE else "
                    "_U if A is _U or B is _U else OTHER",
                    T=local,
                    A=a,
                    B=b,
                    DECISIVE=ast.Constant(decisive),
                    OTHER=ast.Constant(not decisive),
                )
            )
            return _name(local)
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
                _code(  # text in a list: what `membership`'s scan finds, without it (a list of
                    # text alone holds no UNKNOWN item, so text not in it is not a member)
                    "T = _U if A is _U or B is _U else (WANT if A in B else NOT_WANT "
                    "if _TEXT.issuperset(map(type, B)) else _member(A, B, WANT)) "
                    "if type(A) is str and type(B) is list else _member(A, B, WANT)",
                    T=local,
                    A=a,
                    B=b,
                    WANT=want,
                    NOT_WANT=ast.Constant(op != "in"),
                )
            )
            return _name(local)
        if op in _COMPARE_OPS and self.record:  # both sides, as the reference
            b = self.emit(right, scope, out)
            test = ast.Compare(a, [_COMPARE_OPS[op]()], [b])
            out.extend(
                _code("T = _U if A is _U or B is _U else TEST", T=local, A=a, B=b, TEST=test)
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
        kinds = QUANTIFIERS if self.record else WINDOWED
        if over_batch(node) and node.kind in kinds and id(node) not in self.item_by_item:
            return self.windowed(node, scope, out)  # running sums first (interp/windows.py)
        kind, var = node.kind, node.var
        items = self.items(node, scope, out)
        item = self.item_local(node, scope)
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
            self._enclosing.append(where_code)  # the body runs after the `where`, per item
            body = self.emit(node.body, inner_scope, body_code) if node.body is not None else None
        finally:
            self.documents = documents
            if self._enclosing and self._enclosing[-1] is where_code:
                self._enclosing.pop()
        local, keep, value = self.fresh("_t"), self.fresh("_t"), self.fresh("_t")
        unknown, values = self.fresh("_t"), self.fresh("_t")
        loop: list[ast.stmt] = []
        if where is not None:
            loop.extend(where_code)
            loop.extend(
                _code("KEEP = WHERE\nif KEEP is False:\n    continue", KEEP=keep, WHERE=where)
            )
        if node.body is None and kind == "select" and self.record:  # the item, read
            self.item_read(item, loop, value)
            if where is not None:
                loop.extend(_code("if KEEP is _U:\n    V = _U", V=value, KEEP=keep))
        elif node.body is None and kind == "select":  # the item itself
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
            else:  # an UNKNOWN `where`: the semantics module's skip rule
                loop.extend(
                    _code(
                        "V = BODY\nif KEEP is _U:\n    if _skips(KIND, V):\n        continue\n"
                        "    V = _U",
                        V=value,
                        BODY=body,
                        KEEP=keep,
                        KIND=self.constant(kind),
                    )
                )
        decisive = {"any": ("True", "True"), "none": ("True", "False"), "all": ("False", "False")}
        if kind in decisive and not self.record:  # stops at its first decisive item
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
                # recording: every item, with its label (the concrete path the reference names)
                ITEM=ast.Tuple([ast.Name(v, ast.Store()) for v in (item, item + "l")], ast.Store())
                if self.record
                else item,
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
                f"T = {'_window_rec(ev' if self.record else '_window(env'}, NODE, SCOPE)\n"
                "if T is _NO_WINDOW:\n    LOOP",
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
        if self.record:
            return self.labelled_items(node, scope, out, local)
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
        walked = (
            self.typed_walk(source.parts, scope, out, labelled=False)
            if isinstance(source, Path)
            else None
        )
        if walked is not None:  # a list the schema types, reached attribute by attribute
            out.extend(_code("T = _U if LEAF is None else LEAF", T=local, LEAF=walked[0]))
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

    def labelled_items(
        self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt], local: str
    ) -> ast.expr:
        """Recording: the items with their labels, as `Evaluator.items` gives them (a list
        reached through objects taken here, the batch and other lists by the reference)."""
        source = node.source
        if not isinstance(source, Path):  # a computed list: its items named `ORIGIN[i]`
            value = self.emit(source, scope, out)
            out.extend(
                _code(
                    "T = _U if V is _U else _labelled(V, LABEL)",
                    T=local,
                    V=value,
                    LABEL=self.bound_constant(source, _origin),
                )
            )
            return _name(local)
        fallback: list[ast.stmt] = []
        general = self.fresh("_t")
        fallback.extend(
            _code(
                "T = _ref_items(ev, NODE, SCOPE)",
                T=general,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
            )
        )
        if self.delegated(source.parts[0], scope):
            out.extend(fallback)
            return _name(general)
        typed = self.schema_path(source.parts, scope) is not None
        if typed and scope and not _mentions(source, frozenset(scope)):
            # the same list for every item of the loops around it: taken once per call (its
            # one possible record, the list found absent, is the same each time)
            hoisted = self.fresh("_h")
            self.prologue.extend(_code("H = _MISSING", H=hoisted))
            inner: list[ast.stmt] = []
            value = self.typed_items(node, scope, inner)
            out.extend(
                _code(
                    "if H is _MISSING:\n    BODY\n    H = VALUE", H=hoisted, BODY=inner, VALUE=value
                )
            )
            return _name(hoisted)
        if typed:
            return self.typed_items(node, scope, out)
        start, parts, label, names = self.recorded(source.parts, scope, out)
        out.extend(
            _code(
                "W = _walk(START, PARTS)\n"
                "if W is None or (W[0] is not None and type(W[0]) is not list):\n"
                "    FALLBACK\n    T = GENERAL\nelse:\n    T = _list_items(ev, W, LABEL, NAMES)",
                W=self.fresh("_w"),
                T=local,
                START=start,
                PARTS=parts,
                FALLBACK=fallback,
                GENERAL=_name(general),
                LABEL=label,
                NAMES=names,
            )
        )
        return _name(local)


class _Effects(_Generator):
    """Recording mode for a node whose value is not needed (the condition of a rule that held:
    its finding needs only what it read). The same reads and absent facts, first recorded in
    the same order: a quantifier still evaluates `where` (it decides whether the body is
    read) but computes no value that decides nothing, and in a quantifier over the batch an
    item is skipped once its evaluation cannot record anything new (`_skippable`): in TR-10
    the inner window of each transfer of the outer one re-reads transfers already recorded."""

    def top(self, node: Expr, out: list[ast.stmt]) -> ast.expr:
        self.effects(node, {}, out)
        return ast.Constant(None)

    def effects(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> None:
        if isinstance(node, Const | Literal):
            return
        if isinstance(node, Quantifier) and not (
            self.memoisable(node, frozenset(scope)) and not over_batch(node)
        ):
            self.quantifier_effects(node, scope, out)
        elif isinstance(node, Quantifier):
            # inside a quantifier, over its items: its value computed and kept per finding
            # (`ev.memo`), which records the same, so that a rule's `values` restating it
            # (LIC-22's `select(t in ... where none(p in ...: ...))`) reuse it whole
            self.emit(node, scope, out)
        elif (
            isinstance(node, Binary | Unary | Call | ListLiteral)
            and not _batch_membership(node)
            and not (isinstance(node, Call) and node.name == "linked")
            and not self.memoisable(node, frozenset(scope))  # kept: its value is asked again
        ):
            for child in children(node):  # its value would evaluate every operand, in order
                self.effects(child, scope, out)
        else:
            self.emit(node, scope, out)  # evaluating it is what records

    def quantifier_effects(
        self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]
    ) -> None:
        if over_batch(node) and node.kind in QUANTIFIERS and id(node) not in self.item_by_item:
            # a window of the batch records from its running sums first (interp/windows.py)
            self.item_by_item.add(id(node))
            by_item: list[ast.stmt] = []
            self.quantifier_effects(node, scope, by_item)
            out.extend(
                _code(
                    "if _window_rec(ev, NODE, SCOPE) is _NO_WINDOW:\n    LOOP",
                    NODE=self.bound_constant(node, _itself),
                    SCOPE=self.scope_dict(scope),
                    LOOP=by_item or [ast.Pass()],
                )
            )
            return
        var = node.var
        local = self.fresh("_t")
        items = self.labelled_items(node, scope, out, local)
        item = self.item_local(node, scope)
        inner = {**scope, var: item}
        documents = self.documents
        self.documents = (documents | {var}) if over_batch(node) else (documents - {var})
        try:
            loop: list[ast.stmt] = []
            if node.where is not None:
                keep = self.emit(node.where, inner, loop)
                loop.extend(_code("if KEEP is False:\n    continue", KEEP=keep))
            if node.body is not None:
                self.effects(node.body, inner, loop)
            elif node.kind == "select":  # the item, read
                self.item_read(item, loop, self.fresh("_t"))
        finally:
            self.documents = documents
        target = ast.Tuple([ast.Name(v, ast.Store()) for v in (item, item + "l")], ast.Store())
        if not (over_batch(node) and _skippable(node, frozenset(scope))):
            out.extend(
                _code(
                    "if ITEMS is not _U:\n    for ITEM in ITEMS:\n        LOOP",
                    ITEMS=items,
                    ITEM=target,
                    LOOP=loop,
                )
            )
            return
        done = self.fresh("_t")
        out.extend(
            _code(
                "if ITEMS is not _U:\n    DONE = ev.memo.get(KEY)\n    if DONE is None:\n"
                "        DONE = ev.memo[KEY] = set()\n    FIRST = True\n"
                "    for ITEM in ITEMS:\n        if not FIRST and _id(V) in DONE:\n"
                "            continue\n        FIRST = False\n        LOOP\n"
                "        DONE.add(_id(V))",
                ITEMS=items,
                DONE=done,
                KEY=self.bound_constant(node, _fresh_key),
                FIRST=self.fresh("_t"),
                ITEM=target,
                V=item,
                LOOP=loop,
            )
        )


def _has_quantifier(node: Expr) -> bool:
    return isinstance(node, Quantifier) or any(_has_quantifier(c) for c in children(node))


def _batch_membership(node: Expr) -> bool:
    """`x in batch.KIND.path` (or `not in`): the reference interpreter's, from the batch's
    value index."""
    if not isinstance(node, Binary) or node.op not in ("in", "not in"):
        return False
    right = node.right
    return isinstance(right, Path) and right.parts[0] == "batch" and len(right.parts) > 2


def _skippable(node: Quantifier, bound: frozenset[str]) -> bool:
    """Whether, in one run of a quantifier over the batch, an item's evaluation records
    nothing new once (a) one item of this run had its `where` evaluated and (b) this document
    has had its `where` and its body evaluated before, in any run (this finding).

    So when `where` always evaluates every part of itself (no quantifier inside) and each part
    that records reads either does not name the item (the same in every item of the run: done
    by (a)) or names no other quantifier variable (the same whenever this document is the
    item: done by (b)); and the body names no other quantifier variable (done by (b))."""
    var = node.var
    if node.where is None or _has_quantifier(node.where):
        return False
    outer = bound - {var}
    if node.body is not None and free_names(node.body) & outer:
        return False
    return all(
        var not in free_names(leaf) or not (free_names(leaf) & outer)
        for leaf in _recording_leaves(node.where)
    )


def _recording_leaves(node: Expr) -> list[Expr]:
    """The parts of an expression without quantifiers that record reads: paths, presence
    tests, parameters (their key) and batch memberships (the reference evaluates them)."""
    if isinstance(node, Path | Presence | Param) or _batch_membership(node):
        return [node]
    out: list[Expr] = []
    for child in children(node):
        out.extend(_recording_leaves(child))
    return out


class _ThreeValued(_Generator):
    """Three-valued mode: each node's value and the facts that make it UNKNOWN (a `Result`),
    recording as the reference does; what it cannot specialise (parameters, batch look-ups,
    paths through lists) and what the semantics of missing facts are (membership,
    arithmetic's gaps, a quantifier's aggregate) are the reference interpreter's own. It
    builds the finding of a rule that could not be decided (rare), so nothing is hoisted."""

    def __init__(self, node: Expr, **options: Any) -> None:
        super().__init__(node, **options)
        self.gaps: dict[str, str] = {}  # a value's local -> the local of its missing facts

    def returned(self, result: ast.expr) -> ast.expr:
        return ast.Call(_name("_Result"), [result, self.gap(result)], [])

    def gap(self, value: ast.expr) -> ast.Name:
        if isinstance(value, ast.Name) and value.id in self.gaps:
            return _name(self.gaps[value.id])
        return _name("_NONE")

    def result(self, local: str) -> tuple[ast.Name, str]:
        gap = self.gaps[local] = local + "g"
        return _name(local), gap

    def emit(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if not isinstance(node, ListLiteral):
            return self.plain(node, scope, out)
        items = [self.emit(i, scope, out) for i in node.items]
        value, gap = self.result(self.fresh("_t"))
        out.extend(
            _code(
                "T = ITEMS\nG = _union(GAPS)",
                T=value,
                G=gap,
                ITEMS=ast.List(items, ast.Load()),
                GAPS=ast.List([self.gap(i) for i in items], ast.Load()),
            )
        )
        return value

    def reference(self, node: Expr, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        value, gap = self.result(self.fresh("_t"))
        out.extend(
            _code(
                "R = ev.evaluate_in(NODE, SCOPE)\nT = R.value\nG = R.missing",
                R=self.fresh("_r"),
                T=value,
                G=gap,
                NODE=self.bound_constant(node, _itself),
                SCOPE=self.scope_dict(scope),
            )
        )
        return value

    def param(self, node: Param, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        return self.reference(node, scope, out)

    def path(self, node: Path, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if self.delegated(node.parts[0], scope):
            return self.reference(node, scope, out)
        value, gap = self.result(self.fresh("_t"))
        self.walked(node, scope, out, "T, G = _read3(ev, W, LABEL, NAMES)", T=value, G=gap)
        return value

    def unary(self, node: Unary, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        value = super().unary(node, scope, out)
        assert isinstance(value, ast.Name)
        _, gap = self.result(value.id)  # an unknown operand's missing facts
        out.extend(_code("G = GA if T is _U else _NONE", G=gap, GA=self.operand_gap, T=value))
        return value

    def binary(self, node: Binary, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        op, right = node.op, node.right
        if _batch_membership(node) and "batch" not in scope:  # the batch's value index
            return self.reference(node, scope, out)
        a = self.emit(node.left, scope, out)
        b = self.emit(right, scope, out)
        value, gap = self.result(self.fresh("_t"))
        subs = dict(T=value, G=gap, A=a, B=b, GA=self.gap(a), GB=self.gap(b), OP=self.constant(op))
        if op in ("and", "or"):
            template = "T = _kleene(OP, A, B)\nG = (GA | GB) if T is _U else _NONE"
        elif op in ("in", "not in"):
            template = (
                "R = ev.membership(OP, _Result(A, GA), _Result(B, GB))\nT = R.value\nG = R.missing"
            )
        elif op in _COMPARE_OPS:
            subs["TEST"] = ast.Compare(a, [_COMPARE_OPS[op]()], [b])
            template = (
                "if A is _U or B is _U:\n    T = _U\n    G = GA | GB\nelse:\n"
                "    T = TEST\n    G = _NONE"
            )
        else:
            subs["NODE"] = self.bound_constant(node, _itself)
            template = (
                "if A is _U or B is _U:\n    T = _U\n    G = GA | GB\nelse:\n"
                "    R = ev.arith(OP, A, B, GA | GB, NODE)\n    T = R.value\n    G = R.missing"
            )
        out.extend(_code(template, R=self.fresh("_r"), **subs))
        return value

    def call(self, node: Call, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        if node.name == "linked":
            return self.reference(node, scope, out)
        args = [self.emit(a, scope, out) for a in node.args]
        value, gap = self.result(self.fresh("_t"))
        unknown = ast.BoolOp(
            ast.Or(),
            [ast.Compare(a, [ast.Is()], [_name("_U")]) for a in args] + [ast.Constant(False)],
        )
        out.extend(
            _code(
                "if UNKNOWN:\n    T = _U\n    G = _union(GAPS)\nelse:\n"
                "    T = _builtin(NAME, ARGS)\n    G = _NONE",
                T=value,
                G=gap,
                UNKNOWN=unknown,
                GAPS=ast.List([self.gap(a) for a in args], ast.Load()),
                NAME=self.constant(node.name),
                ARGS=ast.List(list(args), ast.Load()),
            )
        )
        return value

    def quantifier(self, node: Quantifier, scope: dict[str, str], out: list[ast.stmt]) -> ast.expr:
        kind, var = node.kind, node.var
        source = node.source
        items, items_gap = self.fresh("_t"), self.fresh("_t")
        if isinstance(source, Path):
            out.extend(
                _code(
                    "I, IG = _items3(ev, NODE, SCOPE)",
                    I=items,
                    IG=items_gap,
                    NODE=self.bound_constant(node, _itself),
                    SCOPE=self.scope_dict(scope),
                )
            )
        else:
            computed = self.emit(source, scope, out)
            out.extend(
                _code(
                    "I = _U if V is _U else _labelled(V, LABEL)\nIG = GV",
                    I=items,
                    IG=items_gap,
                    V=computed,
                    GV=self.gap(computed),
                    LABEL=self.bound_constant(source, _origin),
                )
            )
        item = self.fresh("_v")
        inner = {**scope, var: item}
        keep, keep_gap, v, v_gap = (self.fresh("_t") for _ in range(4))
        loop: list[ast.stmt] = []
        if node.where is not None:
            w = self.emit(node.where, inner, loop)
            loop.extend(
                _code(
                    "K = W\nKG = WG\nif K is False:\n    continue",
                    K=keep,
                    KG=keep_gap,
                    W=w,
                    WG=self.gap(w),
                )
            )
        else:
            loop.extend(_code("K = True\nKG = _NONE", K=keep, KG=keep_gap))
        subs: dict[str, Any] = dict(V=v, VG=v_gap, K=keep, KG=keep_gap, ITEM=item, LABEL=item + "l")
        if node.body is None and kind == "select":  # the item itself, read
            template = (
                "V, VG = _read3(ev, (ITEM, 0), LABEL, ('',))\nif K is _U:\n    V = _U\n    VG = KG"
            )
        elif node.body is None:
            template = "V = K\nVG = KG"
        else:
            b = self.emit(node.body, inner, loop)
            subs.update(B=b, BG=self.gap(b), KIND=self.constant(kind))
            template = (
                "V = B\nVG = BG\nif K is _U:\n    if _skips(KIND, V):\n        continue\n"
                "    V = _U\n    VG = KG | BG"
            )
        verdicts = self.fresh("_x")
        loop.extend(_code(template + "\nVERDICTS.append((V, VG))", VERDICTS=verdicts, **subs))
        value, gap = self.result(self.fresh("_t"))
        out.extend(
            _code(
                "if I is _U:\n    T = _U\n    G = IG\nelse:\n    VERDICTS = []\n"
                "    for ITEM in I:\n        LOOP\n"
                "    R = ev.aggregate(KIND, VERDICTS, SOURCE)\n    T = R.value\n    G = R.missing",
                I=items,
                IG=items_gap,
                T=value,
                G=gap,
                VERDICTS=verdicts,
                ITEM=ast.Tuple([ast.Name(n, ast.Store()) for n in (item, item + "l")], ast.Store()),
                LOOP=loop,
                R=self.fresh("_r"),
                KIND=self.constant(kind),
                SOURCE=self.bound_constant(node, _source_text),
            )
        )
        return value


@dataclass(frozen=True)
class _Program:
    """The compiled code of one structure and how to bind its namespace for a tree."""

    code: CodeType
    module: ast.Module
    static: dict[str, Any]
    binders: tuple[tuple[str, int, Callable[[Any], Any]], ...]
    reusable: bool

    def bind(self, node: Expr) -> Any:
        namespace = dict(_RUNTIME)
        namespace.update(self.static)
        if self.binders:
            nodes = walk(node)
            for name, position, value_of in self.binders:
                namespace[name] = value_of(nodes[position])
        exec(self.code, namespace)  # the code object compiled from the checked tree's structure
        fn = namespace["_value"]
        fn.__dict__["source"] = self.module  # for docs and debugging: `source_of`
        return fn


def _itself(node: Any) -> Any:
    return node


def _source_text(node: Quantifier) -> str:
    return render(node.source)


def _origin(node: Expr) -> str:
    """How the reference labels the items of a computed list (`Evaluator.items`)."""
    return node.origin if isinstance(node, Const) else "list"


def _const_value(node: Const) -> Any:
    return node.value


def _literal_value(node: Literal) -> Any:
    lit = node.value
    return date_to_engine(lit) if isinstance(lit, date) else lit


#: a literal's engine value, and a leaf's that is not plain (for the renderer of templates)
literal_value = _literal_value
leaf_value = _leaf_value


def _words(node: Expr) -> frozenset[str] | None:
    return constant_words(node)


def _invariant_key(node: Expr) -> tuple[int | None]:
    """The memo key of a loop-invariant node in one finding: its number alone (no item)."""
    return (_memo_number(node),)


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


def compile_value(node: Expr, root: type[BaseModel] | None = None) -> ValueFn:
    """A function computing the reference interpreter's value of `node` (no scope). The code is
    generated from the tree and compiled once per structure (kept for the process, at most
    4,096 structures); a tree of a known structure (the same rule on another date) only binds
    its constants. `root`: the model of the documents it reads (their kind's entity), whose
    schema lets paths through objects be read attribute by attribute."""
    fn: ValueFn = _compiled(node, False, frozenset(), root)
    return fn


def compile_recording(
    node: Expr,
    outer: frozenset[str] = frozenset(),
    root: type[BaseModel] | None = None,
    shared: frozenset[Expr] | None = None,
) -> RecordFn:
    """A function `fn(env, ev, scope)` giving `ev.evaluate_in(node, scope).value` and recording
    into `ev` the same facts read (`ev.reads`, labels included) and found absent
    (`ev.absent`) as the reference interpreter evaluating the whole node: both sides of
    and/or, every item of a quantifier that passes its `where`. `outer`: the names `scope`
    may bind (a rule's computed values), read by the reference. `shared`: the nodes whose
    values are worth keeping for the rest of the finding (`worth_keeping`; None: all that
    can be). Compiled once per structure (and `root`), as `compile_value`."""
    fn: RecordFn = _compiled(node, True, outer, root, shared)
    return fn


def compile_effects(
    node: Expr,
    outer: frozenset[str] = frozenset(),
    root: type[BaseModel] | None = None,
    shared: frozenset[Expr] | None = None,
) -> RecordFn:
    """A function `fn(env, ev, scope)` recording what `compile_recording(node, outer)` records,
    for a node whose value is not needed (`_Effects`); it returns None."""
    fn: RecordFn = _compiled(node, "effects", outer, root, shared)
    return fn


def compile_result(
    node: Expr,
    outer: frozenset[str] = frozenset(),
    root: type[BaseModel] | None = None,
    shared: frozenset[Expr] | None = None,
) -> ResultFn:
    """A function `fn(env, ev, scope)` giving what `ev.evaluate_in(node, scope)` gives: the
    value and the missing facts (three-valued), recording the same reads and absent facts.
    Compiled once per structure, as `compile_value`."""
    fn: ResultFn = _compiled(node, None, outer, root, shared)
    return fn


def worth_keeping(trees: list[Expr]) -> frozenset[Expr]:
    """The and/or and quantifier nodes of a rule's trees (its condition, values and text
    holes, in the order a finding evaluates them) whose values are worth keeping for the rest
    of the finding: those evaluated again with the same items bound, because an equal node
    comes later (outside an equal node kept already, whose value answers for everything in
    it) or because an enclosing quantifier varies over an item the node does not read. Keeping
    a value never changes what a finding holds (a second evaluation would record nothing
    new); keeping one that is never asked for again costs a key and a look-up per item."""
    seen: dict[Expr, int] = {}
    worth: set[Expr] = set()

    def visit(node: Expr, around: frozenset[str]) -> None:
        if isinstance(node, Quantifier) or (isinstance(node, Binary) and node.op in _KLEENE):
            try:
                count = seen[node] = seen.get(node, 0) + 1
            except TypeError:  # unhashable (none known: constants hash by value)
                count = 1
            if count > 1:
                worth.add(node)
                return
            if around - free_names(node):
                worth.add(node)
        if isinstance(node, Quantifier):
            visit(node.source, around)
            for part in (node.where, node.body):
                if part is not None:
                    visit(part, around | {node.var})
            return
        for child in children(node):
            visit(child, around)

    for tree in trees:
        visit(tree, frozenset())
    return frozenset(worth)


_KLEENE = ("and", "or")


def _compiled(
    node: Expr,
    record: bool | str | None,
    outer: frozenset[str],
    root: type[BaseModel] | None,
    shared: frozenset[Expr] | None = None,
) -> Any:
    """The bound function of `node` (`record`: True recording, False values, None
    three-valued, "effects" recording only), its code compiled once per structure, mode,
    document model and kept nodes."""
    kept = None if shared is None else frozenset(_kept_positions(node, shared))
    key = (record, outer, root, kept, _structure(node))
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(key)
        if program is not None:
            _PROGRAMS.move_to_end(key)
    if program is None:
        kind = _ThreeValued if record is None else _Effects if record == "effects" else _Generator
        generator = kind(node, record=record is not False, outer=outer, root=root, kept=kept)
        program = generator.function(node)
        if not program.reusable:
            return program.bind(node)
        with _PROGRAMS_LOCK:
            _PROGRAMS[key] = program
            while len(_PROGRAMS) > _PROGRAMS_KEPT:
                _PROGRAMS.popitem(last=False)
    return program.bind(node)


def _kept_positions(node: Expr, shared: frozenset[Expr]) -> list[int]:
    out = []
    for i, sub in enumerate(walk(node)):
        try:
            if sub in shared:
                out.append(i)
        except TypeError:  # not hashable: never kept
            continue
    return out


def source_of(fn: ValueFn | RecordFn | ResultFn) -> str:
    """The Python source of a generated function (for documentation and debugging)."""
    module: ast.Module = fn.__dict__["source"]
    return ast.unparse(module)


__all__ = [
    "Env",
    "RecordFn",
    "ResultFn",
    "ValueFn",
    "aggregate",
    "builtin",
    "compile_effects",
    "compile_recording",
    "compile_result",
    "compile_value",
    "all_text",
    "free_names",
    "worth_keeping",
    "over_batch",
    "constant_words",
    "member_of",
    "source_of",
    "walk_objects",
]
