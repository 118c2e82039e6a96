"""Readable explanations: terminal text, Markdown, self-contained HTML (parsed, not eyeballed)
and JSON. Document text is hostile here: names carry markup that must come out escaped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from support.explain import AS_OF, application, explain_pack

from vasp_rules import Decision
from vasp_rules.explain import explain
from vasp_rules.explain.render import (
    render_html,
    render_json,
    render_markdown,
    render_text,
)

HOSTILE = '<script>alert("x")</script> & <b>|`*_'
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


@pytest.fixture(scope="module")
def decision() -> Decision:
    doc = application(
        **{
            "firm.people[1].outsourced": True,
            "firm.people[1].full_name": HOSTILE,
            "firm.paid_up_capital": {"amount": "1000000", "currency": "AED"},
            "firm.people[2].convictions": [
                {"category": "FRAUD", "convicted_on": "2019-03-01", "jurisdiction": "GB"}
            ],
            "firm.data_locations": ["PK", "AE"],
        }
    )
    return explain(explain_pack(), doc, AS_OF, rules=["X-CUST"])


class _Checker(HTMLParser):
    """Checks nesting while collecting tags, attributes, ids and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.decl: str | None = None
        self.errors: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decl = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value))
            if name == "id" and value is not None:
                self.ids.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


def test_html_is_well_formed_and_self_contained(decision: Decision) -> None:
    page = render_html(decision)
    parsed = _parse(page)
    assert parsed.decl == "DOCTYPE html"
    assert parsed.errors == [] and parsed.stack == []
    assert "style" in parsed.tags and parsed.tags[:3] == ["html", "head", "meta"]
    assert not {"script", "iframe", "object", "embed", "link", "img"} & set(parsed.tags)
    assert not [a for a in parsed.attrs if a[1] == "src" or a[1].startswith("on")]
    for tag, name, value in parsed.attrs:
        if name == "href":
            assert tag == "a" and (value or "").startswith(("https://", "http://"))
    assert len(parsed.ids) == len(set(parsed.ids))


def test_html_shows_every_finding_with_its_parts(decision: Decision) -> None:
    parsed = _parse(render_html(decision))
    text = " ".join(" ".join(parsed.text).split())
    for finding in decision.findings:
        assert f"rule-{finding.rule_id}" in parsed.ids
        assert finding.reason.split()[0] in text
    assert "rule-X-CUST" in parsed.ids  # the why-not section
    assert "firm.people[1].outsourced must be false" in text
    assert "Test floors modelled on VARA" in text and "2026-01-01 to open" in text
    assert "cannot be cleared" in text and "conviction" in text
    assert "Values read" in text and "Parameters" in text and "Condition" in text
    verdicts = [v for t, n, v in parsed.attrs if t == "span" and n == "class" and "v-" in (v or "")]
    assert verdicts  # sub-condition verdicts are marked up, not only written


def test_html_escapes_document_text(decision: Decision) -> None:
    page = render_html(decision)
    parsed = _parse(page)
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page
    assert any(HOSTILE in chunk for chunk in parsed.text)  # shown literally, as text
    assert parsed.tags.count("b") == 0


def test_html_refuses_unsafe_citation_links(decision: Decision) -> None:
    finding = decision.findings[0]
    unsafe = finding.model_copy(
        update={"citation": finding.citation.model_copy(update={"url": "javascript:alert(1)"})}
    )
    page = render_html(decision.model_copy(update={"findings": [unsafe]}))
    assert "javascript:" not in [v for _t, n, v in _parse(page).attrs if n == "href"]
    assert 'href="javascript' not in page


def test_markdown_report(decision: Decision) -> None:
    text = render_markdown(decision)
    assert text.startswith("# Decision explanation: APP-1\n")
    assert "- **Outcome:** REJECT" in text
    for finding in decision.findings:
        assert f"{finding.rule_id} {finding.outcome.value}" in text
    assert "## Rules that did not apply" in text and "### X-CUST" in text
    assert "<script>" not in text and "\\<script\\>" in text
    assert "firm.people\\[1\\].outsourced must be false" in text
    for line in text.splitlines():  # table rows keep their column count despite the pipes
        if line.startswith("| ") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) in (4, 7), line


def test_terminal_text(decision: Decision) -> None:
    text = render_text(decision, file="app.json")
    assert text.startswith("Decision APP-1 (licence_application) as of 2026-06-01: REJECT")
    assert "1. X-CAP REJECT" in text or "X-CAP REJECT" in text
    assert "Why:" in text and "Why not:" in text and "» " in text
    assert "TRUE any(p in firm.people" in text
    assert "firm.paid_up_capital must be at least AED 1,500,000" in text
    assert "vasp-rules whatif app.json --as-of 2026-06-01 --set" in text
    assert "X-CUST" in text and "did not apply" in text


def test_json_carries_the_whole_explanation(decision: Decision) -> None:
    data: dict[str, Any] = json.loads(render_json(decision))
    assert data["outcome"] == "REJECT"
    rules = {r["rule_id"]: r for r in data["explanation"]["rules"]}
    assert set(rules) == set(decision.fired) | {"X-CUST"}
    assert rules["X-CUST"]["status"] == "not_fired"
    assert Decision.model_validate_json(render_json(decision)) == decision


def test_a_decision_without_explanation_still_renders() -> None:
    plain = explain_pack().evaluate(application(**{"firm.people[1].outsourced": True}), AS_OF)
    assert "X-MLRO" in render_text(plain)
    assert _parse(render_html(plain)).errors == []
    assert "X-MLRO" in render_markdown(plain)
