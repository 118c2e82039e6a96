"""Identities cannot be respelled (vasp_rules/entities/identity.py).

A wallet, account or id that is written so that it looks the same (hidden characters, other
white space, look-alike letters, fullwidth forms, case where the chain ignores it) is either
refused with the field's path or decided exactly as the plain spelling: never decided
differently. Also: per-network wallet validation, names in any script, and an unknown network
compared in canonical form only.

``pytest -s tests/test_identities.py -k corpus`` prints the adversarial corpus's counts.
"""

from __future__ import annotations

import copy
import json
import os
import unicodedata
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support.addresses import NETWORKS, address, eip55
from support.asgi import asgi_call
from support.packs import pack
from support.repo import example
from support.respellings import (
    AS_OF,
    HIDDEN,
    HOMOGLYPHS,
    SPACES,
    TARGETS,
    decide,
    fullwidth,
    load,
    respellings,
    respelt_batches,
    summary,
)

from vasp_rules.entities.amnesty import AssetHolding
from vasp_rules.entities.identity import address_problem, canonical_address, check_name
from vasp_rules.entities.registry import DocumentError, parse_document
from vasp_rules.model.decision import Decision

PK = pack("pk")
#: hypothesis examples per property (VASP_RULES_FUZZ=1 for a long run)
EXAMPLES = 3000 if os.environ.get("VASP_RULES_FUZZ") else 150
BASE = {name: decide(PK, load(name)) for name in {t[0] for t in TARGETS}}


def test_the_plain_batches_refer_as_the_issue_says() -> None:
    assert [d["outcome"] for d in BASE["amnesty_shared_wallet.json"]] == ["REFER"] * 2
    assert [d["outcome"] for d in BASE["transfers_structuring.json"]] == ["REFER"] * 3


# -- the attacks of issue 20 ---------------------------------------------------------------------

WALLET = "0x4b2e1f0a9c7d3e5b8a6f2c1d0e9b7a5c3f1e8d2a"


@pytest.mark.parametrize(
    ("written", "named"),
    [
        (WALLET + "\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u200b" + WALLET, "U+200B ZERO WIDTH SPACE"),
        (WALLET + "\u0000", "U+0000"),
        (WALLET[:10] + "\u202e" + WALLET[10:], "U+202E RIGHT-TO-LEFT OVERRIDE"),
        (WALLET + "\u00ad", "U+00AD SOFT HYPHEN"),
        (WALLET + "\u2060", "U+2060 WORD JOINER"),
        (WALLET.replace("a", "\u0430", 1), "U+0430 CYRILLIC SMALL LETTER A"),
        ("\uff10\uff58" + WALLET[2:], "U+FF10 FULLWIDTH DIGIT ZERO (a look-alike of '0')"),
    ],
)
def test_a_respelled_shared_wallet_is_refused_with_its_path(written: str, named: str) -> None:
    docs = load("amnesty_shared_wallet.json")
    docs[1]["holdings"][0]["wallet_address"] = written
    with pytest.raises(DocumentError) as refused:
        PK.evaluate_many(docs, AS_OF)
    message = str(refused.value)
    assert message.startswith("documents[1].holdings[0].wallet_address: ")
    assert named in message


@pytest.mark.parametrize("hidden", ["\u200b", "\ufeff"])
@pytest.mark.parametrize("field", ["account_or_wallet", "customer_id"])
def test_structuring_with_hidden_characters_is_refused(hidden: str, field: str) -> None:
    docs = load("transfers_structuring.json")
    for i, doc in enumerate(docs):  # 0, 1 and 2 hidden characters: three "originators"
        doc["originator"][field] += hidden * i
    with pytest.raises(DocumentError, match=rf"documents\[1\]\.originator\.{field}: .*U\+"):
        PK.evaluate_many(docs, AS_OF)


# -- the adversarial corpus ----------------------------------------------------------------------


def test_corpus_of_respellings_is_refused_or_decided_the_same() -> None:
    counts: Counter[str] = Counter()
    different = []
    for label, docs in respelt_batches():
        got = decide(PK, docs)
        if isinstance(got, str):
            counts["refused"] += 1
            assert got.startswith("documents["), (label, got)  # names the path
        elif got == BASE[label.split()[0]]:
            counts["decided the same"] += 1
        else:
            different.append(label)
    counts["respellings"] = sum(counts.values()) + len(different)
    print(f"\nadversarial corpus: {dict(counts)}, decided differently: {len(different)}")
    assert not different
    assert counts["refused"] > 500 and counts["decided the same"] > 20


