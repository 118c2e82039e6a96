"""Load a rule pack folder: parse every file, validate it against the file schemas, parse and
type-check every condition and template against the entity schemas, and report every problem
at once with its file, line and rule id."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..core.canonical import pack_sha256
from ..core.errors import VaspRulesError
from ..core.limits import MAX_YAML_BYTES
from ..core.yamlio import YamlError, line_of, parse_yaml, plain, value_line
from ..entities.registry import KINDS
from ..lang.ast import Call, Expr, Literal, Param, children, map_children
from ..lang.ast import Path as PathNode
from ..lang.ast import Quantifier as QuantifierNode
from ..lang.checker import Checker, TypeCheckError
from ..lang.dates import DURATION_LIMITS
from ..lang.parser import ConditionSyntaxError, parse_condition
from ..lang.types import BOOL, Type
from . import cache
from .params import (
    FX_PARAMETER,
    check_value,
    declared_type,
    duration_overflow,
    value_on,
    value_range,
)
from .schema import Manifest, ParamFile, ParamSpec, RuleEntry, RuleSpec


@dataclass(frozen=True)
class PackIssue:
    """One problem found in a pack: where it is and what is wrong."""

    file: str
    line: int | None
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        rule = f" [{self.rule_id}]" if self.rule_id else ""
        return f"{where}{rule}: {self.message}"


class PackError(VaspRulesError, ValueError):
    """A pack that cannot be used. `issues` lists every problem found, not only the first."""

    def __init__(self, issues: list[PackIssue]) -> None:
        self.issues = issues
        count = len(issues)
        head = f"{count} problem{'s' if count != 1 else ''} in rule pack"
        super().__init__(head + ":\n" + "\n".join(f"  {i}" for i in issues))


@dataclass(frozen=True)
class TemplatePart:
    text: str
    expr: Expr | None = None
    type_name: str = ""


@dataclass
class LoadedRule:
    """A rule ready to compile: its spec, where it was written, and its checked expressions."""

    spec: RuleSpec
    file: str
    line: int | None
    condition: Expr
    condition_types: dict[int, str]
    values: dict[str, tuple[Expr, Type]]
    value_types: dict[str, dict[int, str]]
    reason: list[TemplatePart]
    remediation: list[TemplatePart]
    params: set[str] = field(default_factory=set)
    root_paths: set[str] = field(default_factory=set)
    batch_kinds: set[str] = field(default_factory=set)
    reads_money: bool = False
    #: the case of its rule this is (its `name`, or its position from 1); None without cases
    case: str | None = None
    #: unique within the pack: the id, with the kind and case when one written rule stands
    #: for several (matcher rule names use it; findings carry `id`)
    key: str = ""
    #: the line its condition (`when`) is written on, for messages about the condition
    when_line: int | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.applies_to


@dataclass
class LoadedPack:
    root: Path
    manifest: Manifest
    params: dict[str, ParamSpec]
    param_sources: dict[str, tuple[str, int | None]]
    rules: list[LoadedRule]
    files: dict[str, bytes]


#: What a pack folder holds, and nothing else: these files define the pack, are what its sha256
#: covers, and are exactly what the loader parses.
PACK_LAYOUT = "pack.yaml, parameters/*.yaml and rules/*.yaml"
_PACK_DIRS = ("parameters", "rules")


def read_files(root: Path) -> dict[str, bytes]:
    """The files that define the pack (relative path -> bytes), each read once. Refuses, with
    one issue each, symbolic links (a link could pull a file from outside the pack into its
    hash and the audit log), files and folders the layout does not account for (they would be
    silently ignored, or hashed without being read), special files and oversized files."""
    issues: list[PackIssue] = []
    files: dict[str, bytes] = {}

    def stray(rel: str, what: str) -> None:
        issues.append(
            PackIssue(rel, None, None, f"{what} is not part of a rule pack (a pack holds "
                      f"{PACK_LAYOUT} only): move it out of the pack folder")
        )  # fmt: skip

    def entries(folder: Path) -> list[os.DirEntry[str]]:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)

    for entry in entries(root):
        name = entry.name
        if entry.is_symlink():
            issues.append(_link_issue(name))
        elif entry.is_dir(follow_symlinks=False) and name in _PACK_DIRS:
            for sub in entries(Path(entry.path)):
                rel = f"{name}/{sub.name}"
                if sub.is_symlink():
                    issues.append(_link_issue(rel))
                elif (
                    sub.is_file(follow_symlinks=False)
                    and sub.name.endswith(".yaml")
                    and not sub.name.startswith(".")  # hidden: easy to miss when reviewing
                ):
                    _read_plain_file(Path(sub.path), rel, files, issues)
                else:
                    stray(rel + ("/" if sub.is_dir(follow_symlinks=False) else ""), "this")
        elif entry.is_file(follow_symlinks=False) and name == "pack.yaml":
            _read_plain_file(Path(entry.path), name, files, issues)
        else:
            stray(name + ("/" if entry.is_dir(follow_symlinks=False) else ""), "this")
    if issues:
        raise PackError(issues)
    return files


def _link_issue(rel: str) -> PackIssue:
    return PackIssue(
        rel,
        None,
        None,
        "a symbolic link: a pack holds plain files only (a link could bring a file from "
        "outside the pack into its hash and the audit log); copy the file in instead",
    )


def _read_plain_file(
    path: Path, rel: str, files: dict[str, bytes], issues: list[PackIssue]
) -> None:
    """Read a regular file without following a link (one swapped in after the folder was
    listed is refused too), within the YAML size limit."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as exc:
        issues.append(PackIssue(rel, None, None, f"cannot read: {exc.strerror}"))
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            issues.append(PackIssue(rel, None, None, "not a regular file"))
            return
        if info.st_size > MAX_YAML_BYTES:
            issues.append(
                PackIssue(rel, None, None, f"{info.st_size:,} bytes, more than the limit of "
                          f"{MAX_YAML_BYTES:,} for a YAML file")
            )  # fmt: skip
            return
        with os.fdopen(fd, "rb", closefd=False) as handle:
            files[rel] = handle.read(MAX_YAML_BYTES + 1)
    finally:
        os.close(fd)


