"""What every `vasp-rules` command shares: turning expected errors into one clear message and
exit code 2 (never a traceback), and reading dates."""

from __future__ import annotations

import importlib
import io
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import date
from functools import wraps
from typing import IO, Any, NoReturn, TextIO, TypeVar, cast

import click
from rich.console import Console

from ..audit import AuditError
from ..core.docfiles import STDIN, display_name, read_document_file
from ..core.errors import InputError
from ..core.limits import invalid_unicode
from ..core.plaintext import iso_date
from ..core.yamlio import YamlError
from ..engine.durable_backend import EngineError
from ..entities.ivms101 import parse_ivms101_many
from ..entities.registry import DocumentError, parse_document
from ..pack.loader import PackError

F = TypeVar("F", bound=Callable[..., Any])


class OneLineUsageError(click.UsageError):
    """A command-line usage error shown as one line (like every other error), with a pointer
    to the command's --help instead of its whole usage text."""

    def __init__(self, message: str, command_path: str) -> None:
        super().__init__(message)
        self.command_path = command_path

    def show(self, file: Any = None) -> None:
        message = " ".join(self.format_message().split()).rstrip(".")
        click.echo(f"error: {message} (see '{self.command_path} --help')", err=True)


def _one_line(
    command: click.Command, make: Callable[..., click.Context], args: Any, kwargs: Any
) -> click.Context:
    try:
        return make(*args, **kwargs)
    except OneLineUsageError:
        raise
    except click.UsageError as exc:
        if exc.ctx is not None:
            path = exc.ctx.command_path
        else:
            parent = kwargs.get("parent")
            name = args[0] if args else kwargs.get("info_name") or command.name or ""
            path = f"{parent.command_path} {name}" if parent is not None else str(name)
        raise OneLineUsageError(exc.format_message(), path) from None


class Command(click.Command):
    """A `vasp-rules` command: usage errors in one line."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        return _one_line(self, super().make_context, args, kwargs)


class Group(click.Group):
    """A `vasp-rules` command group: usage errors in one line, its commands too."""

    command_class = Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        return _one_line(self, super().make_context, args, kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Subcommands of any class (commands other modules register) get one-line errors."""
        try:
            return super().invoke(ctx)
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            raise OneLineUsageError(exc.format_message(), path) from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise OneLineUsageError(exc.format_message(), ctx.command_path) from None


