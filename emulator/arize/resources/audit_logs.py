"""Audit logs: ``GET /v2/audit-logs`` (entries are written by the store's ``mutation``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emulator.arize.authorization import Authorization
from emulator.arize.errors import BadRequest
from emulator.arize.ids import decode_id
from emulator.arize.models import AuditLog, utcnow
from emulator.arize.pagination import Page
from emulator.arize.store import Caller

__all__ = ["AuditLogs"]


class AuditLogs(Authorization):
    """Reading the audit log, account admins only."""

    def list_audit_logs(
        self,
        caller: Caller,
        *,
        start_time: datetime | None,
        end_time: datetime | None,
        user_id: str | None,
        operation_names: list[str] | None,
        operation_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[AuditLog]:
        """GET /v2/audit-logs: account admins only, newest first."""
        self._require_account_admin(caller, "read audit logs")
        if user_id is not None:
            decode_id(user_id, "User", field="user_id")
        if operation_names is not None:
            if not 1 <= len(operation_names) <= 20:
                raise BadRequest("operation_name accepts 1 to 20 values.")
            if any(not 1 <= len(n) <= 255 for n in operation_names):
                raise BadRequest("Each operation_name must be 1 to 255 characters.")
        end = end_time or utcnow()
        start = start_time or end - timedelta(days=30)
        if start > end:
            raise BadRequest("start_time must not be after end_time.")
        names = set(operation_names or [])
        items = [
            log
            for log in self.audit_logs.values()
            if start <= log.created_at <= end
            and (user_id is None or log.user_id == user_id)
            and (not names or log.operation_name in names)
            and (operation_type is None or log.operation_type == operation_type)
        ]
        return self._page(
            "audit_logs",
            items,
            limit=limit,
            cursor=cursor,
            filters={
                "start_time": start_time,
                "end_time": end_time,
                "user_id": user_id,
                "operation_name": sorted(names),
                "operation_type": operation_type,
            },
        )
