"""The base of every error the library raises, and the errors that mean "the input is wrong".

Every error a caller may see derives from :class:`VaspRulesError`, whose class attributes say
how the command line and the service report it: ``exit_code`` (the process exit code) and
``http_status`` (the response status). Subclasses keep their built-in bases too (ValueError,
RuntimeError...), so ``except ValueError`` callers keep working.
"""

from __future__ import annotations


class VaspRulesError(Exception):
    """Base of the library's errors. ``exit_code``: what the CLI exits with; ``http_status``:
    what the service answers with."""

    exit_code: int = 2
    http_status: int = 422


class InputError(VaspRulesError, ValueError):
    """Bad input from the user (a file, an option, a scenario, a rule to explain): the command
    line prints it as one `error:` line and exits with code 2."""