#: An empty rule file once dropped its rules silently (a pack "ok" with 15 rules fewer).
_NO_RULES = (
    "holds no rules: a rule file lists at least one rule under 'rules' "
    "(delete the file if it is meant to hold none)"
)

_UNION_TAG = re.compile(r"[A-Z][A-Za-z]*|list\[[A-Za-z]+\]")

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.issues: list[PackIssue] = []
        self.ids: list[tuple[str, str, int | None]] = []  # every rule id written, with its place
        self.files: dict[str, bytes] = {}

    def issue(self, file: str, line: int | None, rule_id: str | None, message: str) -> None:
        self.issues.append(PackIssue(file, line, rule_id, message))

    def load(self) -> LoadedPack:
        if not self.root.is_dir():
            raise PackError([PackIssue(str(self.root), None, None, "no such rule pack folder")])
        files = self.files = read_files(self.root)
        sha256 = pack_sha256(files)
        cached = cache.lookup(self.root, files, sha256)  # checked before, same files and code
        if isinstance(cached, LoadedPack):
            return cached
        manifest = self._manifest()
        params, sources = self._params()
        rules = self._rules(params)
        self._check_ids(manifest)
        self._check_param_coverage(rules, params, sources)
        self._check_duration_ranges(rules, params, sources)
        for name in manifest.holidays_parameters if manifest is not None else []:
            spec = params.get(name)
            if spec is None or spec.type not in ("list of date", "table of date"):
                self.issue(
                    "pack.yaml",
                    None,
                    None,
                    f"holidays_parameter {name!r} must name a 'list of date' or "
                    "'table of date' parameter",
                )
        if self.issues or manifest is None:
            raise PackError(self.issues)
        loaded = LoadedPack(self.root, manifest, params, sources, rules, files)
        cache.store(loaded, sha256)
        return loaded

    # -- manifest and parameters ---------------------------------------------------------
    def _read(self, rel: str) -> Any:
        try:  # parse the very bytes the pack's sha256 covers
            text = self.files[rel].decode("utf-8")
        except UnicodeDecodeError as exc:
            self.issue(rel, None, None, f"not UTF-8 text: {exc}")
            return None
        try:
            return parse_yaml(text)
        except YamlError as exc:
            self.issue(rel, exc.line, None, exc.message)
        return None

    def _validation(
        self,
        rel: str,
        node: Any,
        exc: ValidationError,
        prefix: tuple[Any, ...],
        rule_id: str | None,
    ) -> None:
        for err in exc.errors():
            # a field that takes one form or a list of them (citation) reports per form: keep
            # the form that was written, and drop the form's name from the path
            tags = [str(p) for p in err["loc"] if _UNION_TAG.fullmatch(str(p))]
            if tags and err["type"] in ("list_type", "model_type", "dict_type"):
                continue
            err_loc = tuple(p for p in err["loc"] if not _UNION_TAG.fullmatch(str(p)))
            loc = prefix + err_loc
            where = ".".join(str(p) for p in err_loc) or "(rule)"
            self.issue(rel, line_of(node, loc), rule_id, f"{where}: {err['msg']}")

    def _manifest(self) -> Manifest | None:
        if "pack.yaml" not in self.files:
            self.issue("pack.yaml", None, None, "missing: every pack needs a pack.yaml manifest")
            return None
        node = self._read("pack.yaml")
        if node is None:
            return None
        try:
            return Manifest.model_validate(plain(node))
        except ValidationError as exc:
            self._validation("pack.yaml", node, exc, (), None)
            return None

    def _params(self) -> tuple[dict[str, ParamSpec], dict[str, tuple[str, int | None]]]:
        params: dict[str, ParamSpec] = {}
        sources: dict[str, tuple[str, int | None]] = {}
        for rel in sorted(f for f in self.files if f.startswith("parameters/")):
            node = self._read(rel)
            if node is None:
                continue
            try:
                parsed = ParamFile.model_validate(plain(node))
            except ValidationError as exc:
                self._validation(rel, node, exc, (), None)
                continue
            for name, spec in parsed.parameters.items():
                line = line_of(node, ["parameters", name])
                if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                    self.issue(rel, line, None, f"parameter name {name!r} must be lower_snake_case")
                if name in params:
                    other = sources[name]
                    self.issue(
                        rel,
                        line,
                        None,
                        f"parameter {name!r} is already defined at {other[0]}:{other[1]}",
                    )
                    continue
                for i, entry in enumerate(spec.values):
                    try:
                        check_value(spec, entry.value)
                    except (ValueError, ArithmeticError) as exc:
                        self.issue(
                            rel,
                            line_of(node, ["parameters", name, "values", i, "value"]),
                            None,
                            f"parameter {name!r}: {exc}",
                        )
                starts = sorted(v.from_ for v in spec.values)
                if len(set(starts)) != len(starts):
                    self.issue(rel, line, None, f"parameter {name!r} has two values from one date")
                params[name] = spec
                sources[name] = (rel, line)
        fx = params.get(FX_PARAMETER)
        if fx is not None and fx.type != "table of number":
            self.issue(*sources[FX_PARAMETER], None, f"{FX_PARAMETER} must be a 'table of number'")
        for name, spec in params.items():
            if "money" in spec.type:
                self._check_currencies(name, spec, params, sources)
        return params, sources

    def _check_currencies(
        self,
        name: str,
        spec: ParamSpec,
        params: dict[str, ParamSpec],
        sources: dict[str, tuple[str, int | None]],
    ) -> None:
        fx = params.get(FX_PARAMETER)
        for entry in spec.values:
            raw = entry.value
            monies = (
                raw.values()
                if isinstance(raw, dict) and "currency" not in raw
                else (raw if isinstance(raw, list) else [raw])
            )
            for money in monies:
                if not isinstance(money, dict):
                    continue
                currency = money.get("currency")
                if currency == "PKR":
                    continue
                rates = value_on(fx, entry.from_) if fx else None
                if rates is None or currency not in rates.value:
                    self.issue(
                        *sources[name],
                        None,
                        f"parameter {name!r} uses {currency} but {FX_PARAMETER} has no "
                        f"{currency} rate on {entry.from_}",
                    )

    # -- rules ---------------------------------------------------------------------------
    def _rules(self, params: dict[str, ParamSpec]) -> list[LoadedRule]:
        param_types = {name: declared_type(spec) for name, spec in params.items()}
        out: list[LoadedRule] = []
        rule_files = sorted(f for f in self.files if f.startswith("rules/"))
        if not rule_files:
            self.issue("rules/", None, None, "no rule files (rules/*.yaml)")
        for rel in rule_files:
            known = len(self.issues)
            node = self._read(rel)
            if node is None:
                if len(self.issues) == known:  # read, but empty (or comments only)
                    self.issue(rel, 1, None, _NO_RULES)
                continue
            items = node.get("rules") if hasattr(node, "get") else None
            if not isinstance(items, list) or (hasattr(node, "keys") and set(node) != {"rules"}):
                self.issue(
                    rel,
                    1,
                    None,
                    "a rule file is a mapping with one key, 'rules', holding a list of rules",
                )
                continue
            if not items:
                self.issue(rel, line_of(node, ["rules"]), None, _NO_RULES)
            for i, item in enumerate(items):
                rule_id = str(item.get("id")) if hasattr(item, "get") and item.get("id") else None
                if rule_id is not None:
                    self.ids.append((rule_id, rel, line_of(node, ["rules", i])))
                try:
                    entry = RuleEntry.model_validate(plain(item))
                except ValidationError as exc:
                    self._validation(rel, node, exc, ("rules", i), rule_id)
                    continue
                out.extend(self._expand(entry, rel, node, i, param_types))
        return out

    def _expand(
        self, entry: RuleEntry, rel: str, node: Any, i: int, param_types: dict[str, Type]
    ) -> list[LoadedRule]:
        """The concrete rules (one per kind and case) a written rule stands for."""
        item = node["rules"][i]
        line = line_of(node, ["rules", i])
        expanded = entry.expand()
        several = len(expanded) > 1
        out: list[LoadedRule] = []
        for kind, label, fields in expanded:
            parts = (label or "").split("/")
            case = parts[0] if parts[0] and not parts[0].startswith("from-") else None
            layers = [item]
            kind_node = item.get("kinds", {}).get(kind) if hasattr(item, "get") else None
            if kind_node is not None:
                layers.insert(0, kind_node)
            if case is not None:
                holder = kind_node if kind_node is not None and "cases" in kind_node else item
                for j, c in enumerate(holder.get("cases", [])):
                    if (c.get("name") or str(j + 1)) == case:
                        layers.insert(0, c)
            try:
                spec = RuleSpec.model_validate(fields)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "(rule)"
                    place = f" (for {kind}{', ' + label if label else ''})" if several else ""
                    self.issue(rel, line, entry.id, f"{where}: {err['msg']}{place}")
                continue
            loaded = self._rule(spec, rel, layers, line, param_types)
            if loaded is not None:
                loaded.case = case
                loaded.key = spec.id
                if several:
                    loaded.key = f"{spec.id}/{kind}" + (f"/{label}" if label else "")
                out.append(loaded)
        return out

    def _rule(
        self,
        spec: RuleSpec,
        rel: str,
        layers: list[Any],
        line: int | None,
        param_types: dict[str, Type],
    ) -> LoadedRule | None:
        """Check one concrete rule; `layers` are the YAML nodes it was written in, most
        specific first (a case, a kind's form, the rule), to place problems on their line."""

        def holder(key: str) -> Any:
            top = key.split(".", 1)
            for layer in layers:
                if not hasattr(layer, "get"):
                    continue
                if len(top) == 1 and key in layer:
                    return layer
                if len(top) == 2 and top[1] in (layer.get("values") or {}):
                    return layer
            return layers[-1]

        root = KINDS[spec.applies_to]
        ok = True
        values: dict[str, tuple[Expr, Type]] = {}
        value_types: dict[str, dict[int, str]] = {}
        params: set[str] = set()
        paths: set[str] = set()
        batch: set[str] = set()
        money: list[bool] = []

        def check(
            text: str,
            key: str,
            names: Mapping[str, Type],
            expect: Type | None,
            transform: Callable[[Expr], Expr] | None = None,
        ) -> tuple[Expr, Type, dict[int, str]] | None:
            where = (
                value_line(holder(key), key)
                if "." not in key
                else value_line(holder(key).get("values", {}), key.split(".", 1)[1])
            )
            try:
                expr = parse_condition(text)
                if transform is not None:
                    expr = transform(expr)
                ck = Checker(root, param_types, KINDS, names)
                result = ck.check(expr, expect)
            except ConditionSyntaxError as exc:
                self.issue(
                    rel,
                    where,
                    spec.id,
                    f"{key}: {exc.message} (column {exc.offset + 1} of {text.strip()!r})",
                )
                return None
            except TypeCheckError as exc:
                self.issue(
                    rel,
                    where,
                    spec.id,
                    f"{key}: {exc.message} (column {exc.pos + 1} of {text.strip()!r})",
                )
                return None
            params.update(result.params)
            paths.update(result.root_paths)
            batch.update(result.batch_kinds)
            money.append(result.reads_money)
            return expr, result.type, ck.types

        for name, text in spec.values.items():  # each value may use the ones before it
            got = check(text, f"values.{name}", {n: t for n, (_e, t) in values.items()}, None)
            if got is None:
                ok = False
                continue
            values[name] = (got[0], got[1])
            value_types[name] = got[2]
        names = {n: t for n, (_e, t) in values.items()}
        # the condition may use the rule's values by name: they are inlined, so that both
        # matchers evaluate one self-contained expression
        inlined = {n: e for n, (e, _t) in values.items()}
        cond = check(spec.when, "when", {}, BOOL, lambda e: inline_values(e, inlined))
        if cond is None:
            ok = False
        reason = self._template(spec.reason, "reason", rel, holder("reason"), spec, check, names)
        remediation = self._template(
            spec.remediation, "remediation", rel, holder("remediation"), spec, check, names
        )
        if not ok or cond is None or reason is None or remediation is None:
            return None
        return LoadedRule(
            spec,
            rel,
            line,
            cond[0],
            cond[2],
            values,
            value_types,
            reason,
            remediation,
            params,
            paths,
            batch,
            any(money),
            when_line=value_line(holder("when"), "when"),
        )

    def _template(
        self,
        text: str,
        key: str,
        rel: str,
        node: Any,
        spec: RuleSpec,
        check: Any,
        names: Mapping[str, Type],
    ) -> list[TemplatePart] | None:
        parts: list[TemplatePart] = []
        pos = 0
        ok = True
        for m in _PLACEHOLDER.finditer(text):
            parts.append(TemplatePart(text[pos : m.start()]))
            pos = m.end()
            if m.group(0) in ("{{", "}}"):
                parts.append(TemplatePart(m.group(0)[0]))
                continue
            got = check(m.group(1), key, names, None)
            if got is None:
                ok = False
                continue
            parts.append(TemplatePart("", got[0], display_type(got[1])))
        parts.append(TemplatePart(text[pos:]))
        if "{" in "".join(p.text for p in parts if p.expr is None and p.text not in "{}"):
            self.issue(rel, value_line(node, key), spec.id, f"{key}: unbalanced '{{' or '}}'")
            ok = False
        return [p for p in parts if p.text or p.expr is not None] if ok else None

    def _check_ids(self, manifest: Manifest | None) -> None:
        """Rule ids are unique across the pack (checked even for rules that failed to load),
        and no rule reuses a retired id (an old id must not come back with a new meaning)."""
        first: dict[str, tuple[str, int | None]] = {}
        retired = manifest.retired_ids if manifest is not None else {}
        for rule_id, file, line in self.ids:
            if rule_id in retired:
                self.issue(
                    file,
                    line,
                    rule_id,
                    f"rule id {rule_id} is retired (replaced by {retired[rule_id]}); "
                    "give the rule a new id",
                )
            if rule_id in first:
                where = first[rule_id]
                self.issue(
                    file,
                    line,
                    rule_id,
                    f"duplicate rule id (first defined at {where[0]}:{where[1]})",
                )
            else:
                first[rule_id] = (file, line)

    def _check_param_coverage(
        self,
        rules: list[LoadedRule],
        params: dict[str, ParamSpec],
        sources: dict[str, tuple[str, int | None]],
    ) -> None:
        """Every parameter a rule reads must have a value on every day the rule is in force."""
        for rule in rules:
            spec = rule.spec
            needed = set(rule.params)
            if rule.reads_money and FX_PARAMETER in params:
                needed.add(FX_PARAMETER)
            for name in sorted(needed):
                pspec = params[name]
                days = {spec.effective_from}
                for v in pspec.values:
                    after = v.to + timedelta(days=1) if v.to and v.to < date.max else None
                    for d in (v.from_, after):
                        if d is not None and spec.in_force(d):
                            days.add(d)
                gaps = [d for d in sorted(days) if value_on(pspec, d) is None]
                if gaps:
                    self.issue(
                        rule.file,
                        rule.line,
                        rule.id,
                        f"parameter {name!r} has no value on {gaps[0]}, while the rule is "
                        f"in force (from {spec.effective_from}"
                        f"{' to ' + str(spec.effective_to) if spec.effective_to else ''})",
                    )

    def _check_duration_ranges(
        self,
        rules: list[LoadedRule],
        params: dict[str, ParamSpec],
        sources: dict[str, tuple[str, int | None]],
    ) -> None:
        """A parameter used as a duration (`months(param.x)`) must have a range in which date
        arithmetic can give a representable date: a declared range beyond is refused; without
        a declared max, the default max is the unit's limit (DURATION_LIMITS), so its values
        and any override are held to it."""
        reported: set[str] = set()
        for rule in rules:
            for unit, amount in sorted(_duration_literals(rule)):
                limit = DURATION_LIMITS[unit]
                self.issue(
                    rule.file, rule.line, rule.id, f"{unit}({amount}) reaches past any "
                    f"representable date: a duration is at most {limit} {unit}"
                )
            for unit, name in sorted(_duration_params(rule)):
                spec = params.get(name)
                if spec is None or name in reported or spec.scalar != "int":
                    continue
                file, line = sources[name]
                if spec.max is None:
                    params[name] = spec = spec.model_copy(
                        update={"max": min(DURATION_LIMITS[unit], value_range(spec)[1])}
                    )
                    for entry in spec.values:
                        try:
                            check_value(spec, entry.value)
                        except ValueError as exc:
                            reported.add(name)
                            self.issue(file, line, None, f"parameter {name!r} ({unit}): {exc}")
                why = duration_overflow(spec, unit)
                if why is None or name in reported:
                    continue
                reported.add(name)
                self.issue(
                    file, line, None, f"parameter {name!r} is used as {unit}(param.{name}) by "
                    f"{rule.id}: {why}"
                )


