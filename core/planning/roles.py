"""Planning a custom role as code: create it, or update it to exactly the spec's permissions.

Shared by onboard-team and saml-role-mapping; removing a permission narrows access, so it is
destructive and waits for approval.
"""

from __future__ import annotations

import re

from arize_admin import Role
from core.planning.changes import CreateRole, UpdateRole
from core.planning.plan import Plan, SpecError
from core.planning.specs import CustomRoleSpec

# Arize's own rule for role names; checked here to name the field.
ROLE_NAME = re.compile(r"^[a-zA-Z0-9 \-_.,()\[\]'\"/:\\&@#$%!?+=]+$")


def plan_custom_role(
    plan: Plan,
    role_spec: CustomRoleSpec,
    live: Role | None,
    *,
    field: str,
    stage: int,
    purpose: str = "",
) -> None:
    """Add to ``plan`` what makes the live role match ``role_spec``, or record it in place.

    Args:
        plan: The plan being built.
        role_spec: The role as the spec wants it.
        live: The account's role of that name, if any.
        field: The spec field naming the role, for errors (``roles[2]``).
        stage: The plan stage of role changes.
        purpose: Why the role exists, for the plan's text (``for group fraud-analysts``).

    Raises:
        SpecError: the name is not allowed, or belongs to a predefined role.
    """
    if not ROLE_NAME.match(role_spec.name):
        raise SpecError(
            f"{field}.name",
            role_spec.name,
            "use letters, digits, spaces and -_.,()[]'\"/:\\&@#$%!?+= only",
        )
    wanted = sorted(p.value for p in role_spec.permissions)
    if live is None:
        plan.changes.append(
            CreateRole(
                target=role_spec.name,
                name=role_spec.name,
                permissions=wanted,
                description=role_spec.description,
                stage=stage,
                reason=purpose,
            )
        )
        return
    if live.is_predefined:
        raise SpecError(
            f"{field}.name", role_spec.name, "that is a predefined role; choose another name"
        )
    have = sorted(p.value for p in live.permissions)
    if have == wanted and (live.description or "") == role_spec.description:
        plan.in_place.append(f"role {role_spec.name} {purpose}".rstrip())
        return
    removed = sorted(set(have) - set(wanted))
    added = sorted(set(wanted) - set(have))
    parts = [f"adds {', '.join(added)}"] if added else []
    parts += [f"removes {', '.join(removed)}"] if removed else []
    plan.changes.append(
        UpdateRole(
            target=role_spec.name,
            role_id=live.id,
            name=role_spec.name,
            permissions=wanted,
            description=role_spec.description,
            destructive=bool(removed),
            stage=stage,
            reason="; ".join(parts) or "description",
        )
    )
