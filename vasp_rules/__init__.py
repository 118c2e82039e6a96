"""vasp-rules: declarative, explainable compliance rules for virtual-asset regulation.

>>> from vasp_rules import RulePack
>>> pack = RulePack.load("pk")
>>> decision = pack.evaluate(document, as_of=date(2026, 6, 1))

This package's __init__ is the composition root: it sits above every stage (docs/architecture.md),
re-exports the public names and plugs the features RulePack's conveniences call into the runtime
(which may not import them). Nothing inside the package imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .core.errors import VaspRulesError
from .core.version import __version__
from .entities.registry import DocumentError, json_schema, parse_document
from .model.decision import Citation, Decision, Finding, Outcome
from .pack.loader import PackError, PackIssue
from .pack.overrides import ParamOverride
from .runtime.rulepack import FEATURES, RulePack

if TYPE_CHECKING:
    from .runtime.rulepack import Explainer, InProcesses, Pool


def _explainer() -> Explainer:
    from .explain.api import attach_explanations

    return attach_explanations


def _in_processes() -> InProcesses:
    from .scale.chunks import evaluate_in_processes

    return evaluate_in_processes


def _pool() -> Callable[[RulePack, int], Pool]:
    from .scale.pool import WorkerPool

    return WorkerPool


FEATURES.explainer = _explainer
FEATURES.in_processes = _in_processes
FEATURES.pool = _pool

__all__ = [
    "Citation",
    "Decision",
    "DocumentError",
    "Finding",
    "Outcome",
    "PackError",
    "PackIssue",
    "ParamOverride",
    "RulePack",
    "VaspRulesError",
    "__version__",
    "json_schema",
    "parse_document",
]
