"""Bearer-key authentication and the ``Annotated`` dependency aliases routes use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from emulator.arize.errors import Unauthorized
from emulator.arize.state import AccountState
from emulator.arize.store import Caller

__all__ = ["CallerDep", "PageDep", "PageParams", "StateDep", "authenticate", "get_state"]


# Async, so FastAPI calls them on the loop: a sync dependency costs a thread-pool round trip
# per request, and every request has these two.
async def get_state(request: Request) -> AccountState:
    """The app's current account (replaced wholesale by ``/_emulator/reset``)."""
    return request.app.state.emulator.state


async def authenticate(request: Request) -> Caller:
    """Resolve ``Authorization: Bearer <key>`` to the caller.

    Raises:
        Unauthorized: No header, another scheme, or a key that is unknown, revoked or expired.
    """
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("Missing Authorization header; send 'Bearer <api key>'.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("The Authorization header must be 'Bearer <api key>'.")
    ip = request.client.host if request.client else "127.0.0.1"
    return (await get_state(request)).authenticate(token, ip)


class PageParams:
    """``limit`` and ``cursor``; the range check (1..100, else 400) is the paginator's."""

    def __init__(self, limit: int | None = Query(None), cursor: str | None = Query(None)):
        self.limit = limit
        self.cursor = cursor


StateDep = Annotated[AccountState, Depends(get_state)]
CallerDep = Annotated[Caller, Depends(authenticate)]
PageDep = Annotated[PageParams, Depends()]
