"""The rule catalogue: a rule pack rendered as a Markdown document a compliance team can review.

`render_catalogue(pack)` lists, for every rule, its id, title, the condition in plain words,
outcome, citation with its confidence tag, effective window and the parameters it reads with
their effective-dated values and provenance; then every parameter of the pack. The text depends
only on the pack's files (no clock, no paths, stable ordering), so a committed copy can be
checked against a fresh rendering. `vasp-rules docs PACK [-o FILE]` writes it.

The plain-words rendering is a direct reading of the condition's syntax tree: each construct has
one fixed phrasing, so the words say exactly what the condition tests and nothing more.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from ..lang.ast import (
    Binary,
    Call,
    Const,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Presence,
    Quantifier,
    Unary,
    walk,
)
from ..lang.ast import Path as FieldPath
from ..pack.loader import LoadedRule, PackError
from ..pack.params import FX_PARAMETER
from ..pack.schema import ParamSpec, ParamValue
from ..runtime.rulepack import RulePack
from .support import Command, pack_option

__all__ = ["docs", "plain_words", "render_catalogue"]

CONFIDENCE = {
    "P": "seen in primary or official text",
    "S": "reported by press or commentary only",
    "A": "an illustrative assumption, held as a parameter you can override",
}

# Words written with particular capitals or spelling when a field or parameter name is read out.
_WORDS = {
    "aml": "AML",
    "cft": "CFT",
    "ctr": "CTR",
    "eoi": "EOI",
    "fatf": "FATF",
    "fera": "FERA",
    "fx": "FX",
    "goaml": "goAML",
    "id": "ID",
    "kyc": "KYC",
    "lei": "LEI",
    "mlro": "MLRO",
    "noc": "NOC",
    "pct": "%",
    "pep": "PEP",
    "pk": "Pakistani",
    "pkr": "PKR",
    "secp": "SECP",
    "str": "STR",
    "t1": "T1",
    "t2": "T2",
    "t3": "T3",
    "ubo": "UBO",
    "vasp": "VASP",
}

_ORDER_WORDS = {
    "time": {
        "<": "is before",
        "<=": "is on or before",
        ">": "is after",
        ">=": "is on or after",
        "==": "is",
        "!=": "is not",
    },
    "amount": {
        "<": "is less than",
        "<=": "is at most",
        ">": "is more than",
        ">=": "is at least",
        "==": "is",
        "!=": "is not",
    },
}
_ARITH_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
_DURATIONS = {
    "days": "days",
    "months": "months",
    "years": "years",
    "hours": "hours",
    "working_days": "working days",
}


# -- plain words -----------------------------------------------------------------------------


def label(name: str) -> str:
    """A field or parameter name read out: `paid_up_capital` -> "paid-up capital",
    `submitted_on` -> "submitted date", `ownership_pct` -> "ownership %"."""
    words = name.split("_")
    if len(words) > 1 and words[-1] in ("on", "at"):
        words = words[:-1] + ["date" if words[-1] == "on" else "time"]
    elif words == ["on"]:
        words = ["date"]
    text = " ".join(_WORDS.get(w, w) for w in words)
    return text.replace("paid up", "paid-up").replace(" %", "%")


def _possessive(noun: str) -> str:
    return noun + ("'" if noun.endswith("s") else "'s")


class _Words:
    """Renders one rule's condition (or any expression of it) as English."""

    def __init__(self, types: Mapping[int, str]) -> None:
        self.types = types
        self.vars: list[str] = []

    # -- values --------------------------------------------------------------------------
    def value(self, node: Expr) -> str:
        if isinstance(node, Literal):
            return _literal(node.value)
        if isinstance(node, Const):
            return node.origin or str(node.value)
        if isinstance(node, ListLiteral):
            return ", ".join(self.value(i) for i in node.items)
        if isinstance(node, FieldPath):
            return self.path(node)
        if isinstance(node, Param):
            text = f"_{label(node.name)}_"
            if node.key is not None:
                text += f" for {self.value(node.key)}"
            return text
        if isinstance(node, Unary):
            if node.op == "-":
                return f"minus {self.value(node.operand)}"
            return self.test(node)
        if isinstance(node, Binary):
            if node.op in _ARITH_WORDS:
                return self.arith(node)
            return self.test(node)
        if isinstance(node, Presence):
            return self.test(node)
        if isinstance(node, Call):
            return self.call(node)
        return self.quantifier(node)

    def path(self, node: FieldPath) -> str:
        parts = list(node.parts)
        head = parts[0]
        if head == "as_of" and head not in self.vars:
            return "the evaluation date"
        if head == "batch" and head not in self.vars and len(parts) >= 2:
            base = f"the other {label(parts[1])}s in the batch"
            rest = parts[2:]
            if not rest:
                return base
            return self._chain([label(p) for p in rest]) + f" of {base}"
        if head in self.vars:
            words = [head] + [label(p) for p in parts[1:]]
            return self._chain(words)
        return "the " + self._chain([label(p) for p in parts])

    @staticmethod
    def _chain(words: list[str]) -> str:
        text = words[0]
        for w in words[1:]:
            text = f"{_possessive(text)} {w}"
        return text

    def arith(self, node: Binary) -> str:
        if isinstance(node.right, Call) and node.right.name in _DURATIONS:
            span = self.call(node.right)
            base = self.value(node.left)
            return f"{span} {'after' if node.op == '+' else 'before'} {base}"
        left = self._operand(node.left, node.op)
        right = self._operand(node.right, node.op)
        return f"{left} {_ARITH_WORDS[node.op]} {right}"

    def _operand(self, node: Expr, parent_op: str) -> str:
        text = self.value(node)
        if isinstance(node, Binary) and node.op in _ARITH_WORDS and node.op != parent_op:
            return f"({text})"
        return self._bracket(node, text)

    @staticmethod
    def _bracket(node: Expr, text: str) -> str:
        """Brackets around a quantifier phrase inside a larger clause, so that where its
        filter or test ends is never ambiguous."""
        if isinstance(node, Quantifier) and (node.where is not None or node.body is not None):
            return f"({text})"
        return text

    def call(self, node: Call) -> str:
        args = node.args
        if node.name in _DURATIONS:
            return f"{self.value(args[0])} {_DURATIONS[node.name]}"
        if node.name == "len":
            return f"the number of {self.value(args[0])}"
        if node.name in ("max", "min"):
            which = "larger" if node.name == "max" else "smaller"
            return f"the {which} of {self.value(args[0])} and {self.value(args[1])}"
        if node.name == "matches":
            pattern = args[1].value if isinstance(args[1], Literal) else self.value(args[1])
            return f"{self.value(args[0])} matches the pattern `{pattern}`"
        if node.name == "linked":
            keys = [self.value(a) for a in args[1:]]
            shared = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " or " + keys[-1]
            return (
                f"{self.value(args[0])} is linked to this document (by {shared}, shared "
                "directly or through a chain of documents that each share one of them)"
            )
        return f"{node.name}({', '.join(self.value(a) for a in args)})"

    # -- tests ---------------------------------------------------------------------------
    def test(self, node: Expr) -> str:
        """A true/false expression as one clause (nested and/or in parentheses)."""
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return "always" if node.value else "never"
        if isinstance(node, Binary) and node.op in ("and", "or"):
            parts = [self._clause(p, node.op) for p in _flatten(node, node.op)]
            return f" {node.op} ".join(parts)
        if isinstance(node, Unary) and node.op == "not":
            return self._negated(node.operand)
        if isinstance(node, Presence):
            return f"{self.path(node.path)} is {'given' if node.present else 'not given'}"
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            negated = node.op == "not in"
            left = self.value(node.left)
            if self.types.get(id(node.right)) == "map":
                verb = "has no value in" if negated else "has a value in"
            else:
                verb = "is not one of" if negated else "is one of"
            return f"{left} {verb} {self.value(node.right)}"
        if isinstance(node, Binary) and node.op in ("==", "!=", "<", "<=", ">", ">="):
            kind = self.types.get(id(node.left), "")
            words = _ORDER_WORDS["time" if kind in ("date", "datetime") else "amount"]
            left = self._bracket(node.left, self.value(node.left))
            right = self._bracket(node.right, self.value(node.right))
            return f"{left} {words[node.op]} {right}"
        if isinstance(node, FieldPath) and self.types.get(id(node)) == "bool":
            return f"{self.path(node)} is true"
        if isinstance(node, Quantifier):
            return self.quantifier(node)
        return self.value(node)

    def _clause(self, node: Expr, parent_op: str) -> str:
        text = self.test(node)
        if isinstance(node, Binary) and node.op in ("and", "or") and node.op != parent_op:
            return f"({text})"
        return self._bracket(node, text)

    def _negated(self, node: Expr) -> str:
        if isinstance(node, FieldPath) and self.types.get(id(node)) == "bool":
            return f"{self.path(node)} is false"
        if isinstance(node, Quantifier) and node.kind in ("any", "none"):
            flipped = "none" if node.kind == "any" else "any"
            return self.quantifier(node, kind=flipped)
        return f"it is not the case that ({self.test(node)})"

    def quantifier(self, node: Quantifier, kind: str | None = None) -> str:
        kind = kind or node.kind
        source = self.value(node.source)
        self.vars.append(node.var)
        try:
            if kind in ("any", "all", "none"):
                lead = {"any": "at least one", "all": "every", "none": "no"}[kind]
                test, where = node.body, node.where
                if test is None:  # the filter alone is the test
                    test, where = where, None
                scope = f" where {self._clause(where, '')}" if where is not None else ""
                check = self.test(test) if test is not None else "always"
                return f"for {lead} {node.var} of {source}{scope}: {check}"
            where_text = f" where {self._clause(node.where, '')}" if node.where is not None else ""
            each = f"each {node.var} of {source}{where_text}"
            body = self.value(node.body) if node.body is not None else None
            if kind == "count":
                suffix = f" for which {self.test(node.body)}" if node.body is not None else ""
                return f"the number of {node.var} of {source}{where_text}{suffix}"
            if kind == "sum":
                return f"the total of {body} over {each}"
            if kind in ("max", "min"):
                which = "largest" if kind == "max" else "smallest"
                return f"the {which} {body} over {each}"
            return f"{body} for {each}" if body is not None else each
        finally:
            self.vars.pop()

    # -- the whole condition ---------------------------------------------------------------
    def bullets(self, node: Expr, depth: int) -> list[str]:
        """Markdown bullets for one part of a condition; and/or chains nest as sub-lists."""
        pad = "  " * depth
        if isinstance(node, Binary) and node.op in ("and", "or"):
            lines = [f"{pad}- {'all' if node.op == 'and' else 'any'} of:"]
            for part in _flatten(node, node.op):
                lines.extend(self.bullets(part, depth + 1))
            return lines
        return [f"{pad}- {self.test(node)}"]


