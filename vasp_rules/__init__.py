"""vasp-rules: declarative, explainable compliance rules for virtual-asset regulation.

>>> from vasp_rules import RulePack
>>> pack = RulePack.load("pk")
>>> decision = pack.evaluate(document, as_of=date(2026, 6, 1))
"""

__version__ = "0.1.0"

from .core.errors import VaspRulesError  # noqa: E402
from .entities.registry import DocumentError, json_schema, parse_document  # noqa: E402
from .model.decision import Citation, Decision, Finding, Outcome  # noqa: E402
from .pack.loader import PackError, PackIssue  # noqa: E402
from .pack.overrides import ParamOverride  # noqa: E402
from .runtime.rulepack import RulePack  # noqa: E402

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
