"""The impact report draws its transition matrix as SVG on the server: the page has no script
that draws, so an archived copy, an e-mail or the SVG cut out of it shows every cell, and the
SVG carries the packs' notice. No browser needed (test_reports_browser.py loads the page in
one)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from vasp_rules.analysis.impact import Impact, matrix_svg, render_html

SVG = "{http://www.w3.org/2000/svg}"
NOTICE = "Not legal advice. " + "A long disclaimer that has to wrap onto several lines. " * 6


def sample() -> Impact:
    result = Impact()
    moves = [("APPROVE", "APPROVE")] * 5 + [("APPROVE", "REFER")] * 2 + [("REJECT", "APPROVE")]
    for i, (old, new) in enumerate(moves):
        result.add(f"D{i}", (old, set()), (new, {"TR-01"} if new == "REFER" else set()))
    return result


def test_the_page_carries_the_matrix_as_svg_with_the_right_cells() -> None:
    result = sample()
    page = render_html(result, "Impact <test>", [NOTICE])
    # no script draws anything: the only script element is the embedded data
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script type="application/json" id="impact-data">']
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    assert svg.get("id") == "transition-chart"
    cells = {
        (r.get("data-old"), r.get("data-new")): int(r.get("data-count") or -1)
        for r in svg.iter(f"{SVG}rect")
        if r.get("class") == "cell"
    }
    outcomes = result.outcomes()
    assert outcomes == ["REJECT", "REFER", "APPROVE"]  # most severe first
    assert set(cells) == {(a, b) for a in outcomes for b in outcomes}  # every cell, zeros too
    assert cells[("APPROVE", "APPROVE")] == 5
    assert cells[("APPROVE", "REFER")] == 2
    assert cells[("REJECT", "APPROVE")] == 1
    assert sum(cells.values()) == result.total == 8
    # each count is written in its cell, the fullest cell darkest
    texts = [t.text for g in svg.iter(f"{SVG}g") for t in g.iter(f"{SVG}text")]
    assert sorted(texts, key=int) == sorted(str(c) for c in cells.values())
    fills = {
        (r.get("data-old"), r.get("data-new")): r.get("fill")
        for r in svg.iter(f"{SVG}rect")
    }
    assert fills[("APPROVE", "APPROVE")] == "hsl(210, 70%, 40.0%)"
    assert fills[("REFER", "REJECT")] == "hsl(10, 70%, 96.0%)"


def test_the_svg_alone_carries_the_notice() -> None:
    svg = ET.fromstring(matrix_svg(sample(), [NOTICE]))
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and (desc.text or "").strip() == NOTICE.strip()
    written = " ".join(
        t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-notice"
    )
    assert " ".join(written.split()) == " ".join(NOTICE.split())
    lines = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-notice"]
    assert len(lines) > 1  # wrapped to the figure's width
    assert int(svg.get("height") or 0) > max(float(t.get("y") or 0) for t in lines)
