"""Respellings of an identifier, and how a decision is compared with the unrespelled one.

A respelling writes the same identifier so that it looks the same (or differs only where the
chain does not care): case where the network is case-insensitive, white space around or inside,
hidden characters (control, format, bidi, zero-width), look-alike letters and fullwidth forms.
Used by tests/test_identities.py and benchmarks/respellings.py (the adversarial corpus)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from vasp_rules import RulePack
from vasp_rules.entities.identity import canonical_address
from vasp_rules.entities.registry import DocumentError
from vasp_rules.model.decision import Decision

ROOT = Path(__file__).resolve().parents[2]  # the repository
BATCHES = ROOT / "examples" / "batches"
AS_OF = date(2026, 8, 10)

#: hidden characters: controls, format (zero-width, BOM, soft hyphen, word joiner), bidi
#: controls, invisible letters and marks
HIDDEN = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202a", "\u202d",
    "\u2066", "\u2069", "\u200e", "\u200f", "\u0000", "\u0001", "\u001f", "\u007f", "\u0085",
    "\u180e", "\u034f", "\ufe0f", "\u3164", "\u115f", "\u2028", "\u2029", "\U000e0001",
    "\t", "\n",
]
#: white space that shows as a space
SPACES = [" ", "\u00a0", "\u2009", "\u202f", "\u3000", "\u2007", "\u205f", "\u1680"]
#: look-alikes of ASCII letters and digits (Cyrillic, Greek, Armenian, Arabic-Indic, ...)
HOMOGLYPHS = {
    "a": ["\u0430", "\u0251", "\u03b1"], "c": ["\u0441", "\u03f2"], "e": ["\u0435"],
    "o": ["\u043e", "\u03bf", "\u0585"], "p": ["\u0440"], "x": ["\u0445"], "y": ["\u0443"],
    "d": ["\u0501"], "b": ["\u0184"], "i": ["\u0456"], "s": ["\u0455"],
    "A": ["\u0410", "\u0391"], "B": ["\u0412", "\u0392"], "C": ["\u0421"], "E": ["\u0415"],
    "M": ["\u041c"], "T": ["\u0422", "\u03a4"], "U": ["\u054d"], "S": ["\u0405"],
    "0": ["\u041e", "\u0660", "\u06f0", "\U0001d7ce"], "1": ["\u0661", "\u2460", "\u00b9"],
    "2": ["\u0662"], "4": ["\u0664"], "7": ["\u0667"], "8": ["\u0668"], "9": ["\u0669"],
}


def fullwidth(text: str) -> str:
    """Every printable ASCII character in its fullwidth form (NFKC folds them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def respellings(value: str, *, case_insensitive: bool) -> Iterator[tuple[str, str]]:
    """(label, respelt value): a fixed, deterministic list."""
    middle = len(value) // 2
    for ch in HIDDEN:
        code = f"U+{ord(ch):04X}"
        yield f"{code} appended", value + ch
        yield f"{code} leading", ch + value
        yield f"{code} inside", value[:middle] + ch + value[middle:]
        yield f"{code} twice", ch + value[:middle] + ch + value[middle:]
    for ch in SPACES:
        code = f"U+{ord(ch):04X}"
        yield f"{code} around", ch + value + ch
        yield f"{code} inside", value[:middle] + ch + value[middle:]
    for i, c in enumerate(value):
        for glyph in HOMOGLYPHS.get(c, []):
            yield f"U+{ord(glyph):04X} for {c!r} at {i}", value[:i] + glyph + value[i + 1 :]
    yield "fullwidth", fullwidth(value)
    yield "fullwidth prefix", fullwidth(value[:2]) + value[2:]
    yield "one fullwidth character", value[:middle] + fullwidth(value[middle]) + value[middle + 1 :]
    if case_insensitive:
        yield "upper case", value.upper()
        yield "lower case", value.lower()
        yield "swapped case", value.swapcase()
        if value[:2].lower() == "0x":
            yield "upper-case digits", value[:2] + value[2:].upper()
            yield "0X prefix", "0X" + value[2:]


def load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((BATCHES / name).read_text())
    return data


#: (batch, label of the respelt field, how to respell a copy of the batch, case-insensitive)
Target = tuple[str, str, Callable[[list[dict[str, Any]], Callable[[str, int], str]], None], bool]


def _wallet_of_second(docs: list[dict[str, Any]], spell: Callable[[str, int], str]) -> None:
    holding = docs[1]["holdings"][0]
    holding["wallet_address"] = spell(holding["wallet_address"], 0)


def _originators(field: str) -> Callable[[list[dict[str, Any]], Callable[[str, int], str]], None]:
    def edit(docs: list[dict[str, Any]], spell: Callable[[str, int], str]) -> None:
        for i, doc in enumerate(docs):
            doc["originator"][field] = spell(doc["originator"][field], i)

    return edit


def _both_keys(docs: list[dict[str, Any]], spell: Callable[[str, int], str]) -> None:
    _originators("account_or_wallet")(docs, spell)
    _originators("customer_id")(docs, spell)


_TRANSFERS = "transfers_structuring.json"
TARGETS: list[Target] = [
    ("amnesty_shared_wallet.json", "[1].holdings[0].wallet_address", _wallet_of_second, True),
    (_TRANSFERS, "originator.account_or_wallet", _originators("account_or_wallet"), False),
    (_TRANSFERS, "originator.customer_id", _originators("customer_id"), False),
    (_TRANSFERS, "originator.account_or_wallet+customer_id", _both_keys, False),
    (_TRANSFERS, "originator.national_id", _originators("national_id"), False),
]


def respelt_batches() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every respelling of the corpus: (label, documents). In the transfer batch the i-th
    transfer gets the respelling i times (0, 1, 2), as a structurer would vary it."""
    for name, field, edit, insensitive in TARGETS:
        base = load(name)
        sample = _first_value(name, field, base)
        for label, _ in respellings(sample, case_insensitive=insensitive):
            docs = copy.deepcopy(base)

            def spell(
                value: str, i: int, label: str = label, name: str = name, ci: bool = insensitive
            ) -> str:
                spelt = dict(respellings(value, case_insensitive=ci))[label]
                if name.startswith("transfers") and i == 0 and "twice" not in label:
                    return value  # the first transfer as written; the others respelt
                return spelt

            edit(docs, spell)
            yield f"{name} {field}: {label}", docs


def _first_value(name: str, field: str, docs: list[dict[str, Any]]) -> str:
    if name.startswith("amnesty"):
        return str(docs[1]["holdings"][0]["wallet_address"])
    return str(docs[0]["originator"][field.split("+")[0].removeprefix("originator.")])


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return canonical_address(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def summary(decision: Decision) -> dict[str, Any]:
    """What must not change under a respelling: outcome, fired rules, and each finding, its
    reason included (facts are compared in canonical form: they echo what the document wrote,
    e.g. an upper-case EVM address, as the hashes do)."""
    data = decision.model_dump(mode="json")
    findings = [{**f, "facts": _canonical(f["facts"])} for f in data["findings"]]
    return {"id": data["document_id"], "outcome": data["outcome"], "findings": findings}


def decide(pack: RulePack, docs: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    """The batch's summaries, or the refusal's message (which must name a path)."""
    try:
        return [summary(d) for d in pack.evaluate_many(docs, AS_OF)]
    except DocumentError as exc:
        return str(exc)
