"""Parser for the condition language: text in, syntax tree out. No eval, no exec.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | test
    test    := arith [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") arith]
             | path "is" ("missing" | "present")
    arith   := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | "[" [expr ("," expr)*] "]"
             | "date" "(" STRING ")" | "param" "." NAME ["[" expr "]"]
             | QUANT "(" NAME "in" source ["where" expr] [":" expr] ")"
             | NAME "(" [expr ("," expr)*] ")" | path | "(" expr ")"
    path    := NAME ("." NAME)*
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..core.errors import VaspRulesError
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
    children,
)

QUANTIFIERS = frozenset({"any", "all", "none", "count", "sum", "max", "min", "select"})
FUNCTIONS = frozenset(
    {"days", "months", "years", "hours", "working_days", "len", "max", "min", "matches", "linked"}
)
KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "missing", "present", "where", "true", "false", "param"}
)
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class ConditionSyntaxError(VaspRulesError, ValueError):
    """A condition that cannot be parsed. `offset` is the character index in the condition."""

    def __init__(self, message: str, offset: int, text: str) -> None:
        self.message = message
        self.offset = offset
        self.text = text
        super().__init__(f"{message} at column {offset + 1}: {text!r}")


@dataclass(frozen=True)
class Token:
    kind: str  # NUM, STR, NAME, OP, END
    text: str
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[0-9][0-9_]*(?:\.[0-9]+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|[<>+\-*/()\[\],:.])
    """,
    re.VERBOSE,
)


