"""Build hook: the wheel carries every rule pack of the repository's top-level `rules/` folder,
copied into the package as `vasp_rules/_packs/` (where vasp_rules.pack.discovery finds it), and
the example documents `examples/*.json` as `vasp_rules/_examples/` (for `vasp-rules init`).
The long description is README.md with its relative links (`docs/engine.md`) made absolute from
pyproject's [project.urls] Source, so they resolve wherever the description is shown.
Everything else is declared in pyproject.toml."""

import re
import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPacks(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "rules"
        if not source.is_dir():
            raise SystemExit("rules/ is missing: cannot build vasp-rules without its packs")
        _copy(sorted(source.rglob("*")), source, Path(self.build_lib) / "vasp_rules" / "_packs")
        examples = source.parent / "examples"
        if not examples.is_dir():
            raise SystemExit("examples/ is missing: cannot build vasp-rules without its examples")
        _copy(
            sorted(examples.glob("*.json")),
            examples,
            Path(self.build_lib) / "vasp_rules" / "_examples",
        )


def _copy(paths: list[Path], source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for path in paths:
        rel = path.relative_to(source)
        if path.is_file() and not any(p.startswith((".", "__")) for p in rel.parts):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / rel)


def long_description(root: Path) -> str:
    """README.md with each relative Markdown link `](path)` pointing into the repository."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    source = project["urls"]["Source"].rstrip("/")
    readme = (root / "README.md").read_text(encoding="utf-8")

    def absolute(match: re.Match[str]) -> str:
        target = match.group(1)
        kind = "tree" if target.endswith("/") else "blob"
        return f"]({source}/{kind}/main/{target})"

    return re.sub(r"\]\((?![a-z][a-z0-9+.-]*:|#|/)([^)\s]+)\)", absolute, readme)


if __name__ == "__main__":  # as setuptools runs it (a test imports long_description)
    setup(
        cmdclass={"build_py": BuildWithPacks},
        long_description=long_description(Path(__file__).resolve().parent),
        long_description_content_type="text/markdown",
    )