def _flatten(node: Expr, op: str) -> list[Expr]:
    if isinstance(node, Binary) and node.op == op:
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plain_words(rule: LoadedRule) -> list[str]:
    """The rule's condition in plain words, as Markdown lines: one sentence, or a lead line
    and a bullet list when the condition is an and/or chain."""
    words = _Words(rule.condition_types)
    node = rule.condition
    if isinstance(node, Binary) and node.op in ("and", "or"):
        head = "all of the following hold:" if node.op == "and" else "any of the following holds:"
        lines = [head, ""]
        for part in _flatten(node, node.op):
            lines.extend(words.bullets(part, 0))
        return lines
    return [words.test(node) + "."]


# -- parameter values ------------------------------------------------------------------------


def format_param_value(spec: ParamSpec, raw: Any) -> str:
    """A parameter value as text: money as `AED 1,500,000`, tables as `KEY: value; ...`."""
    kind = spec.type
    if kind.startswith("table of "):
        return "; ".join(f"{k}: {_scalar(kind[9:], v)}" for k, v in raw.items())
    if kind.startswith("list of "):
        return ", ".join(_scalar(kind[8:], v) for v in raw) if raw else "(empty)"
    return _scalar(kind, raw)


def _scalar(kind: str, raw: Any) -> str:
    if kind == "money" and isinstance(raw, Mapping):
        return f"{raw['currency']} {_number(raw['amount'], group=True)}"
    if kind == "bool":
        return "yes" if raw else "no"
    if isinstance(raw, date):
        return raw.isoformat()
    if kind in ("int", "number"):
        return _number(raw, group=False)
    return str(raw)


