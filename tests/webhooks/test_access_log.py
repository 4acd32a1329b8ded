"""``serve``'s access line is uvicorn's (uncoloured), without the query string."""

from __future__ import annotations

import logging

import pytest
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from webhooks.access_log import AccessLine

#: How uvicorn's protocols log a request.
MESSAGE = '%s - "%s %s HTTP/%s" %d'


def _record(path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, MESSAGE,
        ("127.0.0.1:5555", "GET", path, "1.1", status), None,
    )  # fmt: skip


@pytest.mark.parametrize("status", [200, 201, 204, 404, 409, 503, 599])
def test_the_line_is_uvicorns_without_the_query(status: int) -> None:
    uvicorns = AccessFormatter(fmt=LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=False)
    ours = AccessLine()
    person = "/scim/v2/Users?filter=userName%20eq%20%22ann%40acme.example%22"
    assert ours.format(_record(person, status)) == uvicorns.format(
        _record("/scim/v2/Users", status)
    )
    assert ours.format(_record("/healthz", status)) == uvicorns.format(_record("/healthz", status))


def test_another_record_is_formatted_as_any_line() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.WARNING, __file__, 1, "odd %s", ("x",), None
    )
    assert AccessLine().format(record) == "odd x"
