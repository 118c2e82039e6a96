"""Progress on stderr for steps that may be slow: nothing for a quick step, the label and the
seconds elapsed for a slow one, and the line cleared at the end."""

from __future__ import annotations

import io
import time

from vasp_rules.scale.progress import Progress, while_slow


def test_a_quick_step_prints_nothing() -> None:
    out = io.StringIO()
    with while_slow("loading rule pack pk", enabled=True, stream=out, after=1.0):
        pass
    assert out.getvalue() == ""


def test_a_slow_step_shows_its_label_and_is_cleared() -> None:
    out = io.StringIO()
    with while_slow("loading rule pack pk", enabled=True, stream=out, after=0.05):
        time.sleep(0.4)
    text = out.getvalue()
    assert "\rloading rule pack pk... " in text and " s" in text
    assert text.endswith("\r\033[K")


def test_disabled_when_not_a_terminal() -> None:
    out = io.StringIO()  # StringIO is not a terminal
    with while_slow("reading", stream=out, after=0.0):
        time.sleep(0.1)
    assert out.getvalue() == ""


def test_counter_shows_rate_and_eta_and_its_final_count() -> None:
    out = io.StringIO()
    meter = Progress(enabled=True, stream=out)
    meter(10, -1, 40, force=True)
    assert "10 documents" in out.getvalue() and "25%" in out.getvalue()
    assert "ETA" in out.getvalue()
    meter(40, -1, 40)  # within 0.2 s of the last draw: not drawn now...
    meter.done()  # ...but the final count always is
    assert "40 documents" in out.getvalue() and out.getvalue().endswith("\n")
