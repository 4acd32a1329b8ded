"""The webhook service's access log: uvicorn's, without query strings.

uvicorn logs each request's path with its query string. An IdP's SCIM lookup carries the person
it looks for there (Okta: ``GET /scim/v2/Users?filter=userName eq "ann@acme.example"``; Entra:
``filter=displayName eq "…"`` for groups), so every lookup would write a person's e-mail or a
group's name to the log. The service's own records of a request (the inbox, ``scim log``, the
metrics) keep what an operator needs; the access line keeps the client, method, path and status.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

#: The position of the path in the arguments of uvicorn's access record:
#: ``(client_addr, method, path_with_query, http_version, status_code)``.
_PATH = 2


class WithoutQueryString(logging.Filter):
    """Cuts the query string off the path of uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[_PATH], str):
            path = args[_PATH].partition("?")[0]
            record.args = (*args[:_PATH], path, *args[_PATH + 1 :])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with :class:`WithoutQueryString` on its access
    handler (a handler filter, so no record reaches the stream with its query)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query_string"] = {"()": WithoutQueryString}
    config["handlers"]["access"].setdefault("filters", []).append("without_query_string")
    return config
