"""A value written as text on a command line or in a suggestion (`--set PATH=VALUE`): JSON,
else a YAML scalar or flow collection, read back as JSON data. Below the model, whose suggested
changes print their values so that this reads them back unchanged."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import InputError
from .limits import LimitError, check_yaml_text, load_json


class WhatIfError(InputError):
    """An assignment that cannot be parsed or applied to the document."""


def parse_value(text: str) -> Any:
    """A JSON value, or else a YAML scalar / flow collection, as JSON data (dates as ISO text,
    decimals as text so they stay exact)."""
    try:
        return load_json(text, parse_float=str)
    except json.JSONDecodeError:
        pass
    except (LimitError, ValueError) as exc:
        raise WhatIfError(f"cannot read value {text[:40]!r}: {exc}") from None
    yaml = YAML(typ="safe", pure=True)
    try:
        check_yaml_text(text)
        value = yaml.load(text)
    except LimitError as exc:
        raise WhatIfError(f"cannot read value {text[:40]!r}: {exc}") from None
    except YAMLError as exc:
        raise WhatIfError(f"cannot read value {text[:40]!r}: {exc}") from None
    return _json_data(value)


def _json_data(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_data(v) for v in value]
    return value
