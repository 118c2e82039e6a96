"""Identifiers that cannot be respelled: the one canonical form of wallets, accounts, ids, names.

Cross-document rules (AMN-14's shared wallet, TR-10's one originator) compare and group by
identifiers, so an identifier that can be written two ways that look the same would let a
structurer split one wallet or one customer into two. Every field that names a party or a wallet
is therefore checked here. Id numbers and names are stored in their canonical form; a wallet is
kept as written (facts and hashes show what was sent) and every comparison reads its canonical
form, :func:`canonical_address`, which the engines call through :attr:`WalletAddress.canonical`:
the one source of that form.

- Names are read in Unicode NFKC.
- A control, format (``Cf``: zero-width space, BOM, soft hyphen, word joiner, bidi controls),
  line or paragraph separator, private-use, unassigned or other invisible ("default
  ignorable") character is refused with a message naming it, never silently stripped: a
  document that hides a character is visible as such. Names alone may keep a zero-width
  (non-)joiner between two non-ASCII letters, where Urdu and Persian spelling uses it.
- Wallet addresses, accounts and id numbers are ASCII: a non-ASCII character (a Cyrillic ``а``
  for ``a``, a fullwidth ``０ｘ``) is refused, even where NFKC would fold it to ASCII, because an
  address copied from a chain or an id copied from a card never needs folding. Surrounding ASCII
  white space is dropped; white space inside is refused.
- Wallet addresses are validated for their network when the document tells the network
  (:func:`network_of_asset`, :func:`network_of_chain`); see :func:`address_problem`. An address
  whose network cannot be told is compared in :func:`canonical_address` form only.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Literal

import base58
from annotated_types import MinLen
from bech32 import CHARSET, bech32_hrp_expand, bech32_polymod, convertbits
from Crypto.Hash import keccak
from pydantic import AfterValidator, Field, StrictStr, ValidationError, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "IGNORABLE",
    "Address",
    "IdNumber",
    "Name",
    "Network",
    "WalletAddress",
    "address_problem",
    "canonical_address",
    "check_account",
    "check_ascii",
    "check_id_number",
    "check_name",
    "check_wallet",
    "describe",
    "looks_like_address",
    "network_of_asset",
    "network_of_chain",
]

Network = Literal["bitcoin", "evm", "litecoin", "tron", "cosmos"]

#: Invisible although not in a Cc/Cf category (Unicode's Default_Ignorable_Code_Point letters and
#: marks): combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free
#: variation selectors, variation selectors; plus the braille blank.
IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
#: Categories never accepted in an identifier: controls, format characters (zero-width, BOM,
#: bidi), surrogates, private use, unassigned, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_JOINERS = frozenset("\u200c\u200d")


def describe(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: a character as a message names it."""
    name = unicodedata.name(ch, "")
    if not name and unicodedata.category(ch) == "Cc":
        name = "control character"
    return f"U+{ord(ch):04X} {name or 'unnamed character'}".rstrip()


def _hidden(ch: str) -> bool:
    return ch in IGNORABLE or unicodedata.category(ch) in _HIDDEN_CATEGORIES


def _joining_letter(ch: str) -> bool:
    return not ch.isascii() and unicodedata.category(ch).startswith(("L", "M"))


#: the hidden characters of ASCII (controls): plain ASCII text without them needs no loop
_ASCII_HIDDEN = re.compile("[\x00-\x1f\x7f]")


def _refuse_hidden(text: str, what: str, *, name: bool = False) -> None:
    if text.isascii() and not _ASCII_HIDDEN.search(text):
        return
    for i, ch in enumerate(text):
        if not _hidden(ch):
            continue
        if (
            name
            and ch in _JOINERS
            and 0 < i < len(text) - 1
            and _joining_letter(text[i - 1])
            and _joining_letter(text[i + 1])
        ):
            continue
        raise PydanticCustomError(
            "identifier_hidden_character",
            "{what} contains the hidden character {char} at position {pos}: control, format, "
            "bidi and zero-width characters are refused in identifiers (a hidden character "
            "would make one {what} look like another); remove it",
            {"what": what, "char": describe(ch), "pos": i + 1},
        )