# -- the property ---------------------------------------------------------------------------------

#: characters whose NFKC form is one ASCII letter or digit (fullwidth, mathematical, circled,
#: superscript, ...): compatibility look-alikes
_COMPAT: dict[str, list[str]] = {}
for _code in [*range(0xA0, 0x3400), *range(0xFB00, 0x10000), *range(0x1D400, 0x1D800)]:
    _ch = chr(_code)
    _folded = unicodedata.normalize("NFKC", _ch)
    if len(_folded) == 1 and _folded.isascii() and _folded.isalnum() and _folded != _ch:
        _COMPAT.setdefault(_folded, []).append(_ch)

_INVISIBLE = st.sampled_from(HIDDEN + SPACES) | st.characters(
    categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]
)


@st.composite
def _edit(draw: st.DrawFn, insensitive: bool, benign: bool = False) -> Any:
    """One respelling step; `benign` ones (ASCII space around, case where the chain ignores it)
    must be decided as the plain spelling, the others may be refused."""
    kinds = ["space"] + (["case"] if insensitive else [])
    if not benign:
        kinds += ["insert", "surround", "homoglyph", "compat"]
    kind = draw(st.sampled_from(kinds))
    if kind == "space":
        return "surround", draw(st.sampled_from([" ", "\t", "\n", "\r\n", "  "])), 0.0
    if kind in ("insert", "surround"):
        return kind, draw(_INVISIBLE), draw(st.floats(0, 1))
    if kind == "case":
        return kind, draw(st.sampled_from(["upper", "lower", "swapcase", "digits"])), 0.0
    return kind, draw(st.integers(0, 10**6)), draw(st.floats(0, 1))


def _apply(value: str, edits: list[Any]) -> str:
    for kind, arg, where in edits:
        at = min(int(where * (len(value) + 1)), len(value))
        if kind == "insert":
            value = value[:at] + arg + value[at:]
        elif kind == "surround":
            value = arg + value + arg
        elif kind == "case":
            if arg == "digits":
                value = value[:2] + value[2:].upper()
            else:
                value = getattr(value, arg)()
        else:
            at = min(at, len(value) - 1)
            table = HOMOGLYPHS if kind == "homoglyph" else _COMPAT
            choices = table.get(value[at]) or [fullwidth(value[at])]
            value = value[:at] + choices[arg % len(choices)] + value[at + 1 :]
    return value


@st.composite
def respelt(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    name, field, edit, insensitive = draw(st.sampled_from(TARGETS))
    docs = load(name)
    benign = draw(st.booleans())
    per_doc = [draw(st.lists(_edit(insensitive, benign), max_size=3)) for _ in docs]
    if not any(per_doc):
        per_doc[-1] = [draw(_edit(insensitive, benign))]
    edit(docs, lambda value, i: _apply(value, per_doc[i] if name.startswith("t") else per_doc[0]))
    return name, docs


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=respelt())
def test_a_respelling_is_refused_or_decided_as_the_plain_spelling(
    case: tuple[str, list[dict[str, Any]]],
) -> None:
    name, docs = case
    got = decide(PK, docs)
    event("refused" if isinstance(got, str) else "decided")
    if isinstance(got, str):
        assert got.startswith("documents["), got
    else:
        assert got == BASE[name]


_APP: list[Any] = []


def _app() -> Any:
    if not _APP:
        from vasp_rules.service import ServiceConfig, create_app

        _APP.append(create_app(ServiceConfig()))
    return _APP[0]


@settings(
    max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(case=respelt())
def test_the_service_refuses_a_respelling_or_decides_it_as_the_plain_spelling(
    case: tuple[str, list[dict[str, Any]]],
) -> None:
    name, docs = case
    status, body = asgi_call(
        _app(), "POST", f"/v1/evaluate?as_of={AS_OF}", json.dumps(docs).encode()
    )
    answer = json.loads(body)
    event(f"HTTP {status}")
    if status == 422:
        assert answer["errors"][0]["path"].startswith("documents["), answer
    else:
        assert status == 200, answer
        assert [summary(Decision.model_validate(d)) for d in answer] == BASE[name]


# -- per-network validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "evm"),  # EIP-55's own example
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "evm"),  # single case: no checksum
        ("0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "evm"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bitcoin"),  # BIP 173
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bitcoin"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bitcoin"),  # BIP 350
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "tron"),
        ("ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", "litecoin"),
        ("cosmos1hsk6jryyqjfhp5dhc55tc9jtckygx0eph6dd02", "cosmos"),
        *((address(n, s, legacy=s == 1), n) for n in NETWORKS for s in (0, 1)),
    ],
)
def test_valid_addresses_of_each_network_are_accepted(text: str, network: Any) -> None:
    assert address_problem(text, network) is None


