"""Run the README as a user would, so it cannot drift: the Python tour ("### The library") as a
script, and every line of the command-line tour ("### The command line") as a shell command,
in the current directory, with this interpreter's `vasp-rules` first on PATH.

    python tests/support/readme_run.py README.md      # from a folder holding examples/, rules/, ...

Used by tests/test_readme.py (in a copy of the repository) and by .ci/run (against the installed
wheel, from a folder outside the checkout). Exits 1 naming the first command that fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
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


def chains(commands: list[str], cwd: Path) -> list[list[int]]:
    """The commands (by index) in chains to run one after the other: commands naming a file
    that is not in `cwd` before the tour (one a command writes, such as decisions.db) run in
    README order in one chain; every other command is a chain of its own. A file is a word
    with a dot or a slash, not an option or a `name=value`."""
    made: dict[str, int] = {}  # a file written by the tour -> its chain
    out: list[list[int]] = []
    for i, command in enumerate(commands):
        names = {
            t for t in command.split()[1:]
            if ("." in t or "/" in t) and not t.startswith("-") and not set("=*") & set(t)
            and not (cwd / t).exists()
        }
        joined = [made[n] for n in names if n in made]
        if joined:
            chain = joined[0]
            out[chain].append(i)
        else:
            chain = len(out)
            out.append([i])
        for name in names:
            made.setdefault(name, chain)
    return out


def run_readme(
    readme_path: Path, cwd: Path, timeout: float = 900, jobs: int | None = None
) -> list[str]:
    """Run the tour in `cwd`; return what the user would have seen go wrong (empty: all ran).
    Independent commands run `jobs` at a time (default: one per CPU), each a process of its
    own exactly as typed; problems are listed in README order."""
    readme = readme_path.read_text(encoding="utf-8")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    commands = cli_lines(readme)
    problems: dict[int, str] = {}  # -1: the Python tour, then each command's index

    def tour() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "tour.py"
            script.write_text(python_tour(readme), encoding="utf-8")
            done = subprocess.run(
                [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
                text=True, timeout=timeout,
            )
        if done.returncode != 0:
            problems[-1] = f"the Python tour failed:\n{done.stderr[-3000:]}"

    def chain(indexes: list[int]) -> None:
        for i in indexes:
            done = subprocess.run(
                ["bash", "-c", commands[i]], cwd=cwd, env=env, capture_output=True, text=True,
                timeout=timeout,
            )
            if done.returncode != 0:
                problems[i] = f"$ {commands[i]}\nexit {done.returncode}\n{done.stderr[-3000:]}"

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        runs = [pool.submit(tour)] + [pool.submit(chain, c) for c in chains(commands, cwd)]
        for run in runs:
            run.result()
    return [problems[k] for k in sorted(problems)]


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
