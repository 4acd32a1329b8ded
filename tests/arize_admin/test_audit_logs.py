"""audit_logs: the `logs` list key, filters, admin-only access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    AuditLog,
    AuditLogOperationType,
    PermissionDeniedError,
)

from .conftest import AsUser, Seed


async def test_list_with_filters(admin: AsyncArizeAdmin, seed: Seed) -> None:
    await admin.organizations.create(name="Audited")
    logs = await admin.audit_logs.list().to_list()
    assert all(isinstance(log, AuditLog) for log in logs)
    created_at = [log.created_at for log in logs]
    assert created_at == sorted(created_at, reverse=True)  # newest first

    now = datetime.now(UTC)
    mutations = await admin.audit_logs.list(
        start_time=now - timedelta(hours=1),
        end_time=now + timedelta(minutes=1),
        user_id=seed.users["admin"],
        operation_type=AuditLogOperationType.MUTATION,
    ).to_list()
    assert mutations
    assert all(log.operation_type is AuditLogOperationType.MUTATION for log in mutations)
    assert all(log.user_id == seed.users["admin"] for log in mutations)

    names = {log.operation_name for log in mutations if log.operation_name}
    assert names
    name = sorted(names)[0]
    by_name = await admin.audit_logs.list(operation_names=[name]).to_list()
    assert by_name
    assert {log.operation_name for log in by_name} == {name}

    naive_window = await admin.audit_logs.list(
        start_time=(now - timedelta(hours=1)).replace(tzinfo=None),
        end_time=(now + timedelta(minutes=1)).replace(tzinfo=None),
    ).to_list()
    assert len(naive_window) >= len(mutations)


async def test_too_many_operation_names_is_refused_locally(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(ValueError):
        admin.audit_logs.list(operation_names=[f"op{n}" for n in range(21)])


async def test_members_may_not_read_audit_logs(as_user: AsUser, seed: Seed) -> None:
    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError) as caught:
        await dana.audit_logs.list()
    assert caught.value.status_code == 403
    assert caught.value.path == "/v2/audit-logs"
