"""The HTTP decision service (`vasp-rules serve`): a thin ASGI layer over RulePack, explain and
the audit log. Needs the `service` extra: ``pip install -e '.[service]'`` in a checkout.

>>> from vasp_rules.service import ServiceConfig, create_app
>>> app = create_app(ServiceConfig(packs=["pk"]))      # any ASGI server can run it

The framework is imported only when these names are first used, so the command line (which
registers `serve`) works without the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServiceConfig, create_app
    from .problems import ApiError

__all__ = ["ApiError", "ServiceConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
