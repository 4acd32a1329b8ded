"""The change update-user-profile needs that no runbook had: set a user's display name.
Declared here (defining it registers it with the shared union) and applied by ``steps``."""

from __future__ import annotations

from typing import Literal

from core.planning.changes import Change


class RenameUser(Change):
    """Set a user's display name."""

    action: Literal["rename-user"] = "rename-user"
    user_id: str
    email: str
    name: str