@pytest.mark.parametrize(
    ("text", "network", "why"),
    [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "evm", "EIP-55"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "evm", "40 hex"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bitcoin", "checksum"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kV8f3t4", "bitcoin", "mixes upper and lower"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "bitcoin", "checksum"),
        ("1a1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin", "checksum"),  # base58 keeps case
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "bitcoin", "version byte"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "tron", "version byte"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "litecoin", "neither"),
        ("cosmos1hsk6jryyqjfhp5dhc55tc9jtckygx0eph6dd03", "cosmos", "checksum"),
    ],
)
def test_invalid_addresses_are_named(text: str, network: Any, why: str) -> None:
    problem = address_problem(text, network)
    assert problem is not None and why in problem


def test_a_transfer_wallet_must_fit_the_asset_but_an_account_number_is_kept() -> None:
    doc = example("transfer")
    doc["asset"] = "BTC"
    doc["beneficiary"]["account_or_wallet"] = eip55("ab" * 20)
    with pytest.raises(DocumentError, match=r"beneficiary\.account_or_wallet: .*Bitcoin"):
        parse_document(doc)
    doc["beneficiary"]["account_or_wallet"] = "ACC-0042-77"  # an account at the VASP
    assert parse_document(doc).beneficiary.account_or_wallet == "ACC-0042-77"  # type: ignore[union-attr]
    doc["asset"] = "USDT"  # on several networks: not validated, compared in canonical form
    doc["beneficiary"]["account_or_wallet"] = "0xAB" + "cd" * 19
    model = parse_document(doc)
    assert model.beneficiary.account_or_wallet.canonical == "0xab" + "cd" * 19  # type: ignore[union-attr]


def test_a_holding_on_an_unknown_chain_is_compared_in_canonical_form() -> None:
    holding = example("amnesty_declaration")["holdings"][0]
    plain = {**holding, "chain": "solana", "asset_symbol": "SOL", "wallet_address": "So1Wa11et"}
    assert AssetHolding.model_validate(plain).wallet_address.canonical == "So1Wa11et"
    with pytest.raises(ValidationError, match="wallet_address"):
        AssetHolding.model_validate({**holding, "chain": "bitcoin", "wallet_address": "So1Wa11et"})
    with pytest.raises(ValidationError, match="U\\+200B"):
        AssetHolding.model_validate({**plain, "wallet_address": "So1Wa11et\u200b"})


def test_one_canonical_form_for_addresses() -> None:
    assert canonical_address(" 0xAbCd ") == "0xabcd"
    assert canonical_address("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4") == (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    )
    assert canonical_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t") == (
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    )


# -- names and id numbers -------------------------------------------------------------------------


