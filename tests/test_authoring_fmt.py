"""`vasp-rules fmt`: one layout, comments kept, idempotent, the data (and a pack's rules)
unchanged; `--check` lists the files that would change and exits 1."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML, YAMLError

from vasp_rules.authoring.fmt import format_text, yaml_files
from vasp_rules.cli import main
from vasp_rules.core.yamlio import parse_yaml, plain
from vasp_rules.pack.loader import load_pack

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    [*yaml_files([ROOT / "rules", ROOT / "tests" / "scenarios", ROOT / "tests" / "packs"])]
)

MESSY = """\
# a rule file written by hand
rules:
- id: X-01   # the first rule
  version: 1
  title:   "Quoted title"
  applies_to: [customer, transfer]
  when: >-
    customer_id is present
    and true
  outcome: REJECT
  tags:
      - a
      - 'b'
  reason: r
  effective_to: ~
"""


def _dumped(data: object, indents: tuple[int, int, int], flow: bool = False) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=indents[0], sequence=indents[1], offset=indents[2])
    yaml.default_flow_style = flow
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _relaid(text: str, indents: tuple[int, int, int]) -> str:
    """The same YAML (comments too) in another layout."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return _dumped(yaml.load(text), indents)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_layout_keeps_comments_quotes_and_folded_text() -> None:
    out = format_text(MESSY)
    assert out.startswith("# a rule file written by hand\nrules:\n  - id: X-01 # the first rule\n")
    assert '    title: "Quoted title"\n' in out and "      - 'b'\n" in out
    assert "    when: >-\n      customer_id is present\n      and true\n" in out
    assert "effective_to: null" in out
    assert format_text(out) == out
    assert plain(parse_yaml(out)) == plain(parse_yaml(MESSY))


def test_every_bundled_file_is_formatted_and_formatting_is_idempotent() -> None:
    assert len(CORPUS) > 15
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        once = format_text(text)
        assert once == text, f"{path} is not in the canonical layout: run vasp-rules fmt"
        assert format_text(once) == once


_KEYS = st.text("abcdefgh_", min_size=1, max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text("abc xyz:#-'\"", max_size=12),
    st.dates().map(lambda d: d.isoformat()),
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60)
@given(_DATA, st.sampled_from([(2, 2, 0), (4, 4, 2), (2, 4, 2), (3, 5, 2)]), st.booleans())
def test_any_yaml_formats_idempotently_to_the_same_data(
    data: object, indents: tuple[int, int, int], flow: bool
) -> None:
    """Whatever layout a file arrives in, fmt(fmt(x)) == fmt(x) and the data is unchanged.
    ruamel's own emitter writes some strings in flow style unquoted where its reader cannot
    read them back (`[": a"]` as `[: a]`): such text is no YAML file, so it is not a case
    here (`test_text_that_needs_quotes_in_flow_style_keeps_them` covers those strings)."""
    text = "# comment kept\n" + _dumped({"top": data}, indents, flow)
    try:
        YAML(typ="rt").load(text)
    except YAMLError:
        assume(False)
    once = format_text(text)
    assert format_text(once) == once
    assert once.startswith("# comment kept\n")
    assert plain(parse_yaml(once)) == plain(parse_yaml(text))


def test_text_that_needs_quotes_in_flow_style_keeps_them() -> None:
    """Strings that are YAML syntax unquoted (`: a`, `: '`) stay quoted, in flow and block
    style, so formatting valid YAML never writes YAML that cannot be read."""
    for text in ('top: [": a", ": \'"]\n', 'top: {k: ": a"}\n', 'top:\n  - ": a"\n'):
        once = format_text(text)
        assert once == text
        assert plain(parse_yaml(once)) == plain(parse_yaml(text))


def test_formatting_a_pack_keeps_its_rules(tmp_path: Path) -> None:
    pack = tmp_path / "pk"
    shutil.copytree(ROOT / "rules" / "pk", pack)
    rule_file = pack / "rules" / "amnesty.yaml"
    text = rule_file.read_text(encoding="utf-8")
    # the same rules laid out another way: wider indentation, CRLF line endings
    rule_file.write_bytes(_relaid(text, (4, 4, 2)).replace("\n", "\r\n").encode())
    before = load_pack(pack)
    code, out, err = run("fmt", "--check", str(pack))
    assert code == 1 and out.strip() == f"would reformat {rule_file}"
    assert "1 file(s) would be reformatted, 10 unchanged" in err
    code, out, _ = run("fmt", str(pack))
    assert code == 0 and f"reformatted {rule_file}" in out
    assert rule_file.read_text(encoding="utf-8") == text
    after = load_pack(pack)
    assert [r.spec for r in after.rules] == [r.spec for r in before.rules]
    assert after.params == before.params
    assert run("fmt", "--check", str(pack))[0] == 0


def test_bundled_pack_formatted_keeps_its_digest() -> None:
    """The bundled pack is already in the layout: its sha256 (pinned in audit logs) stays."""
    code, out, _ = run("fmt", "--check", str(ROOT / "rules"), str(ROOT / "tests" / "scenarios"))
    assert code == 0 and out == ""


def test_invalid_yaml_is_one_line_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: [unclosed\n", encoding="utf-8")
    dup = tmp_path / "dup.yaml"
    dup.write_text("a: 1\na: 2\n", encoding="utf-8")
    code, _, err = run("fmt", "--check", str(tmp_path))
    assert code == 2
    assert f"error: {bad}:3: invalid YAML" in err
    assert f"error: {dup}" in err and "duplicate" in err
    assert bad.read_text(encoding="utf-8") == "rules:\n  - id: [unclosed\n"


def test_empty_and_comment_only_files_are_left_alone(tmp_path: Path) -> None:
    assert format_text("") == ""
    assert format_text("# only a comment\n") == "# only a comment\n"


def test_a_file_that_is_not_yaml_is_refused_untouched(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("Notes\n=====\n\n- one:   two\n")
    code, out, err = run("fmt", str(readme))
    assert code == 2 and out == ""
    assert f"error: {readme}: not a YAML file (.yaml or .yml)" in err
    assert readme.read_text() == "Notes\n=====\n\n- one:   two\n"
