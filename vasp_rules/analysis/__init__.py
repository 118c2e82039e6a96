"""Rule-pack analysis with a symbolic model of the condition language (Z3): dead, always-firing,
redundant and undecidable rules; pack diffs with witness documents; impact on a population."""

from .analyze import Analysis, analyze
from .diff import DiffResult, Side, Witness, diff
from .impact import Impact, impact

__all__ = ["Analysis", "DiffResult", "Impact", "Side", "Witness", "analyze", "diff", "impact"]