def _durations(rule: LoadedRule) -> list[tuple[str, Expr]]:
    """(unit, argument) of every `UNIT(n)` call in a rule's expressions."""
    roots: list[Expr] = [rule.condition, *(e for e, _ in rule.values.values())]
    roots += [p.expr for p in (*rule.reason, *rule.remediation) if p.expr is not None]
    found: list[tuple[str, Expr]] = []
    while roots:
        node = roots.pop()
        roots.extend(children(node))
        if isinstance(node, Call) and node.name in DURATION_LIMITS and node.args:
            found.append((node.name, node.args[0]))
    return found


def _duration_params(rule: LoadedRule) -> set[tuple[str, str]]:
    """(unit, parameter) for every `UNIT(param.NAME)` a rule's expressions hold."""
    return {(unit, arg.name) for unit, arg in _durations(rule) if isinstance(arg, Param)}


def _duration_literals(rule: LoadedRule) -> set[tuple[str, int]]:
    """(unit, n) for every `UNIT(n)` with a literal n beyond the unit's limit."""
    found: set[tuple[str, int]] = set()
    for unit, arg in _durations(rule):
        value = arg.value if isinstance(arg, Literal) else None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if abs(Decimal(value)) > DURATION_LIMITS[unit]:
                found.add((unit, int(value)))
    return found


