"""``/v2/audit-logs``: newest first, list key ``logs``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.errors import BadRequest

router = APIRouter(prefix="/audit-logs", tags=["audit-logs"])

# An unencoded "+0000" offset reaches us as " 0000" (a query "+" decodes to a space).
_SPACE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def parse_time(value: str | None, field: str) -> datetime | None:
    """Accept ``...000000+0000`` (SDK, tz-aware), naive (UTC) and ordinary ISO 8601 times."""
    if value is None:
        return None
    text = _SPACE_OFFSET.sub(r"+\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{field} is not a valid datetime: '{value}'.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("")
async def list_audit_logs(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    start_time: str | None = None,
    end_time: str | None = None,
    user_id: str | None = None,
    operation_name: Annotated[list[str] | None, Query()] = None,
    operation_type: Literal["QUERY", "MUTATION", "SUBSCRIPTION"] | None = None,
) -> JSONResponse:
    """List audit-log entries (account admins only)."""
    result = state.list_audit_logs(
        caller,
        start_time=parse_time(start_time, "start_time"),
        end_time=parse_time(end_time, "end_time"),
        user_id=user_id,
        operation_names=operation_name,
        operation_type=operation_type,
        limit=page.limit,
        cursor=page.cursor,
    )
    return JSONResponse(result.envelope("logs", lambda log: render.audit_log(state, log)))
