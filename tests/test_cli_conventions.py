"""One command line: every command's help has an example, options are spelled one way, outcomes
are upper case, exit codes are in the root help, usage errors are one line, and text written to
a pipe or file is neither wrapped nor padded with trailing spaces."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner, Result
from support.repo import EXAMPLES

from vasp_rules.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _command(path: tuple[str, ...]) -> click.Command:
    """The command at `path`, loaded as the command line loads it (some on first use)."""
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, path
        command = found
    return command


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name in group.list_commands(click.Context(group)):
        command = _command((*prefix, name))
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out.extend(_commands(command, (*prefix, name)))
    return out


def test_every_command_help_has_an_example() -> None:
    for path in _commands(main):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert re.search(r"Examples?:\n\s+vasp-rules ", result.stdout), path


def test_options_are_spelled_one_way() -> None:
    for path in _commands(main):
        command = _command(path)
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            assert "--json" not in param.opts, path  # --format json everywhere
            if "--as-of" in param.opts:
                assert param.metavar == "DATE", path
            if "--pack" in param.opts:
                assert param.metavar == "PACK", path
        text = run(*path, "--help").stdout
        if "--as-of DATE" in text and path[-1] in ("evaluate", "explain", "whatif"):
            assert re.search(r"--as-of DATE\s+Evaluation date, YYYY-MM-DD\.\s+\[required\]", text)


def test_root_help_lists_exit_codes() -> None:
    text = run("--help").stdout
    assert "Exit codes:" in text
    for code in ("0  success", "1  scenario failures", "2  invalid input"):
        assert code in text


def test_outcomes_are_upper_case_in_help() -> None:
    text = run("audit", "override", "--help").stdout
    assert "REJECT, REFER, REQUIRE_DOCUMENTS" in " ".join(text.split())
    assert "reject" not in text


def test_usage_errors_are_one_line() -> None:
    for args in (["evaluate", str(EXAMPLES / "customer.json")], ["nope"],
                 ["audit", "verify"], ["evaluate", "x.json", "--as-of"]):
        result = run(*args)
        assert result.exit_code == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "--help" in lines[0], args


@pytest.mark.slow
def test_several_files_say_they_form_one_batch() -> None:
    files = [str(EXAMPLES / f"{k}.json") for k in ("customer", "transfer")]
    together = run("evaluate", *files, "--as-of", "2026-06-01", "--format", "json")
    assert "evaluated as one batch" in together.stderr and "--separate" in together.stderr
    for flag in ("--batch", "--separate"):
        chosen = run("evaluate", *files, "--as-of", "2026-06-01", "--format", "json", flag)
        assert chosen.exit_code == 0 and chosen.stderr == ""
    one = run("evaluate", files[0], "--as-of", "2026-06-01")
    assert one.stderr == ""


@pytest.mark.slow
def test_text_to_a_pipe_is_not_wrapped_and_has_no_trailing_spaces() -> None:
    """Through a real pipe (the console script): the suggested whatif command stays on one
    line, and no line ends in a space."""
    file = str(EXAMPLES / "licence_application.json")
    for args in (["explain", file, "--as-of", "2026-06-01"],
                 ["evaluate", *sorted(str(p) for p in EXAMPLES.glob("*.json")),
                  "--as-of", "2026-06-01"]):
        out = subprocess.run([sys.executable, "-m", "vasp_rules.cli", *args],
                             capture_output=True, text=True, timeout=600, check=True).stdout
        lines = out.splitlines()
        assert lines and not [line for line in lines if line != line.rstrip()], args
        if args[0] == "explain":
            assert any(re.fullmatch(
                r"\s+vasp-rules whatif \S+ --as-of 2026-06-01 --set \S+", line) for line in lines)
        else:
            assert any(len(line) > 120 for line in lines)  # long reasons stay on one line


def test_width_wraps_on_a_terminal(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from vasp_rules.cli import support as cli_support

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    console = cli_support.output_console(60)
    assert console.width == 60
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert cli_support.output_console(60).width == cli_support.UNWRAPPED


def test_packs_json() -> None:
    result = run("packs", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {"name", "version", "sha256", "origin", "path"} <= set(rows[0])


def test_text_report_file_is_not_wrapped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "report.txt"
    result = run("explain", str(EXAMPLES / "licence_application.json"), "--as-of", "2026-06-01",
                 "-o", str(report))
    assert result.exit_code == 0, result.output
    lines = report.read_text().splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    assert any(re.fullmatch(r"\s+vasp-rules whatif \S+ --as-of 2026-06-01 --set \S+", line)
               for line in lines)


def test_the_commands_that_search_with_z3_load_it_only_when_they_run() -> None:
    # a fresh interpreter: importing the command line does not import z3 (about a sixth of
    # every command's start-up), and the lazy commands are still listed and run
    code = (
        "import sys\n"
        "from vasp_rules.cli import main\n"
        "assert 'z3' not in sys.modules, 'z3 imported with the command line'\n"
        "import click\n"
        "names = main.list_commands(click.Context(main))\n"
        "assert {'analyze', 'diff', 'explain', 'whatif'} <= set(names), names\n"
        "assert main.get_command(click.Context(main), 'analyze') is not None\n"
        "assert 'z3' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