_HINTS = {
    "=": " (compare with '==')",
    "&&": " (write 'and')",
    "&": " (write 'and')",
    "||": " (write 'or')",
    "|": " (write 'or')",
    "!": " (write 'not', or '!=' to compare)",
}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            hint = _HINTS.get(text[pos : pos + 2]) or _HINTS.get(text[pos], "")
            raise ConditionSyntaxError(f"unexpected character {text[pos]!r}{hint}", pos, text)
        kind = m.lastgroup
        if kind == "num":
            tokens.append(Token("NUM", m.group().replace("_", ""), pos))
        elif kind == "str":
            raw = m.group()[1:-1]
            tokens.append(Token("STR", re.sub(r"\\(.)", r"\1", raw), pos))
        elif kind == "name":
            tokens.append(Token("NAME", m.group(), pos))
        elif kind == "op":
            tokens.append(Token("OP", m.group(), pos))
        pos = m.end()
    tokens.append(Token("END", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def at(self, text: str) -> bool:
        return self.tok.kind in ("OP", "NAME") and self.tok.text == text

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, text: str, what: str | None = None) -> Token:
        if not self.at(text):
            self.fail(f"expected {what or repr(text)}")
        return self.take()

    def fail(self, message: str, pos: int | None = None) -> None:
        tok = self.tok
        found = "end of condition" if tok.kind == "END" else repr(tok.text)
        raise ConditionSyntaxError(
            f"{message}, found {found}", tok.pos if pos is None else pos, self.text
        )

    def name(self, what: str) -> Token:
        if self.tok.kind != "NAME" or self.tok.text in KEYWORDS:
            self.fail(f"expected {what}")
        return self.take()

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.tok.kind == "END":
            self.fail("empty condition")
        node = self.expr()
        if self.tok.kind != "END":
            self.fail("unexpected text after the end of the expression")
        return node

    def expr(self) -> Expr:
        return self.or_()

    def or_(self) -> Expr:
        node = self.and_()
        while self.at("or"):
            pos = self.take().pos
            node = Binary("or", node, self.and_(), pos)
        return node

    def and_(self) -> Expr:
        node = self.not_()
        while self.at("and"):
            pos = self.take().pos
            node = Binary("and", node, self.not_(), pos)
        return node

    def not_(self) -> Expr:
        if self.at("not"):
            pos = self.take().pos
            return Unary("not", self.not_(), pos)
        return self.test()

    def test(self) -> Expr:
        left = self.arith()
        tok = self.tok
        if tok.kind == "OP" and tok.text in COMPARISONS:
            self.take()
            return Binary(tok.text, left, self.arith(), tok.pos)
        if self.at("in"):
            self.take()
            return Binary("in", left, self.arith(), tok.pos)
        if self.at("not") and self.peek().text == "in":
            self.take()
            self.take()
            return Binary("not in", left, self.arith(), tok.pos)
        if self.at("is"):
            self.take()
            if not isinstance(left, Path):
                self.fail("only a field path can be tested with 'is missing' / 'is present'")
            assert isinstance(left, Path)
            if self.at("missing"):
                self.take()
                return Presence(left, False, tok.pos)
            if self.at("present"):
                self.take()
                return Presence(left, True, tok.pos)
            self.fail("expected 'missing' or 'present' after 'is'")
        return left

    def arith(self) -> Expr:
        node = self.term()
        while self.tok.kind == "OP" and self.tok.text in ("+", "-"):
            tok = self.take()
            node = Binary(tok.text, node, self.term(), tok.pos)
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.text in ("*", "/"):
            tok = self.take()
            node = Binary(tok.text, node, self.unary(), tok.pos)
        return node

    def unary(self) -> Expr:
        if self.tok.kind == "OP" and self.tok.text == "-":
            pos = self.take().pos
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | Decimal):
                if not isinstance(operand.value, bool):
                    return Literal(-operand.value, pos)
            return Unary("-", operand, pos)
        return self.atom()

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "NUM":
            self.take()
            value: int | Decimal = Decimal(tok.text) if "." in tok.text else int(tok.text)
            return Literal(value, tok.pos)
        if tok.kind == "STR":
            self.take()
            return Literal(tok.text, tok.pos)
        if tok.kind == "OP" and tok.text == "(":
            self.take()
            node = self.expr()
            self.expect(")", "')'")
            return node
        if tok.kind == "OP" and tok.text == "[":
            self.take()
            items: list[Expr] = []
            if not self.at("]"):
                items.append(self.expr())
                while self.at(","):
                    self.take()
                    items.append(self.expr())
            self.expect("]", "']' to close the list")
            return ListLiteral(tuple(items), tok.pos)
        if tok.kind != "NAME":
            self.fail("expected a value, a field path or '('")
        if tok.text in ("true", "false"):
            self.take()
            return Literal(tok.text == "true", tok.pos)
        if tok.text == "param":
            return self.param()
        if tok.text == "date" and self.peek().text == "(":
            return self.date_literal()
        if self.peek().text == "(":
            is_quant = (
                tok.text in QUANTIFIERS
                and self.peek(2).kind == "NAME"
                and self.peek(3).text == "in"
            )
            return self.quantifier() if is_quant else self.call()
        if tok.text in KEYWORDS:
            self.fail("expected a value, a field path or '('")
        return self.path()

    def path(self) -> Path:
        first = self.name("a field name")
        parts = [first.text]
        while self.at("."):
            self.take()
            parts.append(self.name("a field name after '.'").text)
        return Path(tuple(parts), first.pos)

    def param(self) -> Param:
        pos = self.take().pos
        self.expect(".", "'.' after 'param'")
        name = self.name("a parameter name").text
        key: Expr | None = None
        if self.at("["):
            self.take()
            key = self.expr()
            self.expect("]", "']' to close the parameter key")
        return Param(name, key, pos)

    def date_literal(self) -> Literal:
        pos = self.take().pos
        self.expect("(")
        tok = self.tok
        if tok.kind != "STR":
            self.fail('expected a date string like "2026-03-03"')
        self.take()
        try:
            value = date.fromisoformat(tok.text)
        except ValueError:
            raise ConditionSyntaxError(
                f"{tok.text!r} is not a valid ISO date (YYYY-MM-DD)", tok.pos, self.text
            ) from None
        self.expect(")", "')'")
        return Literal(value, pos)

    def call(self) -> Call:
        tok = self.take()
        if tok.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS | QUANTIFIERS))
            raise ConditionSyntaxError(
                f"unknown function {tok.text!r} (known: {known})", tok.pos, self.text
            )
        self.expect("(")
        args: list[Expr] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.expect(")", "')' to close the call")
        return Call(tok.text, tuple(args), tok.pos)

    def quantifier(self) -> Quantifier:
        tok = self.take()
        self.expect("(")
        var = self.name("a variable name").text
        self.expect("in")
        source: Expr = self.param() if self.at("param") else self.path()
        where: Expr | None = None
        body: Expr | None = None
        if self.at("where"):
            self.take()
            where = self.expr()
        if self.at(":"):
            self.take()
            body = self.expr()
        self.expect(")", f"')' to close {tok.text}(...)")
        if tok.text in ("sum", "max", "min") and body is None:
            raise ConditionSyntaxError(
                f"{tok.text}(...) needs ': VALUE' after the list, e.g. "
                f"{tok.text}(h in holdings: h.value_at_reference)",
                tok.pos,
                self.text,
            )
        if tok.text in ("any", "all", "none", "count") and body is None and where is None:
            raise ConditionSyntaxError(
                f"{tok.text}(...) needs a test: {tok.text}(x in LIST: CONDITION)",
                tok.pos,
                self.text,
            )
        return Quantifier(tok.text, var, source, where, body, tok.pos)


#: How deeply a condition may nest (a chain of N `or`s nests N deep). Every stage walks the
#: tree recursively; this keeps them far from Python's recursion limit.
MAX_DEPTH = 100


def parse_condition(text: str) -> Expr:
    """Parse a condition or value expression. Raises ConditionSyntaxError with the offset."""
    too_deep = (
        f"the condition nests more than {MAX_DEPTH} levels deep: write long lists of "
        "alternatives as `x in [...]` or a parameter list, or split the rule"
    )
    try:
        tree = _Parser(text).parse()
    except RecursionError:
        raise ConditionSyntaxError(too_deep, 0, text[:80]) from None
    if depth_of(tree) > MAX_DEPTH:
        raise ConditionSyntaxError(too_deep, 0, text[:80])
    return tree


def depth_of(tree: Expr) -> int:
    """Depth of a syntax tree, computed without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest
