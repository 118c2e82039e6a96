"""Valid wallet addresses for tests, made from a seed: each network's real encoding and checksum
(EIP-55, bech32, base58check), so per-network validation accepts them."""

from __future__ import annotations

import hashlib
from typing import Any

import base58
from bech32 import bech32_encode, convertbits
from Crypto.Hash import keccak

from vasp_rules.entities.identity import network_of_chain

NETWORKS = ("bitcoin", "evm", "litecoin", "tron", "cosmos")


def _payload(seed: object, size: int = 20) -> bytes:
    return hashlib.sha256(repr(seed).encode()).digest()[:size]


def eip55(hex40: str) -> str:
    """`0x` + the EIP-55 checksummed spelling of 40 hex digits."""
    digits = hex40.lower().removeprefix("0x")
    digest = keccak.new(digest_bits=256, data=digits.encode()).hexdigest()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(h, 16) >= 8 else c
        for c, h in zip(digits, digest, strict=False)
    )


def _segwit_v0(hrp: str, program: bytes) -> str:
    data = convertbits(list(program), 8, 5)
    assert data is not None
    return bech32_encode(hrp, [0, *data])


def address(network: str, seed: object = 0, *, legacy: bool = False) -> str:
    """A valid mainnet address of `network` (checksummed mixed case for EVM)."""
    program = _payload((network, seed))
    if network == "evm":
        return eip55(program.hex())
    if network == "bitcoin":
        if legacy:
            return base58.b58encode_check(b"\x00" + program).decode()
        return _segwit_v0("bc", program)
    if network == "litecoin":
        if legacy:
            return base58.b58encode_check(b"\x30" + program).decode()
        return _segwit_v0("ltc", program)
    if network == "tron":
        return base58.b58encode_check(b"\x41" + program).decode()
    if network == "cosmos":
        data = convertbits(list(program), 8, 5)
        assert data is not None
        return bech32_encode("cosmos", data)
    raise ValueError(network)


def wallet_for(holding: dict[str, Any], tag: object) -> str:
    """A valid address for a holding's network (its chain, else its coin), made from `tag`:
    the same tag gives the same wallet; an EVM-looking one where the network cannot be told."""
    network = network_of_chain(holding.get("chain"), holding.get("asset_symbol"))
    return address(network or "evm", tag)
