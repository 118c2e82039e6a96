"""The public entry point: load a rule pack, evaluate documents, get decisions."""

from __future__ import annotations

import gc
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from ..compiler.compile import CompileCache, CompiledPack, compile_pack
from ..core.canonical import document_sha256, overridden_sha256, pack_sha256
from ..core.collector import collector_paused
from ..core.version import __version__
from ..engine.durable_backend import ENGINE_NAME, ENGINE_VERSION, EngineError
from ..entities.registry import ID_FIELD, KINDS, DocumentError, parse_document
from ..entities.transfer import Transfer
from ..interp.batchplan import BatchPlan, plan_rules
from ..interp.reference import BatchView
from ..model.decision import (
    Decision,
    EngineRef,
    Finding,
    Notice,
    Outcome,
    ParameterOverride,
    Person,
    RulePackRef,
    make_notice,
    most_severe,
)
from ..pack.discovery import find_pack
from ..pack.loader import LoadedPack, PackError, PackIssue, load_pack
from ..pack.overrides import apply_overrides
from .evaluate import (
    MATCH_CHUNK,
    EngineName,
    Item,
    batch_view,
    findings_for_many,
    trusted,
)

#: sha256 of packs whose every effective date compiled in this process
_CHECKED: set[str] = set()


class Explainer(Protocol):
    """`evaluate_many(explain=True)`'s explanations (vasp_rules.explain.api.attach_explanations)."""

    def __call__(
        self,
        pack: RulePack,
        compiled: CompiledPack,
        items: Sequence[Item],
        decisions: Sequence[Decision],
        *,
        batch: bool,
        engine: EngineName,
    ) -> list[Decision]: ...


class Pool(Protocol):
    """A persistent pool of worker processes with a pack loaded (vasp_rules.scale.pool)."""

    @property
    def workers(self) -> int: ...
    @property
    def alive(self) -> bool: ...
    def run(self, jobs: Iterable[Any], in_flight: int = 2) -> Iterator[Any]: ...
    def close(self) -> None: ...


class InProcesses(Protocol):
    """`evaluate_many(workers=n)` (vasp_rules.scale.chunks.evaluate_in_processes)."""

    def __call__(
        self,
        pack: RulePack,
        documents: Sequence[Mapping[str, Any] | BaseModel],
        as_of: date,
        engine: EngineName,
        batch: bool,
        workers: int,
        on_decision: Callable[[Decision], None] | None,
    ) -> list[Decision]: ...


@dataclass
class Features:
    """The features RulePack's conveniences call: explanations, worker processes. The runtime
    sits below the features and never imports them; each field loads one when first needed and
    is set by vasp_rules/__init__.py, the composition root above every stage (and so set before
    any module of the package runs)."""

    explainer: Callable[[], Explainer] | None = None
    in_processes: Callable[[], InProcesses] | None = None
    pool: Callable[[], Callable[[RulePack, int], Pool]] | None = None


FEATURES = Features()


def _feature(loader: Callable[[], Any] | None, name: str) -> Any:
    if loader is None:  # only when vasp_rules/__init__.py did not run, which Python rules out
        raise RuntimeError(f"vasp_rules: the {name} feature is not plugged in")
    return loader()

#: dates whose compiled pack (and durable-rules rulesets, about 0.85 MB a date for pk's four
#: kinds) stay cached; a new date costs a few milliseconds, as its parts are shared by structure
COMPILED_CACHE_SIZE = 64
#: (kind, date) answers regime_start remembers before it starts afresh
_REGIME_STARTS_KEPT = 4096
_ENGINE_REF = EngineRef(name=f"vasp-rules/{ENGINE_NAME} {ENGINE_VERSION}", version=__version__)


@dataclass
class _CacheEntry:
    """A compiled pack in the per-date cache: how many evaluations use it now, and whether the
    cache has dropped it (then the last user frees its rulesets)."""

    pack: CompiledPack
    users: int = 0
    dropped: bool = False



def persons_of(document: BaseModel) -> list[Person] | None:
    """The persons a transfer's decision lists (Decision.persons): its parties and their joint
    holders when a party is a joint account; None for any other document. Read from the
    document alone, so a replay from the audit log gives the same list."""
    found = document.joint_persons() if isinstance(document, Transfer) else None
    if not found:
        return None
    return [trusted(Person, role=role, path=path, name=name) for role, path, name in found]

