"""Issue 21, "Defaults that protect": arguments and key files that are not UTF-8 give a
one-line error and exit 2 (never a UnicodeEncodeError/UnicodeDecodeError traceback), and
nothing is written to the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.repo import AS_OF, EXAMPLES, ROOT

from vasp_rules.audit import DecisionLog
from vasp_rules.cli import main


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log with one run of one decision: record 1 starts the run, record 2 is the decision."""
    db = tmp_path_factory.mktemp("log") / "decisions.db"
    args = ["evaluate", str(EXAMPLES / "transfer.json"), "--as-of", AS_OF.isoformat()]
    done = CliRunner().invoke(main, [*args, "--log", str(db)])
    assert done.exit_code in (0, 1), done.output
    return db


def _records(db: Path) -> int:
    with DecisionLog.open(db) as log:
        return log.count()


@pytest.mark.parametrize(
    ("option", "raw", "where"),
    [
        ("--by", b"A. Analyst \xff", "byte 0xff at character 12"),
        ("--reason", b"\xe9t\xe9", "byte 0xe9 at character 1"),
    ],
)
def test_override_with_non_utf8_argument_is_one_line_error(
    logged: Path, option: str, raw: bytes, where: str
) -> None:
    """Real argv bytes, as a shell in a Latin-1 terminal passes them (Python decodes them with
    surrogateescape)."""
    before = _records(logged)
    given = {"--by": b"A. Analyst", "--reason": b"checked by hand", option: raw}
    cmd = [os.fsencode(sys.executable), b"-m", b"vasp_rules.cli", b"audit", b"override",
           os.fsencode(logged), b"2", b"--outcome", b"APPROVE"]  # fmt: skip
    for name, value in given.items():
        cmd += [name.encode(), value]
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith(f"error: Invalid value for '{option}'"), err
    assert f"not UTF-8 text ({where})" in err
    assert _records(logged) == before


@pytest.mark.parametrize("command", ["erase", "export"])
def test_subject_with_non_utf8_argument_is_one_line_error(logged: Path, command: str) -> None:
    """`audit erase/export --subject` with argv bytes that are not UTF-8: a usage error, the
    log and its key store untouched (it was a UnicodeEncodeError traceback)."""
    keys = Path(f"{logged}-keys")
    before = (_records(logged), keys.read_bytes() if keys.exists() else None)
    cmd = [os.fsencode(sys.executable), b"-m", b"vasp_rules.cli", b"audit", command.encode(),
           os.fsencode(logged), b"--subject", b"4210\xff177342905"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("error: Invalid value for '--subject'"), err
    assert "not UTF-8 text (byte 0xff at character 5)" in err
    assert (_records(logged), keys.read_bytes() if keys.exists() else None) == before


def test_serve_with_non_utf8_api_key_file_is_one_line_error(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"# keys\ns3cr\xe9t\n")
    done = CliRunner().invoke(main, ["serve", "--api-key-file", str(keys), "--port", "0"])
    assert done.exit_code == 2, done.output
    assert done.output == (
        f"error: {keys}: not UTF-8 text (byte 0xe9 at offset 11); an API key file holds one "
        "key per line\n"
    )
