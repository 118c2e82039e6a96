"""Stage 1: reading and checking rule packs (manifest, parameters, rules)."""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "RulePack":  # re-exported lazily: rulepack imports this package's modules
        from ..runtime.rulepack import RulePack

        return RulePack
    raise AttributeError(name)
