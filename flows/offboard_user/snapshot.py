"""The access snapshot: what a leaver had in Arize, taken before their access is taken away, so
a reactivation can give it back (restore-user). It holds ids, names and roles only, never a key
or its value. ``snapshot_store`` keeps it where workers can read it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from flows.offboard_user.plan import Inventory

PREFIX = "access-snapshot-"


class Grant(BaseModel):
    """One binding the person had: a role on a space (a membership) or on a project."""

    resource_type: Literal["SPACE", "PROJECT"]
    resource_id: str
    resource: str = Field(description="Space name, or space/project, as it was.")
    space_id: str | None = None
    organization_id: str | None = None
    role_id: str
    role: str
    role_predefined: bool = False


class AccessSnapshot(BaseModel):
    """What a leaver had when offboard-user took it away."""

    email: str
    user_id: str | None
    name: str | None
    account_role: str | None
    taken_at: datetime
    idp_groups: list[str] = Field(
        default_factory=list, description="Their identity-provider groups as they left."
    )
    grants: list[Grant] = Field(default_factory=list)
    restored_at: datetime | None = Field(
        default=None, description="When restore-user last gave it back."
    )


def snapshot_name(email: str) -> str:
    """The block name of ``email``'s snapshot: a digest, so no e-mail appears in the name."""
    return PREFIX + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def from_inventory(inventory: Inventory, idp_groups: list[str]) -> AccessSnapshot:
    """The snapshot of an inventoried (found) user."""
    return AccessSnapshot(
        email=(inventory.email or "").lower(),
        user_id=inventory.user_id,
        name=inventory.name,
        account_role=inventory.account_role,
        taken_at=datetime.now(UTC),
        idp_groups=sorted(idp_groups),
        grants=[
            Grant(
                resource_type="PROJECT" if b.resource_type == "PROJECT" else "SPACE",
                resource_id=b.resource_id,
                resource=b.resource,
                space_id=b.space_id,
                organization_id=b.organization_id,
                role_id=b.role_id,
                role=b.role,
                role_predefined=b.role_predefined,
            )
            for b in inventory.bindings
        ],
    )
