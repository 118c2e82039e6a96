"""Run the README as a user would, so it cannot drift: the Python tour ("### The library") as a
script, and every line of the command-line tour ("### The command line") as a shell command,
in the current directory, with this interpreter's `vasp-rules` first on PATH.

    python tests/readme_run.py README.md      # from a folder holding examples/, rules/, ...

Used by tests/test_readme.py (in a copy of the repository) and by .ci/run (against the installed
wheel, from a folder outside the checkout). Exits 1 naming the first command that fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def python_tour(readme: str) -> str:
    """The Python block of the library tour."""
    found = re.search(r"### The library\n.*?```python\n(.*?)```", readme, re.S)
    if found is None:
        raise ValueError("README: no ```python block under '### The library'")
    return found.group(1)


def cli_lines(readme: str) -> list[str]:
    """The commands of the command-line tour, one per line (a trailing backslash continues a
    command; a `  # comment` after two spaces is dropped)."""
    found = re.search(r"### The command line\n.*?```(?:sh|shell|bash)?\n(.*?)```", readme, re.S)
    if found is None:
        raise ValueError("README: no code block under '### The command line'")
    commands: list[str] = []
    pending = ""
    for raw in found.group(1).splitlines():
        line = re.sub(r"\s{2,}# .*$", "", raw).rstrip()
        if not line.strip():
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        commands.append((pending + line).strip())
        pending = ""
    return commands


def run_readme(readme_path: Path, cwd: Path, timeout: float = 900) -> list[str]:
    """Run the tour in `cwd`; return what the user would have seen go wrong (empty: all ran)."""
    readme = readme_path.read_text(encoding="utf-8")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "tour.py"
        script.write_text(python_tour(readme), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            problems.append(f"the Python tour failed:\n{done.stderr[-3000:]}")
    for command in cli_lines(readme):
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            problems.append(f"$ {command}\nexit {done.returncode}\n{done.stderr[-3000:]}")
    return problems


def main() -> int:
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    problems = run_readme(readme, Path.cwd())
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"README tour ran: the Python tour and {len(cli_lines(readme.read_text()))} commands")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
