"""Valid wallet addresses for generated documents: the holding's network (from its chain or
symbol) decides the form, so per-network validation (checksums included) accepts them."""

from __future__ import annotations

import hashlib
from typing import Any

import base58
import bech32

from vasp_rules.entities.identity import network_of_chain


def wallet_for(holding: dict[str, Any], tag: str) -> str:
    """A valid address for the holding's chain made from `tag`: the same tag, the same wallet."""
    digest = hashlib.sha256(tag.encode()).digest()[:20]
    network = network_of_chain(holding.get("chain"), holding.get("asset_symbol"))
    if network == "evm":
        return "0x" + digest.hex()
    if network == "tron":
        return base58.b58encode_check(b"\x41" + digest).decode()
    hrp = {"litecoin": "ltc"}.get(network or "", "bc")
    if network == "cosmos":
        words = bech32.convertbits(list(digest), 8, 5)
        assert words is not None
        return bech32.bech32_encode("cosmos", words)
    address = bech32.encode(hrp, 0, list(digest))
    assert address is not None
    return address