def test_names_may_be_in_any_script_but_hide_nothing() -> None:
    assert check_name("محمد علی") == "محمد علی"
    assert check_name("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ inside an Urdu/Persian word
    assert check_name("Ｕｓｍａｎ") == "Usman"  # NFKC
    for bad in ("Usman\u200b", "\u200cUsman", "Us\u202eman", "Usman\u00ad", "U\u0000sman"):
        with pytest.raises(ValueError, match="hidden character U\\+"):
            check_name(bad)


def test_id_numbers_are_one_ascii_token() -> None:
    doc = example("transfer")
    doc["originator"]["customer_id"] = "  CUST-1  "
    doc["originator"]["national_id"] = "4210177342905"
    model = parse_document(doc)
    assert model.originator.customer_id == "CUST-1"  # type: ignore[attr-defined]
    for bad, named in (
        ("CUST\u20131", "U+2013 EN DASH"),
        ("CUST-\uff11", "FULLWIDTH DIGIT ONE"),
        ("CUST 1", "white space"),
        ("CUST-1\u2060", "U+2060 WORD JOINER"),
    ):
        broken = copy.deepcopy(doc)
        broken["originator"]["national_id"] = bad
        pattern = r"originator\.national_id: .*" + named.replace("+", r"\+")
        with pytest.raises(DocumentError, match=pattern):
            parse_document(broken)


def test_a_cnic_with_a_hidden_or_fullwidth_digit_names_it() -> None:
    doc = example("amnesty_declaration")
    doc["declarant"]["id_document"]["number"] = "35202-6614378-9\u2060"
    with pytest.raises(DocumentError, match=r"declarant\.id_document\.number: .*U\+2060 WORD"):
        parse_document(doc)
    doc["declarant"]["id_document"]["number"] = "\uff13" + "5202-6614378-9"
    with pytest.raises(DocumentError, match="FULLWIDTH DIGIT THREE"):
        parse_document(doc)


def test_an_ivms101_payload_with_a_hidden_character_is_refused_at_its_own_path() -> None:
    from support.repo import EXAMPLES as EXAMPLE_DIR

    from vasp_rules.entities.ivms101 import parse_ivms101

    payload = json.loads((EXAMPLE_DIR / "ivms101" / "incoming_2023.json").read_text())
    text = json.dumps(payload)
    wallet = "bc1q5k9gndgqlg286d2amhvjs0fwue2kpj7gzvqa5k"
    assert wallet in text
    payload = json.loads(text.replace(wallet, wallet + "\\u200b"))
    with pytest.raises(DocumentError, match=r"accountNumber\[0\]: .*U\+200B ZERO WIDTH SPACE"):
        parse_ivms101(payload)


@pytest.mark.parametrize("engine", ["durable", "reference"])
@pytest.mark.parametrize(
    "spelt",
    [WALLET.upper().replace("0X", "0x"), "0X" + WALLET[2:].upper(), f"  {WALLET}\t", eip55(WALLET)],
)
def test_both_engines_compare_wallets_in_the_one_canonical_form(engine: Any, spelt: str) -> None:
    docs = load("amnesty_shared_wallet.json")
    docs[1]["holdings"][0]["wallet_address"] = spelt
    decisions = PK.evaluate_many(docs, AS_OF, engine=engine)
    assert [summary(d) for d in decisions] == BASE["amnesty_shared_wallet.json"]
    assert all(d.fired == ["AMN-14"] or "AMN-14" in d.fired for d in decisions)


def test_an_eth_transfer_with_a_broken_checksum_is_refused_at_its_path() -> None:
    doc = example("transfer")
    doc["asset"] = "ETH"
    good = eip55("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    doc["beneficiary"]["account_or_wallet"] = good
    parse_document(doc)
    doc["beneficiary"]["account_or_wallet"] = good[:-1] + good[-1].swapcase()
    with pytest.raises(DocumentError, match=r"beneficiary\.account_or_wallet: .*EIP-55"):
        parse_document(doc)


@pytest.mark.parametrize("kind", ["Address", "IdNumber", "Name"])
def test_the_json_schema_of_an_identity_refuses_what_the_validator_refuses(kind: str) -> None:
    """Character by character (a network's checksum is beyond a JSON Schema)."""
    import jsonschema
    from pydantic import TypeAdapter

    from vasp_rules.entities import identity

    adapter: TypeAdapter[Any] = TypeAdapter(getattr(identity, kind))
    schema = jsonschema.Draft202012Validator(adapter.json_schema())
    values = ["CUST-00481977", "Usman Tariq Butt", "می\u200cخواهم", " 0xAbC ", "a\u200cb"]
    values += [v for base in values[:2] for _, v in respellings(base, case_insensitive=True)]
    disagree = []
    for value in values:
        try:
            adapter.validate_python(value)
            accepted = True
        except ValidationError:
            accepted = False
        if accepted != schema.is_valid(value) and ord(max(value)) < 0x10000:
            disagree.append(value)
    assert not disagree


def test_an_lei_with_a_hidden_or_look_alike_character_names_it() -> None:
    doc = example("licence_application")
    lei = doc["firm"]["lei"]
    doc["firm"]["lei"] = lei[:4] + "\u200b" + lei[4:]
    with pytest.raises(DocumentError, match=r"firm\.lei: .*U\+200B ZERO WIDTH SPACE"):
        parse_document(doc)
    doc["firm"]["lei"] = lei.replace("K", "\u041a", 1)  # Cyrillic capital KA
    with pytest.raises(DocumentError, match=r"firm\.lei: .*CYRILLIC CAPITAL LETTER KA"):
        parse_document(doc)
    doc["firm"]["lei"] = lei[:4] + " " + lei[4:]  # ISO 17442 spacing is still read
    assert parse_document(doc).firm.lei == lei  # type: ignore[attr-defined]
