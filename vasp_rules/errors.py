"""Errors that mean "the input is wrong", shared by the library and the command line."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user (a file, an option, a scenario, a rule to explain): the command
    line prints it as one `error:` line and exits with code 2."""
