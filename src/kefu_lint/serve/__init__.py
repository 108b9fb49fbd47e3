"""``kefu-lint serve``: kefu-lint as an HTTP service for hosts that do not run Python.

- ``app.py``: the Starlette application (native JSON endpoints under ``/v1``, limits, errors,
  CORS, the API token);
- ``languagetool.py``: LanguageTool's ``/v2/check`` protocol, so LanguageTool clients (the
  browser extensions, editor plug-ins, client libraries) work unchanged;
- ``rulesets.py``: several rulesets served at once, sharing tokenizers;
- ``openapi.py``: the OpenAPI document served at ``/openapi.json``.

Needs the ``serve`` extra: ``pip install 'kefu-lint[serve]'``.
"""

from __future__ import annotations

from .options import ServiceOptions

__all__ = ["ServiceOptions"]