def _number(raw: Any, *, group: bool) -> str:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return str(raw)
    if value == value.to_integral():
        return f"{int(value):,}" if group else str(int(value))
    text = format(value.normalize(), "f")
    if group:
        whole, _, frac = text.partition(".")
        return f"{int(whole):,}.{frac}"
    return text


def _window(start: date, end: date | None) -> str:
    return f"{start} to {end}" if end is not None else f"from {start}"


def _overlaps(entry: ParamValue, start: date, end: date | None, nxt: date | None) -> bool:
    entry_end = entry.to
    if nxt is not None:
        last = nxt - timedelta(days=1)
        entry_end = last if entry_end is None else min(entry_end, last)
    return (end is None or entry.from_ <= end) and (entry_end is None or entry_end >= start)


def _entries_in(spec: ParamSpec, start: date, end: date | None) -> list[tuple[ParamValue, str]]:
    """The parameter's values in force at some time in [start, end], each with its window."""
    ordered = sorted(spec.values, key=lambda v: v.from_)
    out: list[tuple[ParamValue, str]] = []
    for i, entry in enumerate(ordered):
        nxt = ordered[i + 1].from_ if i + 1 < len(ordered) else None
        if not _overlaps(entry, start, end, nxt):
            continue
        stop = entry.to
        if nxt is not None:
            last = nxt - timedelta(days=1)
            stop = last if stop is None else min(stop, last)
        out.append((entry, _window(entry.from_, stop)))
    return out


