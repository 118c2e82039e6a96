"""The HTML reports a person opens, loaded in a real browser (headless Chromium): no console
message, the chart (or condition tree) is drawn, and a screenshot is kept as a test artefact in
test-artifacts/ (or $VASP_TEST_ARTIFACTS).

They need a browser, so they run only when asked: VASP_RULES_BROWSER=1 (.ci/run sets it and
installs Debian's `chromium`, so CI always runs them). Without it they skip, saying why; asked
for and no browser found, they fail."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.repo import AS_OF, EXAMPLES, PK, ROOT

from vasp_rules import RulePack
from vasp_rules.analysis import Side, impact
from vasp_rules.analysis.impact import render_html
from vasp_rules.cli import main

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("VASP_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


@dataclass
class Page:
    dom: str
    console: list[str]
    screenshot: Path


#: The environment variable that asks for the browser tests (CI sets it).
BROWSER_ENV = "VASP_RULES_BROWSER"

pytestmark = pytest.mark.skipif(
    os.environ.get(BROWSER_ENV, "") in ("", "0"),
    reason=f"browser tests need headless Chromium: set {BROWSER_ENV}=1 to run them "
    "(apt-get install -y chromium; .ci/run does both)",
)


@pytest.fixture(scope="module")
def browser() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        f"{BROWSER_ENV} asks for the report tests in headless Chromium, but neither chromium nor "
        "chromium-browser is on PATH: apt-get install -y chromium (.ci/run installs it)"
    )


def load(browser: str, html_file: Path, name: str) -> Page:
    """Open a file in a fresh headless Chromium profile: the DOM after scripts ran, every console
    message, and a screenshot written to the artefacts folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    if shot.exists():
        shot.unlink()
    url = html_file.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as profile2:
        dump = subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--log-level=0",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile2}",
                "--window-size=1280,1400",
                "--hide-scrollbars",
                f"--screenshot={shot}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert dump.returncode == 0, dump.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE.finditer(dump.stderr)]
    return Page(dump.stdout, console, shot)


def _assert_screenshot(page: Page) -> None:
    assert page.screenshot.exists(), "no screenshot written"
    data = page.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_the_browser_check_catches_a_console_error_and_a_missing_chart(
    browser: str, tmp_path: Path
) -> None:
    """The checks below can fail: a page whose script throws is caught."""
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        "<!DOCTYPE html><html><body><div id=chart></div><script>drawChart();</script></body></html>"
    )
    page = load(browser, page_file, "broken-page")
    assert any("drawChart is not defined" in m for m in page.console)
    assert 'id="transition-chart"' not in page.dom


@pytest.fixture(scope="module")
def impact_report(tmp_path_factory: pytest.TempPathFactory, pk: RulePack) -> Path:
    changed = tmp_path_factory.mktemp("pk") / "pk"
    shutil.copytree(PK, changed)
    params = changed / "parameters" / "travel_rule.yaml"
    params.write_text(
        params.read_text().replace(
            "value: {amount: 1000, currency: USD}", "value: {amount: 1200, currency: USD}", 1
        )
    )
    population = tmp_path_factory.mktemp("pop") / "population.jsonl"
    lines = []
    for i, amount in enumerate([100, 290_000, 300_000, 330_000, 400_000, 5_000_000]):
        doc = json.loads((EXAMPLES / "transfer.json").read_text())
        doc["transfer_id"] = f"T{i}"
        doc["value"] = {"amount": str(amount), "currency": "PKR"}
        doc["originator"] = {"name": "A", "account_or_wallet": "w1"}
        lines.append(json.dumps(doc))
    population.write_text("\n".join(lines) + "\n")
    result = impact(Side(pk, AS_OF), Side(RulePack.load(changed), AS_OF), population)
    assert result.changed > 0
    out = tmp_path_factory.mktemp("report") / "impact.html"
    out.write_text(render_html(result, "Impact: travel-rule threshold raised"), encoding="utf-8")
    return out


def test_impact_report_draws_the_transition_matrix(browser: str, impact_report: Path) -> None:
    page = load(browser, impact_report, "impact-report")
    assert page.console == []
    assert 'id="transition-chart"' in page.dom, "the transition matrix chart is missing"
    data = json.loads(
        re.search(r'id="impact-data">(.*?)</script>', impact_report.read_text(), re.S).group(1)
    )
    n = len(data["outcomes"])
    assert page.dom.count('class="cell"') == n * n
    for outcome in data["outcomes"]:
        assert outcome in page.dom
    _assert_screenshot(page)


def test_explanation_report_renders(browser: str, tmp_path: Path) -> None:
    out = tmp_path / "explanation.html"
    res = CliRunner().invoke(
        main,
        [
            "explain",
            str(EXAMPLES / "licence_application.json"),
            "--as-of",
            date(2026, 6, 1).isoformat(),
            "--format",
            "html",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    page = load(browser, out, "explanation-report")
    assert page.console == []
    assert 'id="outcome"' in page.dom
    assert 'class="finding"' in page.dom
    assert 'class="tree"' in page.dom, "the condition tree is missing"
    _assert_screenshot(page)
