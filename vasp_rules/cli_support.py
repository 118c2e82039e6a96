"""What every `vasp-rules` command shares: turning expected errors into one clear message and
exit code 2 (never a traceback), and reading dates."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from .audit import AuditError
from .engine.durable_backend import EngineError
from .entities.registry import DocumentError
from .errors import InputError
from .pack.loader import PackError
from .pack.yamlio import YamlError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    """Stop the command: bad input, reported as one line with exit code 2."""
    raise InputError(message)


def handles_errors(func: F) -> F:
    """Report an expected error as one line on stderr (`error: ...`) and exit 2 (or the audit
    error's own code). `vasp-rules check` lists every problem of a pack on stdout."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PackError as exc:
            click.echo(f"error: {pack_error_line(exc)}", err=True)
            sys.exit(2)
        except DocumentError as exc:
            problems = "; ".join(f"{path or '<document>'}: {text}" for path, text in exc.errors)
            click.echo(f"error: invalid document: {' '.join(problems.split())}", err=True)
            sys.exit(2)
        except AuditError as exc:
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except sqlite3.Error as exc:  # a decision log SQLite cannot read
            click.echo(
                f"error: corrupt or unreadable decision log: {_one_line(str(exc))}", err=True
            )
            sys.exit(2)
        except EngineError as exc:  # a durable-rules refusal the compiler did not foresee
            click.echo(
                f"error: rule engine: {_one_line(str(exc))} (please report this with the input)",
                err=True,
            )
            sys.exit(2)
        except (InputError, YamlError) as exc:
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(2)
        except OSError as exc:
            where = exc.filename or ""
            click.echo(f"error: {_one_line(f'{where}: {exc.strerror or exc}')}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _one_line(text: str) -> str:
    """Messages from SQLite and the OS may span lines; an error is always one line."""
    return " ".join(text.split())


def pack_error_line(exc: PackError) -> str:
    """One line for an unusable pack: how many problems, the first, and how to see them all."""
    count = len(exc.issues)
    first = " ".join(str(exc.issues[0]).split()) if exc.issues else "unusable"
    more = f" (and {count - 1} more: run 'vasp-rules check PACK')" if count > 1 else ""
    return f"{count} problem{'s' if count != 1 else ''} in rule pack: {first}{more}"


def parse_date(value: str | None, option: str = "--as-of") -> date:
    if value is None:
        fail(f"{option} DATE is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


class OneLineErrors(click.Group):
    """The `vasp-rules` group: usage errors (unknown command or option, missing argument,
    bad value) are one `error:` line with exit code 2, like every other error of the command
    line, instead of click's three-line usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split())
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except BrokenPipeError:  # output piped into a program that stopped reading
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