# -- the document ----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _id_key(rule_id: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", rule_id))


def _section_title(file: str) -> str:
    stem = Path(file).stem.replace("_", " ")
    return stem[:1].upper() + stem[1:]


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).replace(" ", "-")


def _params_of(
    rule: LoadedRule, params: Mapping[str, ParamSpec], holidays: Iterable[str] = ()
) -> list[str]:
    """The parameters a rule uses: those it names, the FX rates when it reads money, and the
    pack's holiday list when it counts working days."""
    names = set(rule.params)
    if rule.reads_money and FX_PARAMETER in params:
        names.add(FX_PARAMETER)
    trees = [rule.condition, *(expr for expr, _type in rule.values.values())]
    counts_working_days = any(
        isinstance(node, Call) and node.name == "working_days" for t in trees for node in walk(t)
    )
    if counts_working_days:
        names.update(name for name in holidays if name in params)
    return sorted(names)


def _citation(rule: LoadedRule) -> str:
    c = rule.spec.citation
    url = f" <{c.url}>" if c.url else ""
    return f"{c.instrument}, {c.provision} **[{c.confidence}]**{url}"


def _group(rules: Iterable[LoadedRule]) -> list[list[LoadedRule]]:
    """Rules by id, in order: one written rule may stand for several (kinds, cases, dated
    citations), which share its id and are catalogued together."""
    groups: dict[str, list[LoadedRule]] = {}
    for rule in rules:
        groups.setdefault(rule.id, []).append(rule)
    return list(groups.values())


def _joined(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(values))


def _span(group: list[LoadedRule]) -> str:
    start = min(r.spec.effective_from for r in group)
    ends = [r.spec.effective_to for r in group]
    return _window(start, None if None in ends else max(e for e in ends if e is not None))


def _form_label(rule: LoadedRule) -> str:
    parts = [f"on {rule.kind}"]
    if rule.case:
        parts.append(f"case {rule.case}")
    return ", ".join(parts)


