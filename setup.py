"""Build hook: the wheel carries every rule pack of the repository's top-level `rules/` folder,
copied into the package as `vasp_rules/_packs/` (where vasp_rules.pack.discovery finds it).
Everything else is declared in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPacks(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "rules"
        if not source.is_dir():
            raise SystemExit("rules/ is missing: cannot build vasp-rules without its packs")
        target = Path(self.build_lib) / "vasp_rules" / "_packs"
        if target.exists():
            shutil.rmtree(target)
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if path.is_file() and not any(p.startswith((".", "__")) for p in rel.parts):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / rel)


setup(cmdclass={"build_py": BuildWithPacks})