_thawed = [False]  # a pack was dropped since the last freeze


def freeze_loaded() -> None:
    """Move every object alive now, a pack just loaded and compiled among them, out of the
    cyclic garbage collector's way (`gc.freeze`): a full collection no longer walks the pack's
    tens of thousands of objects (pk: a full collection in a run that keeps its decisions is
    60-90 ms shorter). Called once per RulePack, on its first compiled date.

    Frozen objects are still freed when nothing refers to them; only cycles among them would
    stay. So a dropped RulePack unfreezes everything (`_thaw`), and the next freeze first runs
    a full collection, which frees the dropped pack's cycles if it had any: a process that
    loads many packs keeps none of them. Otherwise only the young generations are collected
    first (a full collection would add tens of milliseconds to every command's start)."""
    gc.collect(2 if _thawed[0] else 1)
    _thawed[0] = False
    gc.freeze()


def _thaw() -> None:
    """A RulePack was dropped: its objects go back to the collector (see freeze_loaded)."""
    gc.unfreeze()
    _thawed[0] = True


class RulePack:
    """A loaded, checked rule pack. Evaluation is thread-safe and deterministic: the decision
    depends only on the document, the pack's files and `as_of`."""

    def __init__(
        self,
        loaded: LoadedPack,
        overrides: Mapping[str, Any] | None = None,
        recorded: list[dict[str, Any]] | None = None,
    ) -> None:
        self._loaded = loaded
        self.files: dict[str, bytes] = loaded.files
        #: sha256 of the pack's files alone
        self.files_sha256: str = pack_sha256(loaded.files)
        self.overrides: dict[str, Any] = dict(overrides or {})
        self._recorded = recorded or []
        #: sha256 of the pack as evaluated: its files, and its overrides if any
        self.sha256: str = (
            overridden_sha256(self.files_sha256, self._recorded)
            if self._recorded
            else self.files_sha256
        )
        self._compiled: OrderedDict[date, _CacheEntry] = OrderedDict()
        #: dates being compiled now, each by one thread (the others wait for its result)
        self._compiling: dict[date, threading.Event] = {}
        #: compiled parts shared between dates of the same structure (compile.CompileCache)
        self._parts = CompileCache()
        self._ref = self.ref
        #: the notice every output a person reads states; decisions carry its id
        self.notice: Notice = make_notice(loaded.manifest.disclaimer)
        self._notice_ref = self.notice.ref
        self._lock = threading.Lock()
        self._pool: Pool | None = None
        self._frozen = False  # see freeze_loaded
        self._regime_starts: dict[tuple[str, date], date | None] = {}  # see regime_start
        weakref.finalize(self, _thaw).atexit = False

    @classmethod
    def load(
        cls,
        name_or_path: str | Path = "pk",
        *,
        overrides: Mapping[str, Any] | None = None,
        check_every_date: bool = False,
    ) -> RulePack:
        """Load and check a pack: a folder path, or an installed pack's name (case-insensitive).
        Raises PackError listing every problem with its file, line and rule id. Dates are
        compiled when first evaluated; `check_every_date` also compiles the pack on every rule's
        first day now (what `vasp-rules check` does), so that a problem only compilation finds
        fails the load.

        `overrides` changes parameters for this pack object, like a reform: `{"name": value}`
        (on every date) or `{"name": ParamOverride(value, from_=date)}` (from a date on). Its
        decisions list the overrides and its sha256 covers them."""
        root = find_pack(name_or_path)
        loaded = load_pack(root)
        recorded: list[dict[str, Any]] = []
        if overrides:
            loaded, recorded = apply_overrides(loaded, overrides)
        pack = cls(loaded, overrides, recorded)
        if check_every_date:
            pack.check_every_date()
        return pack

    # -- what the pack is ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._loaded.manifest.name

    @property
    def version(self) -> str:
        return self._loaded.manifest.version

    @property
    def root(self) -> Path:
        return self._loaded.root

    @property
    def loaded(self) -> LoadedPack:
        return self._loaded

    @property
    def ref(self) -> RulePackRef:
        if not self._recorded:
            return RulePackRef(name=self.name, version=self.version, sha256=self.sha256)
        return RulePackRef(
            name=self.name,
            version=self.version,
            sha256=self.sha256,
            overrides=[
                ParameterOverride(name=r["name"], value=r["value"], effective_from=r["from"])
                for r in self._recorded
            ],
        )

    def rule_ids(self, on: date | None = None, kind: str | None = None) -> list[str]:
        """Ids of the pack's rules, optionally only those in force on a date, of one kind."""
        return sorted(
            {
                r.id
                for r in self._loaded.rules
                if (on is None or r.spec.in_force(on)) and (kind is None or r.kind == kind)
            }
        )

    def batch_plan(self, on: date | None = None) -> BatchPlan:
        """Where the pack's rules (in force on a date, or all) read other documents of a batch,
        and by which keys (see interp/batchplan.py)."""
        return plan_rules(r for r in self._loaded.rules if on is None or r.spec.in_force(on))

    def always_rule_ids(self) -> list[str]:
        """Ids of rules tagged `always`: notices stated on every decision of their kind, which
        the coverage gate need only see firing."""
        return sorted({r.id for r in self._loaded.rules if "always" in r.spec.tags})

    def regime_start(self, kind: str, on: date) -> date | None:
        """None when the regime governing `kind` is in force on `on` (or the pack declares no
        regime for it); otherwise the day it starts (or started, if it has ended)."""
        key = (kind, on)
        if key in self._regime_starts:  # asked for every decision: answered once a date
            return self._regime_starts[key]
        regimes = self._loaded.manifest.regimes
        regime = next((r for k, r in regimes.items() if k == kind), None)
        starts = None if regime is None or regime.in_force(on) else regime.from_
        if len(self._regime_starts) >= _REGIME_STARTS_KEPT:
            self._regime_starts.clear()
        self._regime_starts[key] = starts
        return starts

    @property
    def disclaimer(self) -> str:
        """The pack's disclaimer and what its confidence tags mean, for every output a person
        reads (the text of `notice`)."""
        return self.notice.text

    # -- compilation ---------------------------------------------------------------------
    def compiled(self, as_of: date) -> CompiledPack:
        """The pack compiled for one date (cached). Prefer `using(as_of)`, which also keeps the
        compiled pack's durable-rules rulesets alive until the block ends: a pack returned here
        may be dropped from the cache later, and then rebuilds its rulesets if used again."""
        with self.using(as_of) as compiled:
            return compiled

    @contextmanager
    def using(self, as_of: date) -> Iterator[CompiledPack]:
        """The pack compiled for one date, held for the block. The cache keeps the
        COMPILED_CACHE_SIZE most recently used dates; a dropped date's durable-rules rulesets
        are freed only once no thread uses it any more (reference counted), so a thread never
        matches against a freed (or reused) ruleset handle, whatever the number of dates."""
        entry = self._acquire(as_of)
        try:
            yield entry.pack
        finally:
            self._release(entry)

    def is_compiled(self, as_of: date) -> bool:
        """Whether `as_of` is compiled and cached now, so that an evaluation on it does not
        compile (the service evaluates a small request on its event loop only then)."""
        return as_of in self._compiled

    def _acquire(self, as_of: date) -> _CacheEntry:
        while True:
            with self._lock:
                hit = self._compiled.get(as_of)
                if hit is not None:
                    self._compiled.move_to_end(as_of)
                    hit.users += 1
                    return hit
                pending = self._compiling.get(as_of)
                mine = pending is None
                if pending is None:
                    pending = self._compiling[as_of] = threading.Event()
            if mine:
                break
            # another thread compiles this date: wait for it, then take its result (or, if
            # it failed or the date was dropped meanwhile, compile it here)
            pending.wait()
        try:  # outside the lock: other dates go on
            fresh = compile_pack(self._loaded, as_of, self._parts)
        except (ValueError, KeyError, EngineError) as exc:
            raise PackError(
                [PackIssue("rules/", None, None, f"cannot compile on {as_of}: {exc}")]
            ) from None
        else:
            to_close: list[CompiledPack] = []
            with self._lock:
                entry = self._compiled[as_of] = _CacheEntry(fresh)
                while len(self._compiled) > COMPILED_CACHE_SIZE:
                    _, old = self._compiled.popitem(last=False)
                    old.dropped = True
                    if old.users == 0:
                        to_close.append(old.pack)
                entry.users += 1
            for pack in to_close:
                pack.close()
            if not self._frozen:  # the pack's first date: out of the collector's way
                self._frozen = True
                freeze_loaded()
            return entry
        finally:
            with self._lock:
                del self._compiling[as_of]
            pending.set()

    def _release(self, entry: _CacheEntry) -> None:
        with self._lock:
            entry.users -= 1
            last = entry.dropped and entry.users == 0
        if last:
            entry.pack.close()

    def check_every_date(self) -> None:
        """Compile the pack on the first day of each rule, and build its durable-rules
        rulesets; raise PackError listing every date that cannot be compiled. (Conditions too
        large for durable-rules do not fail: they are hoisted.) Done once per pack content in
        a process: the result is remembered by the pack's sha256."""
        if self.sha256 in _CHECKED:
            return
        issues: list[PackIssue] = []
        days: set[date] = set()
        for rule in self._loaded.rules:
            days.add(rule.spec.effective_from)
        for day in sorted(days):
            try:
                compiled = compile_pack(self._loaded, day, self._parts)
                compiled.matcher().create_all()
                compiled.close()
            except (ValueError, KeyError, EngineError) as exc:
                issues.append(PackIssue("rules/", None, None, f"cannot compile on {day}: {exc}"))
        if issues:
            raise PackError(issues)
        _CHECKED.add(self.sha256)

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(
        self,
        document: Mapping[str, Any] | BaseModel,
        as_of: date,
        *,
        engine: EngineName = "durable",
        explain: bool = False,
    ) -> Decision:
        """Evaluate one document alone (it sees no other document). With `explain`, the
        decision carries an explanation (see `evaluate_many`)."""
        if explain:
            return self.evaluate_many([document], as_of, engine=engine, explain=True)[0]
        item = _item(document, None)  # what evaluate_many does for one document, directly
        entry = self._acquire(as_of)  # `using`, without a generator's cost on every call
        try:
            return self._decide(entry.pack, item, None, engine)
        finally:
            self._release(entry)

    def evaluate_many(
        self,
        documents: Sequence[Mapping[str, Any] | BaseModel],
        as_of: date,
        *,
        engine: EngineName = "durable",
        batch: bool = True,
        workers: int = 1,
        on_decision: Callable[[Decision], None] | None = None,
        explain: bool = False,
    ) -> list[Decision]:
        """Evaluate documents together, in order. With `batch` (the default) cross-document rules
        relate them (e.g. one wallet declared twice); without it each is evaluated alone.
        `workers` > 1 spreads the work over processes (cross-document facts are computed
        over the whole batch either way). `on_decision` is called after each decision (progress).
        With `explain`, each decision carries `explanation`: the condition trace of every finding
        and verified changes that would clear each blocking finding (vasp_rules.explain); it is
        computed in this process."""
        if workers > 1 and len(documents) > 1 and not explain:
            in_processes: InProcesses = _feature(FEATURES.in_processes, "scale")
            return in_processes(self, documents, as_of, engine, batch, workers, on_decision)
        alone = len(documents) == 1
        with self.using(as_of) as compiled:
            with collector_paused():  # what is made here lives until the end (core/collector.py)
                items = [_item(doc, None if alone else i) for i, doc in enumerate(documents)]
                view = batch_view(items) if batch else None  # built once: n documents, one batch
                decisions: list[Decision] = []
                for decision in self._decide_many(compiled, items, view, engine):
                    decisions.append(decision)
                    if on_decision is not None:
                        on_decision(decision)
                if view is not None:
                    view.release()
                if not explain:  # freed now, the next collection walks only the decisions
                    del items, view
            if explain:  # the solver may make cycles: not paused
                attach: Explainer = _feature(FEATURES.explainer, "explain")
                decisions = attach(self, compiled, items, decisions, batch=batch, engine=engine)
        return decisions

    def evaluate_each(
        self,
        documents: Sequence[Mapping[str, Any] | BaseModel],
        as_of: date,
        *,
        engine: EngineName = "durable",
    ) -> list[Decision | DocumentError]:
        """Each document evaluated alone, as `evaluate` would (it sees no other document), in
        one micro-batch: the stages run over all of them together and their facts share
        durable-rules sessions, which costs less per document. In each document's place, its
        decision, or the DocumentError `evaluate` would raise for it (the others are still
        decided). The service decides concurrent one-document calls together this way."""
        errors: dict[int, DocumentError] = {}
        items: list[Item] = []
        with collector_paused():  # what is made here lives until the end (core/collector.py)
            for i, document in enumerate(documents):
                try:
                    items.append(_item(document, None))
                except DocumentError as exc:
                    errors[i] = exc
            with self.using(as_of) as compiled:
                decided = self._decide_many(compiled, items, None, engine)
                out = [errors[i] if i in errors else next(decided) for i in range(len(documents))]
            del items, decided  # freed now, the next collection walks only the decisions
        return out

    def _decide_many(
        self,
        compiled: CompiledPack,
        items: Sequence[Item],
        view: BatchView | None,
        engine: EngineName,
    ) -> Iterator[Decision]:
        """The decisions on validated documents, in order, their facts matched by durable-rules
        in shared sessions of MATCH_CHUNK documents; `view` is the batch they are evaluated
        in, or None when each is evaluated alone. In this process and in pool workers alike."""
        for start in range(0, len(items), MATCH_CHUNK):
            chunk = items[start : start + MATCH_CHUNK]
            found = findings_for_many(compiled, chunk, view, engine)
            for item, findings in zip(chunk, found, strict=True):
                yield self._decision(compiled, item, findings)

    def _decide(
        self, compiled: CompiledPack, item: Item, batch: BatchView | None, engine: EngineName
    ) -> Decision:
        """The decision on one document; `batch` is the shared view of the documents evaluated
        with it, or None when it is evaluated alone."""
        return self._decision(compiled, item, findings_for_many(compiled, [item], batch, engine)[0])

    def _decision(self, compiled: CompiledPack, item: Item, findings: list[Finding]) -> Decision:
        """Assemble a decision from trusted parts (no re-validation: every part was built by
        the engine from validated input and the checked pack)."""
        starts = self.regime_start(item.kind, compiled.as_of)
        if starts is not None:  # the regime is not in force: it decides nothing
            findings, in_force = [], []
        else:
            in_force = list(compiled.rule_ids(item.kind))
        return trusted(
            Decision,
            document_kind=item.kind,
            document_id=item.id,
            outcome=most_severe([f.outcome for f in findings])
            if in_force
            else Outcome.NO_RULES_IN_FORCE,
            as_of=compiled.as_of,
            findings=findings,
            rules_evaluated=in_force,
            no_rules_in_force=not in_force,
            regime_starts_on=starts,
            rulepack=self._ref,
            input_sha256=document_sha256(item.model),
            engine=_ENGINE_REF,
            explanation=None,
            notice=self._notice_ref,
            persons=persons_of(item.model),
        )

    def worker_pool(self, workers: int) -> Pool:
        """The persistent pool of `workers` processes with this pack loaded (started on first
        use, kept for later calls, closed by `close` or at exit)."""
        start: Callable[[RulePack, int], Pool] = _feature(FEATURES.pool, "scale")
        with self._lock:
            pool = self._pool
            if pool is not None and (pool.workers != workers or not pool.alive):
                pool.close()
                pool = None
            if pool is None:
                pool = self._pool = start(self, workers)
            return pool

    def close(self) -> None:
        """Stop the worker processes, if any."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _item(document: Mapping[str, Any] | BaseModel, index: int | None) -> Item:
    """Validate one input document. In a batch, error paths start with documents[i]."""
    try:
        model: BaseModel
        if isinstance(document, BaseModel):
            known = isinstance(document, tuple(KINDS.values()))
            model = document if known else parse_document(document.model_dump(mode="json"))
        else:
            model = parse_document(document)
    except DocumentError as exc:
        if index is None:
            raise
        raise DocumentError(
            [(f"documents[{index}]" + (f".{p}" if p else ""), m) for p, m in exc.errors]
        ) from None
    kind = str(model.__dict__["kind"])  # every kind's model has its `kind` literal
    return Item(model, kind, str(getattr(model, ID_FIELD[kind])))