def _rule_section(
    group: list[LoadedRule], params: Mapping[str, ParamSpec], holidays: Iterable[str]
) -> list[str]:
    rule = group[0]
    spec = rule.spec
    missing = (
        "asks for it (REQUIRE_DOCUMENTS naming the fact)"
        if spec.missing_policy == "require_documents"
        else "the rule does not fire"
    )
    citations = [_citation(r) for r in group]
    lines = [
        f"### {spec.id}: {spec.title}",
        "",
        "| | |",
        "|---|---|",
        f"| Applies to | {_joined(r.kind for r in group)} |",
        f"| Outcome | {_joined(r.spec.outcome.value for r in group)} |",
        f"| In force | {_span(group)} |",
    ]
    if len(set(citations)) == 1:
        lines.append(f"| Citation | {_cell(citations[0])} |")
    else:
        seen: dict[str, str] = {}
        for r, cited in zip(group, citations, strict=True):
            window = _window(r.spec.effective_from, r.spec.effective_to)
            seen.setdefault(cited, window)
        for cited, window in seen.items():
            lines.append(f"| Citation ({window}) | {_cell(cited)} |")
    lines += [
        f"| When a fact it needs is absent | {missing} |",
        f"| Version | {spec.version} |",
    ]
    if spec.tags:
        lines.append(f"| Tags | {', '.join(spec.tags)} |")
    lines.append("")
    shown: set[tuple[str, str, str, str]] = set()
    for member in group:
        mspec = member.spec
        text = (mspec.when, mspec.reason, mspec.remediation, mspec.outcome.value)
        if text in shown:  # the same form in another citation window
            continue
        shown.add(text)
        if len(group) > 1:
            lines += [f"#### {_form_label(member)}: {mspec.outcome.value}", ""]
        lines += ["**Fires when** " + plain_words(member)[0]]
        lines += plain_words(member)[1:]
        lines += [
            "",
            "**Reason** (values in braces are filled in when the rule fires): "
            + _cell(mspec.reason),
            "",
            f"**To clear:** {_cell(mspec.remediation)}",
            "",
        ]
        if mspec.not_clearable_reason:
            lines += [
                f"**Cannot be cleared by changing the input:** {mspec.not_clearable_reason}",
                "",
            ]
    used = sorted({name for member in group for name in _params_of(member, params, holidays)})
    start = min(r.spec.effective_from for r in group)
    ends = [r.spec.effective_to for r in group]
    end = None if None in ends else max(e for e in ends if e is not None)
    if used:
        lines += [
            "**Parameters**",
            "",
            "| parameter | value | in force | source | tag |",
            "|---|---|---|---|---|",
        ]
        for name in used:
            pspec = params[name]
            for entry, window in _entries_in(pspec, start, end):
                flag = " (illustrative)" if pspec.illustrative else ""
                lines.append(
                    f"| [`{name}`](#parameter-{_anchor(name)}){flag} "
                    f"| {_cell(format_param_value(pspec, entry.value))} | {window} "
                    f"| {_cell(entry.source)} | {entry.confidence} |"
                )
        lines.append("")
    return lines


def _param_section(name: str, spec: ParamSpec, users: list[str]) -> list[str]:
    lines = [
        f"### Parameter `{name}`",
        "",
        f"{_cell(spec.description)}",
        "",
        f"Type: {spec.type}" + ("; **illustrative**" if spec.illustrative else "") + ". "
        f"Used by: {', '.join(users) if users else 'no rule'}.",
        "",
        "| in force | value | source | tag |",
        "|---|---|---|---|",
    ]
    for entry, window in _entries_in(spec, date.min, None):
        source = entry.source + (f" <{entry.url}>" if entry.url else "")
        lines.append(
            f"| {window} | {_cell(format_param_value(spec, entry.value))} "
            f"| {_cell(source)} | {entry.confidence} |"
        )
    lines.append("")
    return lines


