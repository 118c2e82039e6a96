"""Regular expressions of the rule language (`matches(text, "pattern")`), matched by RE2.

Why: Python's `re` backtracks, so a pattern such as `(a+)+$` takes exponential time on a
40-character name and hangs evaluation. RE2 (the `google-re2` package) matches in time linear
in the text and refuses what it cannot match that way (backreferences, lookaround), so such a
pattern is refused when the pack loads instead. Patterns are compiled once and cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

from ..core.errors import VaspRulesError

#: Memory RE2 may use for one compiled pattern; a pattern needing more is refused at load.
MAX_PATTERN_MEMORY = 8 << 20


class PatternError(VaspRulesError, ValueError):
    """A pattern outside the rule language's dialect (RE2 syntax)."""


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> Any:
    """The compiled pattern; PatternError if RE2 refuses it."""
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False  # RE2 would print to stderr; the error is reported instead
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "not an RE2 pattern"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternError(str(detail)) from None
    except (TypeError, ValueError) as exc:
        raise PatternError(str(exc)) from None


def check(pattern: str) -> None:
    """Refuse a pattern RE2 cannot match in linear time (or cannot parse)."""
    compiled(pattern)


def fullmatch(pattern: str, text: str) -> bool:
    """Whether the whole text matches the pattern (linear time in the text)."""
    return compiled(pattern).fullmatch(text) is not None