def display_type(tp: Type) -> str:
    """How a template value is formatted: its type name, with the item type for lists."""
    if tp.name == "list" and tp.item is not None:
        return f"list:{tp.item.name}"
    return tp.name


def inline_values(node: Expr, values: Mapping[str, Expr]) -> Expr:
    """Replace references to a rule's named values by their expressions (recursively)."""
    if not values:
        return node
    if isinstance(node, PathNode) and node.parts[0] in values:
        target = inline_values(values[node.parts[0]], values)
        if len(node.parts) == 1:
            return target
        if isinstance(target, PathNode):
            return PathNode(target.parts + node.parts[1:], node.pos)
        return node  # the checker reports the unknown name with its position
    if isinstance(node, QuantifierNode) and node.var in values:  # the variable shadows a value
        inner = {k: v for k, v in values.items() if k != node.var}
        return QuantifierNode(
            node.kind,
            node.var,
            inline_values(node.source, values),
            inline_values(node.where, inner) if node.where is not None else None,
            inline_values(node.body, inner) if node.body is not None else None,
            node.pos,
        )
    return map_children(node, lambda child: inline_values(child, values))


def load_pack(root: Path) -> LoadedPack:
    """Load and check a pack folder; raise PackError listing every problem."""
    return _Loader(root).load()


__all__ = ["PackError", "PackIssue", "LoadedRule", "LoadedPack", "load_pack", "pack_sha256"]