def utf8_text(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An option callback for text the command stores or hashes as UTF-8 (an override's --by
    and --reason). Python reads argument bytes that are not UTF-8 as lone surrogates, which
    cannot be encoded: such an argument is a one-line usage error naming the byte, not a
    traceback later."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        what = f"byte {code - 0xDC00:#04x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise click.BadParameter(
            f"not UTF-8 text ({what} at character {exc.start + 1})", ctx, param
        ) from None
    return value


def fail(message: str) -> NoReturn:
    """Stop the command: bad input, reported as one line with exit code 2."""
    raise InputError(message)


def handles_errors(func: F) -> F:
    """Report an expected error as one line on stderr (`error: ...`) and exit with the error's
    ``exit_code`` (2, or the audit error's own code; 2 for OS and SQLite errors).
    `vasp-rules check` lists every problem of a pack on stderr."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PackError as exc:
            click.echo(f"error: {pack_error_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except DocumentError as exc:
            problems = "; ".join(f"{path or '<document>'}: {text}" for path, text in exc.errors)
            click.echo(f"error: invalid document: {' '.join(problems.split())}", err=True)
            sys.exit(exc.exit_code)
        except AuditError as exc:
            click.echo(f"error: {_single_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except sqlite3.Error as exc:  # a decision log SQLite cannot read
            click.echo(
                f"error: corrupt or unreadable decision log: {_single_line(str(exc))}", err=True
            )
            sys.exit(2)
        except EngineError as exc:  # a durable-rules refusal the compiler did not foresee
            click.echo(
                f"error: rule engine: {_single_line(str(exc))} (please report this with the input)",
                err=True,
            )
            sys.exit(exc.exit_code)
        except (InputError, YamlError) as exc:
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            where = exc.filename or ""
            click.echo(f"error: {_single_line(f'{where}: {exc.strerror or exc}')}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _single_line(text: str) -> str:
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
        return iso_date(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


# -- options every command spells the same way ------------------------------------------------


def as_of_option(required: bool = True) -> Callable[[F], F]:
    """`--as-of DATE`, marked [required] in help where the command needs it."""
    return click.option(
        "--as-of",
        "as_of",
        metavar="DATE",
        required=required,
        help="Evaluation date, YYYY-MM-DD.",
    )


def pack_option(default: str | None = "pk", dest: str = "pack") -> Callable[[F], F]:
    """`--pack PACK`: an installed pack's name (case-insensitive) or a folder path."""
    return click.option(
        "--pack",
        dest,
        metavar="PACK",
        default=default,
        show_default=default is not None,
        help="Installed pack name (see `vasp-rules packs`) or a pack folder path (./mypack).",
    )


def format_option(*choices: str) -> Callable[[F], F]:
    """`--format`, the first choice being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def input_format_option() -> Callable[[F], F]:
    from ..core.docfiles import READERS, SUFFIXES

    return click.option(
        "--input-format",
        "input_format",
        type=click.Choice([*sorted(READERS), "ivms101"]),
        default=None,
        help="How to read the input files (default: by suffix, "
        f"{', '.join(SUFFIXES)}; standard input `-` is json). ivms101: the files hold IVMS101 "
        "travel-rule payloads, mapped to transfers (docs/ivms101.md).",
    )


def log_keys_option() -> Callable[[F], F]:
    """`--keys PATH`: the key store of an audit log's personal data (with `--log`)."""
    return click.option(
        "--keys",
        "log_keys",
        type=click.Path(dir_okay=False),
        help="With --log: the key store of the personal data (default: LOG-keys beside the "
        "log). Losing it loses the personal data, not the chain: back it up.",
    )


def width_option() -> Callable[[F], F]:
    return click.option(
        "--width",
        type=click.IntRange(40, 1000),
        default=None,
        metavar="COLUMNS",
        help="Wrap text at this width on a terminal (default: the terminal's). Output to a "
        "pipe or file is never wrapped.",
    )


def set_param_option() -> Callable[[F], F]:
    return click.option(
        "--set-param",
        "set_params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a pack parameter for this run: NAME=VALUE, or NAME@DATE=VALUE from a "
        "date on (VALUE is YAML: 90, 0.5, [US, GB]); repeatable. The decision records it.",
    )


def parse_set_params(texts: tuple[str, ...]) -> dict[str, Any]:
    """`--set-param` values as RulePack.load overrides (a bad one exits 2)."""
    from ..pack.overrides import parse_set_param

    out: dict[str, Any] = {}
    for text in texts:
        try:
            name, override = parse_set_param(text)
        except ValueError as exc:
            fail(str(exc))
        if name in out:
            fail(f"--set-param {name} given twice")
        out[name] = override
    return out


class _StripTrailing(io.TextIOBase):
    """A text stream that drops the spaces rich pads lines with, line by line."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        if lines:
            self._target.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._target.write(self._pending)
            self._pending = ""
        self._target.flush()


#: Width used when writing to a pipe or file: lines are never wrapped at any realistic length.
UNWRAPPED = 10_000


def output_console(width: int | None = None) -> Console:
    """The console commands print readable text on. On a terminal: colours, wrapped at `width`
    (default: the terminal's). To a pipe or file: no colour, no wrapping, no trailing spaces,
    so lines can be grepped and commands shown in the output can be copied."""
    out = sys.stdout
    if out.isatty():
        return Console(width=width, highlight=False)
    return Console(
        file=cast(IO[str], _StripTrailing(out)),
        width=UNWRAPPED,
        soft_wrap=True,
        color_system=None,
        highlight=False,
        emoji=False,
    )


class OneLineErrors(Group):
    """The `vasp-rules` group: usage errors (unknown command or option, missing argument,
    bad value) are one `error:` line with exit code 2, like every other error of the command
    line, instead of click's three-line usage block; Ctrl-C and a closed pipe end quietly.

    Commands named in `lazy` (name -> "module:attribute") are imported when first asked for,
    so that a command that does not need them does not pay for their imports (the analysis
    commands bring z3: about a quarter of the command line's start-up)."""

    lazy: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except OneLineUsageError as exc:
            exc.show()
            sys.exit(exc.exit_code)
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


#: Payload formats: the file is read by its suffix, then each payload is mapped to a document.
PAYLOAD_FORMATS = ("ivms101",)


def read_documents(paths: Sequence[str], fmt: str | None = None) -> list[Any]:
    """Documents from JSON, JSON Lines or YAML files (`-` is standard input); a file may hold
    one document or a list of them. Each is validated here, before any pack is loaded, so a
    mistyped file or field costs no pack load; errors name the file. With `ivms101`, the files
    hold IVMS101 payloads, mapped to transfer documents."""
    if list(paths).count(STDIN) > 1:
        fail("standard input (-) can be read only once")
    payload = fmt in PAYLOAD_FORMATS
    documents: list[Any] = []
    for name in paths:
        docs, is_list = read_document_file(name, None if payload else fmt)
        for i, doc in enumerate(docs):
            try:
                if payload:  # mapped (and validated) below; unmapped members must be text too
                    broken = invalid_unicode(doc)
                    if broken:
                        raise DocumentError(broken)
                    continue
                parse_document(doc)
            except DocumentError as exc:
                where = display_name(name) + (f"[{i}]" if is_list else "")
                problems = "; ".join(f"{path or '<document>'}: {text}" for path, text in exc.errors)
                fail(f"{where}: invalid document: {problems}")
        documents.extend(docs)
    if not documents:
        fail("no documents given")
    if fmt == "ivms101":
        return list(parse_ivms101_many(documents))
    return documents
