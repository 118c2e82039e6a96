"""The wheel's metadata as an index or `pip show` presents it: project URLs, classifiers, and a
long description whose links work away from the repository."""

from __future__ import annotations

import re
import runpy
import tomllib

from support.repo import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_project_urls_and_classifiers_are_declared() -> None:
    urls = PROJECT["urls"]
    assert {"Source", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    assert all(u.startswith(urls["Source"]) for u in urls.values())  # one place to change
    classifiers = PROJECT["classifiers"]
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # `license` says it


def test_long_description_links_are_absolute() -> None:
    setup_module = runpy.run_path(str(ROOT / "setup.py"), run_name="setup_under_test")
    text = setup_module["long_description"](ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count("](") == readme.count("](")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets and all(t.startswith("https://") for t in targets), targets
    source = PROJECT["urls"]["Source"]
    assert f"]({source}/blob/main/docs/rule-language.md)" in text
    assert "](docs/" not in text
