"""The changes account-as-code needs that no runbook had: rename a role, update a space, lift a
project's restriction. Declared here (defining them registers them with the shared union) and
applied by the steps in ``steps``."""

from __future__ import annotations

from typing import Literal

from core.planning.changes import Change


class RenameRole(Change):
    """Rename a custom role in place, by id: its bindings stay."""

    action: Literal["rename-role"] = "rename-role"
    role_id: str
    name: str


class UpdateSpace(Change):
    """Rename a space in place, by id, and/or set its description."""

    action: Literal["update-space"] = "update-space"
    space_id: str
    name: str
    description: str


class UnrestrictProject(Change):
    """Lift a project's restriction: everyone in its space can see it again (so: gated)."""

    action: Literal["unrestrict-project"] = "unrestrict-project"
    project_id: str
    space: str