def render_catalogue(pack: RulePack) -> str:
    """The pack's catalogue as Markdown. Deterministic: it depends only on the pack's files."""
    loaded = pack.loaded
    manifest = loaded.manifest
    params = loaded.params
    rules = sorted(loaded.rules, key=lambda r: (r.file, _id_key(r.id)))
    lines = [
        f"# Rule catalogue: {manifest.title}",
        "",
        f"Pack `{manifest.name}` version {manifest.version}, jurisdiction {manifest.jurisdiction}: "
        f"{len(_group(rules))} rules, {len(params)} parameters.",
        "",
    ]
    if manifest.disclaimer:
        lines += [f"> {_cell(manifest.disclaimer)}", ""]
    lines += [
        f"Generated from the pack's files by `vasp-rules docs {manifest.name} -o "
        "docs/catalogue.md`; do not edit by hand.",
        "",
        "Confidence tags: "
        + "; ".join(f"**{tag}** {text}" for tag, text in CONFIDENCE.items())
        + ". Outcomes, most severe first: REJECT, REFER, REQUIRE_DOCUMENTS, "
        "APPROVE_WITH_CONDITIONS, APPROVE; INFO findings never change the outcome. Parameters "
        "are shown in _italics_ in conditions; their values follow each rule.",
        "",
    ]
    if manifest.regimes:
        lines += [
            "## Regimes in force",
            "",
            "A document of a kind whose regime is not in force on the evaluation date is "
            "NO_RULES_IN_FORCE, whatever rule is in force: a regime that has not started "
            "decides nothing.",
            "",
            "| kind | regime | in force |",
            "|---|---|---|",
        ]
        for kind, regime in manifest.regimes.items():
            lines.append(f"| {kind} | {_cell(regime.name)} | {_window(regime.from_, regime.to)} |")
        lines.append("")
    lines += [
        "## Rules at a glance",
        "",
        "| id | title | applies to | outcome | in force | tag |",
        "|---|---|---|---|---|---|",
    ]
    groups = _group(rules)
    for group in groups:
        spec = group[0].spec
        lines.append(
            f"| [{spec.id}](#{_anchor(spec.id + ' ' + spec.title)}) | {_cell(spec.title)} "
            f"| {_joined(r.kind for r in group)} "
            f"| {_joined(r.spec.outcome.value for r in group)} "
            f"| {_span(group)} "
            f"| {_joined(r.spec.citation.confidence for r in group)} |"
        )
    lines.append("")
    current = None
    for group in groups:
        if group[0].file != current:
            current = group[0].file
            lines += [f"## {_section_title(current)}", ""]
        lines += _rule_section(group, params, manifest.holidays_parameters)
    users: dict[str, list[str]] = {name: [] for name in params}
    for rule in sorted(loaded.rules, key=lambda r: _id_key(r.id)):
        for name in _params_of(rule, params, manifest.holidays_parameters):
            if rule.id not in users[name]:
                users[name].append(rule.id)
    lines += ["## Parameters", ""]
    for name in sorted(params):
        lines += _param_section(name, params[name], users[name])
    return "\n".join(_strip(lines)).rstrip("\n") + "\n"


def _strip(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        yield line.rstrip()


# -- command line ----------------------------------------------------------------------------


@click.command(name="docs", cls=Command)
@click.argument("pack", metavar="[PACK]", default=None, required=False)
@pack_option(default=None, dest="pack_opt")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the catalogue to this file (default: print it).",
)
def docs(pack: str | None, pack_opt: str | None, output: str | None) -> None:
    """Write a rule pack's catalogue (Markdown; default pack pk, given as PACK or --pack):
    every rule with its condition in plain words, outcome, citation and confidence tag,
    effective window, and the parameters it uses.

    \b
    Example:
      vasp-rules docs pk -o catalogue.md
    """
    if pack is not None and pack_opt is not None and pack != pack_opt:
        click.echo(f"error: two packs given: {pack!r} and --pack {pack_opt!r}", err=True)
        sys.exit(2)
    try:
        text = render_catalogue(RulePack.load(pack or pack_opt or "pk"))
    except PackError as exc:
        click.echo(f"error: {len(exc.issues)} problem(s) in rule pack", err=True)
        for issue in exc.issues:
            click.echo(f"  {issue}", err=True)
        sys.exit(2)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: {output}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {output} ({len(pack_rules(text))} rules)", err=True)


def pack_rules(text: str) -> list[str]:
    """Rule ids listed in a rendered catalogue (its section headings)."""
    return re.findall(r"^### (?!Parameter )([A-Z][A-Z0-9-]*):", text, flags=re.MULTILINE)