_ASCII_SPACE = " \t\n\r\f\v"
#: the space characters (Zs): dropped around a name; controls such as a tab are hidden
_SPACE_SEPARATORS = (
    " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
)


#: white space inside an ASCII token (the token is ASCII by then)
_ASCII_WHITE_SPACE = re.compile("[ \t\n\r\f\v\x1c-\x1f]")


def _ascii_token(text: str, what: str) -> str:
    """`text` as an ASCII token: surrounding ASCII white space dropped; then no hidden
    character, no non-ASCII character and no white space inside."""
    core = check_ascii(text.strip(_ASCII_SPACE), what)
    if _ASCII_WHITE_SPACE.search(core):
        raise PydanticCustomError(
            "identifier_space",
            "{what} {got} contains white space: write it without spaces",
            {"what": what, "got": repr(core)[:80]},
        )
    if not core:
        raise PydanticCustomError("identifier_blank", "{what} is blank", {"what": what})
    return core


def check_ascii(core: str, what: str) -> str:
    """`core` unchanged if it has no hidden and no non-ASCII character; else the error names
    the first such character."""
    _refuse_hidden(core, what)
    if core.isascii():
        return core
    for i, ch in enumerate(core):
        if ch.isascii():
            continue
        folded = unicodedata.normalize("NFKC", ch)
        hint = f" (a look-alike of {folded!r})" if folded.isascii() and folded.strip() else ""
        raise PydanticCustomError(
            "identifier_not_ascii",
            "{what} contains {char}{hint} at position {pos}: it is written in ASCII letters "
            "and digits only; a look-alike or fullwidth character would name another one",
            {"what": what, "char": describe(ch), "hint": hint, "pos": i + 1},
        )
    return core


# --- the canonical form -------------------------------------------------------------------------

_HEX_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]+")
_BECH32_ADDRESS = re.compile(r"[A-Za-z]{1,83}1[02-9AC-HJ-NP-Zac-hj-np-z]{6,}")


def canonical_address(text: str) -> str:
    """The one form in which wallet addresses and accounts are compared and grouped: surrounding
    space ignored; 0x hex addresses (EIP-55 checksum case or not) and bech32 addresses (which
    are single-case) in lower case; any other address (base58, an account number) is
    case-sensitive and kept as written. Validated documents store this form already."""
    core = text.strip()
    if _HEX_ADDRESS.fullmatch(core):
        return core.lower()
    if _BECH32_ADDRESS.fullmatch(core) and (core == core.lower() or core == core.upper()):
        return core.lower()
    return core


class WalletAddress(str):
    """A wallet address (or account); rules compare its `canonical` form."""

    __slots__ = ()

    @property
    def canonical(self) -> str:
        return canonical_address(self)


# --- networks -----------------------------------------------------------------------------------

_ASSET_NETWORKS: dict[str, Network] = {
    "BTC": "bitcoin",
    "ETH": "evm",
    "LTC": "litecoin",
    "TRX": "tron",
    "ATOM": "cosmos",
}
#: Coins that live on one network only, so a holding's symbol tells its network when the
#: `chain` text is not one this module knows (ETH is not among them: its layer-2 networks
#: write addresses in other forms).
_NATIVE_ONLY = frozenset({"BTC", "LTC", "TRX", "ATOM"})
_CHAIN_NETWORKS: dict[str, Network] = {
    "bitcoin": "bitcoin",
    "btc": "bitcoin",
    "ethereum": "evm",
    "eth": "evm",
    "erc20": "evm",
    "erc-20": "evm",
    "evm": "evm",
    "polygon": "evm",
    "bsc": "evm",
    "bnb smart chain": "evm",
    "bep20": "evm",
    "bep-20": "evm",
    "arbitrum": "evm",
    "optimism": "evm",
    "base": "evm",
    "litecoin": "litecoin",
    "ltc": "litecoin",
    "tron": "tron",
    "trx": "tron",
    "trc20": "tron",
    "trc-20": "tron",
    "cosmos": "cosmos",
    "cosmos hub": "cosmos",
    "cosmoshub": "cosmos",
    "atom": "cosmos",
}
_NETWORK_NAMES: dict[Network, str] = {
    "bitcoin": "Bitcoin",
    "evm": "Ethereum (EVM)",
    "litecoin": "Litecoin",
    "tron": "Tron",
    "cosmos": "Cosmos Hub",
}


def network_of_asset(asset: object) -> Network | None:
    """The network a transfer's asset lives on, when it lives on one (BTC, ETH, LTC, TRX,
    ATOM); None for a token on several networks (USDT) or an asset this module does not know."""
    return _ASSET_NETWORKS.get(asset.strip().upper()) if isinstance(asset, str) else None


def network_of_chain(chain: object, asset_symbol: object = None) -> Network | None:
    """A holding's network: its `chain` when this module knows the name, else the network of a
    coin that lives on one network only (BTC, LTC, TRX, ATOM); None when it cannot be told."""
    if isinstance(chain, str) and (net := _CHAIN_NETWORKS.get(chain.strip().lower())):
        return net
    if isinstance(asset_symbol, str) and asset_symbol.strip().upper() in _NATIVE_ONLY:
        return _ASSET_NETWORKS[asset_symbol.strip().upper()]
    return None


_BASE58 = "[1-9A-HJ-NP-Za-km-z]"
#: Shapes that say "this is meant as an address of some network" (not an account number).
_SHAPES = (
    re.compile(r"0[xX][0-9a-fA-F]{40}"),
    re.compile(r"(?i:bc|tb|ltc|tltc|cosmos)1[0-9a-zA-Z]{6,87}"),
    re.compile(rf"[13LMT]{_BASE58}{{25,34}}"),
)
_BECH32M_CONST = 0x2BC830A3  # BIP 350
_BASE58_VERSIONS: dict[Network, frozenset[int]] = {
    "bitcoin": frozenset({0x00, 0x05}),  # P2PKH 1..., P2SH 3...
    "litecoin": frozenset({0x30, 0x32, 0x05}),  # L..., M..., legacy P2SH 3...
    "tron": frozenset({0x41}),  # T...
}
_HRPS: dict[Network, str] = {"bitcoin": "bc", "litecoin": "ltc", "cosmos": "cosmos"}


def looks_like_address(text: str) -> bool:
    """Whether `text` has the shape of an address of a network this module validates (as
    opposed to an account number at a VASP)."""
    return any(shape.fullmatch(text) for shape in _SHAPES)


def _eip55_problem(text: str) -> str | None:
    if not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", text):
        return "is not an EVM address (0x followed by 40 hex digits)"
    digits = text[2:]
    if digits == digits.lower() or digits == digits.upper():
        return None  # single case carries no checksum
    digest = keccak.new(digest_bits=256, data=digits.lower().encode()).hexdigest()
    expected = "".join(
        c.upper() if c.isalpha() and int(h, 16) >= 8 else c.lower()
        for c, h in zip(digits.lower(), digest, strict=False)
    )
    if digits != expected:
        return (
            "has mixed case that is not its EIP-55 checksum (a mistyped or altered address); "
            f"the checksummed form would be 0x{expected}"
        )
    return None


def _bech32_problem(text: str, network: Network) -> str | None:
    hrp_wanted = _HRPS[network]
    if text != text.lower() and text != text.upper():
        return "mixes upper and lower case, which bech32 forbids"
    low = text.lower()
    sep = low.rfind("1")
    hrp, data_part = low[:sep], low[sep + 1 :]
    if hrp != hrp_wanted:
        return f"does not start with {hrp_wanted}1"
    if len(low) > 90 or len(data_part) < 7 or any(c not in CHARSET for c in data_part):
        return "is not a bech32 string (length or characters)"
    data = [CHARSET.find(c) for c in data_part]
    const = bech32_polymod(bech32_hrp_expand(hrp) + data)
    if const not in (1, _BECH32M_CONST):
        return "fails its bech32 checksum (a mistyped or altered address)"
    if network == "cosmos":
        program = convertbits(data[:-6], 5, 8, False)
        if const != 1 or program is None or len(program) not in (20, 32):
            return "is not a Cosmos account address (bech32, 20 or 32 bytes)"
        return None
    version, program = data[0], convertbits(data[1:-6], 5, 8, False)
    if version > 16 or program is None or not 2 <= len(program) <= 40:
        return "is not a segwit address (witness version or program length)"
    if version == 0 and (const != 1 or len(program) not in (20, 32)):
        return "is not a version 0 segwit address (bech32 with a 20 or 32 byte program)"
    if version > 0 and const != _BECH32M_CONST:
        return "is a segwit version 1+ address but not in bech32m (BIP 350)"
    return None


def _base58_problem(text: str, network: Network) -> str | None:
    try:
        payload = base58.b58decode_check(text)
    except ValueError:
        return "fails its base58check checksum (a mistyped or altered address)"
    if len(payload) != 21 or payload[0] not in _BASE58_VERSIONS[network]:
        return "is a base58check string but not an address of this network (version byte)"
    return None


def address_problem(text: str, network: Network) -> str | None:
    """Why ASCII `text` is not an address of `network` (checksums included), or None.

    EVM: ``0x`` + 40 hex, the EIP-55 checksum checked when the case is mixed (keccak-256 from
    pycryptodome). Bitcoin and Litecoin: bech32 (segwit v0) or bech32m (v1+, BIP 350) with the
    mainnet prefix, or base58check legacy (base58). Tron: base58check with version 0x41. Cosmos
    Hub: bech32 with prefix ``cosmos``.
    """
    if network == "evm":
        return _eip55_problem(text)
    if network in _HRPS and text.lower().startswith(_HRPS[network] + "1"):
        return _bech32_problem(text, network)
    if network in _BASE58_VERSIONS:
        if re.fullmatch(f"{_BASE58}+", text):
            return _base58_problem(text, network)
        return "is neither a bech32 nor a base58check address"
    return "is not a bech32 address"


def check_address_for(text: str, network: Network | None, *, strict: bool) -> None:
    """Refuse `text` (already an ASCII token) when `network` is known and it is not one of its
    addresses. With `strict` false (a transfer's account_or_wallet, which may be an account
    number at a VASP) only text shaped like an address is checked."""
    text = text.strip(_ASCII_SPACE)
    if network is None or (not strict and not looks_like_address(text)):
        return
    problem = address_problem(text, network)
    if problem is not None:
        raise PydanticCustomError(
            "wallet_address",
            "{got} {why} ({network})",
            {"got": repr(text)[:100], "why": problem, "network": _NETWORK_NAMES[network]},
        )


# --- validators and field types -----------------------------------------------------------------


def check_account(text: str) -> WalletAddress:
    """A wallet address or account: an ASCII token (no hidden, non-ASCII or inner space
    character), kept as written; rules compare its :func:`canonical_address` form (the network
    check needs the document's asset or chain: see the models)."""
    _ascii_token(text, "wallet address or account")
    return WalletAddress(text)


def check_id_number(text: str) -> str:
    """An id number or key (national id, passport, CNIC, customer id, document id): an ASCII
    token, stored without surrounding space, which is the form rules compare; case is kept."""
    return _ascii_token(text, "id number")


def check_name(text: str) -> str:
    """A person's or firm's name, stored in NFKC form without surrounding space: any script is
    welcome, hidden characters are not (a zero-width joiner or non-joiner between two non-ASCII
    letters, as Urdu and Persian spelling use them, is kept)."""
    core = text.strip(_SPACE_SEPARATORS)
    _refuse_hidden(core, "name", name=True)
    if core.isascii():
        return core
    folded = unicodedata.normalize("NFKC", core).strip(_SPACE_SEPARATORS)
    _refuse_hidden(folded, "name", name=True)
    return folded


