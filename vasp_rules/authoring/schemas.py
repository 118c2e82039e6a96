"""JSON Schemas (Draft 2020-12) of the files an author writes: a pack's manifest (pack.yaml),
a rule file, a parameter file and a scenario file. The pack files' schemas are generated from
the very pydantic models the loader validates with (vasp_rules.pack.schema); the scenario
file's from the models below, kept equal to the keys the scenario reader accepts (a test
holds them together). A schema checks structure only: conditions, parameter types and
values, and rule ids across files are checked by `vasp-rules check`.

For an editor (the YAML language server), write the schema to a file and name it on the file's
first line: ``# yaml-language-server: $schema=./rule.schema.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.version import __version__
from ..model.decision import Outcome
from ..pack.schema import Manifest, ParamFile, RuleFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioExpect(_Strict):
    """What a case expects of a decision."""

    outcome: Outcome | None = None
    findings: str | list[str] | None = Field(
        default=None, description="rule ids that must fire"
    )
    absent: str | list[str] | None = Field(
        default=None, description="rule ids that must not fire"
    )
    error: str | None = Field(
        default=None, description="the input is invalid: text the error message contains"
    )


class ScenarioCase(_Strict):
    """One case: a document (or a batch, or a file holding them), optional edits, and the
    decision expected."""

    name: str = Field(min_length=1)
    description: str | None = None
    as_of: date | None = Field(default=None, description="the file's as_of when absent")
    input: dict[str, Any] | list[dict[str, Any]] | None = Field(
        default=None, description="the document, or a batch of them (give input or input_file)"
    )
    input_file: str | None = Field(
        default=None, description="a JSON or YAML file relative to the scenario file"
    )
    input_format: Literal["document", "ivms101"] = "document"
    set: dict[str, Any] | None = Field(
        default=None, description="field path (firm.people[0].name) -> value, applied first"
    )
    expect: ScenarioExpect | dict[str, ScenarioExpect] = Field(
        description="one expectation, or one per document id of a batch"
    )
    batch: bool | None = Field(default=None, description="accepted and ignored (a list is a batch)")


class ScenarioFile(_Strict):
    """A scenario file (*.scenarios.yaml) in its mapping form (a bare list of cases is read
    too)."""

    pack: str | None = Field(
        default=None, description="a pack name, or a folder relative to this file (default pk)"
    )
    as_of: date | None = None
    description: str | None = None
    cases: list[ScenarioCase]


#: `vasp-rules schema` file kinds -> (model, what the file is).
FILE_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "pack": (Manifest, "a rule pack's manifest, pack.yaml"),
    "rule": (RuleFile, "a rule file of a pack, rules/*.yaml"),
    "parameters": (ParamFile, "a parameter file of a pack, parameters/*.yaml"),
    "scenario": (ScenarioFile, "a scenario file, *.scenarios.yaml"),
}


def file_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one file kind of FILE_MODELS, with `$schema` and `$id`."""
    model, what = FILE_MODELS[kind]
    body = model.model_json_schema(by_alias=True)
    head: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:vasp-rules:{__version__}:schema:{kind}",
        "title": f"vasp-rules {kind} file",
        "description": f"{what} (vasp-rules {__version__}). Structure only: conditions, "
        "parameter values and rule ids across files are checked by `vasp-rules check`.",
    }
    body.pop("title", None)
    body.pop("description", None)
    return {**head, **body}
