"""The HTTP decision service (`vasp-rules serve`): a thin ASGI layer over RulePack, explain and
the audit log. Needs the `service` extra: ``pip install 'vasp-rules[service]'``.

>>> from vasp_rules.service import ServiceConfig, create_app
>>> app = create_app(ServiceConfig(packs=["pk"]))      # any ASGI server can run it
"""

from .app import ApiError, ServiceConfig, create_app

__all__ = ["ApiError", "ServiceConfig", "create_app"]
