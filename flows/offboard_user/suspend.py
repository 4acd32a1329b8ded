"""The change offboard-user needs to empty an account it keeps: leave an organization.

A leaver an identity provider may reactivate keeps their (emptied) account, because Arize
cannot re-invite a deleted user. Their bindings go with the shared ``UnbindRole``; leaving each
organization also takes the space memberships no binding shows. Declared here (defining it
registers it with the shared union) and applied by ``steps``.
"""

from __future__ import annotations

from typing import Literal

from core.planning.changes import Change


class LeaveOrganization(Change):
    """Remove a user from an organization and from every space in it."""

    action: Literal["leave-organization"] = "leave-organization"
    org_id: str
    user_id: str
