"""The emulated Arize account: the shared store with every resource's operations on it.

This is moto's ``models.py``: routes read parameters, call one method here and render the
result. Every rule of the admin API lives in the parts assembled here (docs/arize-admin-api.md
lists the ones Arize leaves open): uniqueness (409), existence (404), who may call
(401/403/404, :mod:`emulator.arize.authorization`), request values the resource's state
forbids (400/422), cascades, key hashing and the audit log (:mod:`emulator.arize.store`).
Each resource is one module of :mod:`emulator.arize.resources`.

Each mutating method is wrapped by :func:`~emulator.arize.store.mutation`, which writes the
audit-log entry and tells the persistence layer that the account changed (one snapshot per
mutation).
"""

from __future__ import annotations

from emulator.arize.resources.audit_logs import AuditLogs
from emulator.arize.resources.organizations import Organizations
from emulator.arize.resources.resource_restrictions import ResourceRestrictions
from emulator.arize.resources.role_bindings import RoleBindings
from emulator.arize.resources.roles import Roles
from emulator.arize.resources.saml_login import SamlLogin
from emulator.arize.resources.users import Users

__all__ = ["AccountState"]


class AccountState(
    Users, Organizations, Roles, RoleBindings, ResourceRestrictions, AuditLogs, SamlLogin
):
    """One emulated Arize account (each app has its own; no process-wide singleton)."""