#: one printable ASCII token, ASCII white space around it allowed (as the validator reads it)
_TOKEN_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "pattern": "^[ \\t\\n\\r\\f\\v]*[!-~]+[ \\t\\n\\r\\f\\v]*$",
}
_ADDRESS_SCHEMA = {**_TOKEN_SCHEMA, "description": "wallet address or account (identities.md)"}
_ID_SCHEMA = {**_TOKEN_SCHEMA, "description": "id number (identities.md)"}

#: A wallet address or account: kept as written, compared in :func:`canonical_address` form.
Address = Annotated[
    StrictStr, MinLen(1), AfterValidator(check_account), WithJsonSchema(_ADDRESS_SCHEMA)
]
#: An id number or key (customer id, national id, passport, document id): an ASCII token.
IdNumber = Annotated[
    StrictStr, MinLen(1), AfterValidator(check_id_number), WithJsonSchema(_ID_SCHEMA)
]


def code_point_ranges(
    keep: Callable[[str], bool], last: int = sys.maxunicode
) -> tuple[tuple[int, int], ...]:
    """The runs of code points from 0 to `last` whose character `keep` accepts, as inclusive
    (first, last) pairs: the character classes of the JSON schemas and the symbolic model."""
    ranges: list[tuple[int, int]] = []
    for code in range(last + 1):
        if keep(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return tuple(ranges)


def regex_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """A regular-expression character-class body for `ranges`: `\\uXXXX` escapes (read alike
    by Python's re and ECMA-262), past the BMP the character itself (neither has one escape
    for it)."""

    def escape(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges)


@functools.cache
def _hidden_class() -> str:
    """The hidden characters of the BMP but the joiners, as a regular-expression class body
    (escaped ranges, portable to ECMA-262 regular expressions): controls, format characters,
    separators, surrogates, private use and the ignorables. The validator also refuses
    unassigned code points and the hidden characters beyond the BMP (tags, variation
    selectors supplement)."""
    return regex_class(
        code_point_ranges(
            lambda ch: _hidden(ch) and unicodedata.category(ch) != "Cn" and ch not in _JOINERS,
            0xFFFF,
        )
    )


def _name_schema(schema: dict[str, Any]) -> None:
    """JSON Schema of a name: a visible character, no hidden one; a zero-width joiner or
    non-joiner only between two non-ASCII characters (the validator: two non-ASCII letters)."""
    hidden = _hidden_class() + "\\u200c\\u200d"
    plain = f"[^{hidden}]"
    around = f"[^\\u0000-\\u007f{hidden}]"
    joiner = f"(?<={around})[\\u200c\\u200d](?={around})"
    schema.clear()
    schema.update(
        type="string",
        minLength=1,
        # the end is "no character follows", not `$`: Python's `$` also matches before a
        # final newline
        pattern=f"^(?:{plain}|{joiner})*[^{hidden}\\s](?:{plain}|{joiner})*(?![\\s\\S])",
        description="a name: any script, no hidden character (identities.md)",
    )


#: A name that names a party: any script, NFKC, no hidden character.
Name = Annotated[StrictStr, AfterValidator(check_name), Field(json_schema_extra=_name_schema)]


def refuse_at(title: str, loc: tuple[str | int, ...], error: PydanticCustomError, got: str) -> None:
    """Raise `error` as a validation error at `loc` below the model being validated."""
    raise ValidationError.from_exception_data(
        title, [InitErrorDetails(type=error, loc=loc, input=got)]
    )


def check_wallet(
    title: str,
    loc: tuple[str | int, ...],
    text: str | None,
    network: Network | None,
    *,
    strict: bool,
) -> None:
    """Refuse (at `loc`) a stored wallet that is not an address of a known `network`."""
    if text is None:
        return
    try:
        check_address_for(text, network, strict=strict)
    except PydanticCustomError as err:
        refuse_at(title, loc, err, text)
