"""Every error the library raises shares one base that says how it is reported."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import vasp_rules
from vasp_rules import RulePack, VaspRulesError, parse_document
from vasp_rules.audit import AuditError
from vasp_rules.audit.log.errors import TamperedLogError
from vasp_rules.core.errors import InputError
from vasp_rules.engine.durable_backend import EngineError
from vasp_rules.entities.registry import DocumentError
from vasp_rules.pack.loader import PackError

#: exceptions that are not library errors: a click usage error, the service's own response
#: type, a pytest failure and the symbolic model's internal signal
_NOT_LIBRARY_ERRORS = {"OneLineUsageError", "ApiError", "ScenarioFailed", "Inexact"}


def _error_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(vasp_rules.__path__, "vasp_rules."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Exception)
                and obj.__module__.startswith("vasp_rules")
                and obj.__name__ not in _NOT_LIBRARY_ERRORS
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_library_error_derives_from_the_base() -> None:
    classes = _error_classes()
    assert len(classes) >= 20
    outside = [c.__qualname__ for c in classes if not issubclass(c, VaspRulesError)]
    assert outside == []


@pytest.mark.parametrize(
    ("error", "builtin", "exit_code", "http_status"),
    [
        (InputError, ValueError, 2, 422),
        (DocumentError, ValueError, 2, 422),
        (PackError, ValueError, 2, 422),
        (EngineError, RuntimeError, 2, 422),
        (AuditError, Exception, 2, 503),
        (TamperedLogError, Exception, 1, 503),
    ],
)
def test_codes_and_builtin_bases_are_kept(
    error: type[VaspRulesError], builtin: type[Exception], exit_code: int, http_status: int
) -> None:
    assert issubclass(error, builtin)  # `except ValueError` callers keep working
    assert (error.exit_code, error.http_status) == (exit_code, http_status)


def test_one_except_catches_a_bad_document_and_a_bad_pack(tmp_path: Path) -> None:
    """A caller that catches the public base sees both input and pack errors."""
    with pytest.raises(VaspRulesError) as caught:
        parse_document({"kind": "transfer", "transfer_id": 1})
    assert isinstance(caught.value, DocumentError)
    assert caught.value.http_status == 422
    (tmp_path / "pack.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(VaspRulesError) as bad_pack:
        RulePack.load(tmp_path)
    assert bad_pack.value.exit_code == 2
