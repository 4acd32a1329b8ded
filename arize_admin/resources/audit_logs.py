"""`client.audit_logs`: who did what (account admins, audit logging enabled)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource
from ..types import AuditLog, AuditLogOperationType

__all__ = ["AuditLogs"]


class AuditLogs(AsyncAPIResource):
    """Audit log entries, newest first."""

    def list(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        user_id: str | None = None,
        operation_names: Sequence[str] | None = None,
        operation_type: AuditLogOperationType | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[AuditLog]:
        """List audit log entries.

        Args:
            start_time: inclusive lower bound (server default: end_time minus 30 days).
            end_time: inclusive upper bound (server default: now).
            user_id: only this user's actions.
            operation_names: exact operation names, 1..20 of them.
            operation_type: `QUERY`, `MUTATION` or `SUBSCRIPTION`.
            limit: page size, 1..100.
        """
        if operation_names is not None and not 1 <= len(operation_names) <= 20:
            raise ValueError("operation_names takes 1 to 20 names")
        return self._list(
            "/v2/audit-logs",
            item_key="logs",
            parse=AuditLog.model_validate,
            start_time=start_time,
            end_time=end_time,
            user_id=user_id,
            operation_name=list(operation_names) if operation_names is not None else None,
            operation_type=operation_type,
            limit=limit,
        )
