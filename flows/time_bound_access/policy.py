"""The rules for temporary access: how long at most, which predefined roles, who approves."""

from __future__ import annotations

from datetime import timedelta

from prefect.blocks.core import Block
from pydantic import Field

from core.planning.plan import SpecError
from core.planning.specs import PREDEFINED_SPACE_ROLES
from flows.time_bound_access.spec import (
    LONGEST_GRANT,
    GrantTemporaryAccessSpec,
    describe_duration,
)


class TemporaryAccessPolicy(Block):
    """Limits on time-bound access grants, saved once per environment.

    Without a saved block the defaults apply: at most 8 hours, no temporary ADMIN.

    Examples:
        ```python
        from flows.time_bound_access.policy import TemporaryAccessPolicy

        policy = await TemporaryAccessPolicy.aload("BLOCK_NAME")
        ```
    """

    _block_type_name = "Temporary Access Policy"
    _block_type_slug = "temporary-access-policy"

    max_duration: timedelta = Field(
        default=timedelta(hours=8), gt=timedelta(0), le=LONGEST_GRANT,
        description="The longest a single grant or extension may last (at most 30 days).",
    )
    grantable_predefined_roles: list[str] = Field(
        default_factory=lambda: ["MEMBER", "READ_ONLY", "ANNOTATOR"],
        description="Predefined roles that may be granted temporarily; custom roles always may.",
    )

    def check(self, spec: GrantTemporaryAccessSpec) -> None:
        """Refuse what the policy forbids, before anything is read or changed.

        Raises:
            SpecError: naming the field and what to ask for instead.
        """
        if spec.duration > self.max_duration:
            raise SpecError(
                "duration",
                describe_duration(spec.duration),
                f"at most {describe_duration(self.max_duration)}; ask again for less, and "
                "extend later if needed",
            )
        name = spec.role.upper()
        if name in PREDEFINED_SPACE_ROLES and name not in self.grantable_predefined_roles:
            allowed = ", ".join(self.grantable_predefined_roles) or "none"
            raise SpecError(
                "role",
                spec.role,
                f"the predefined role {name} may not be granted temporarily; ask for one of "
                f"{allowed} or a custom role",
            )


async def load_access_policy(name: str) -> TemporaryAccessPolicy:
    """The saved policy called ``name``; the defaults if none was saved."""
    try:
        return await TemporaryAccessPolicy.aload(name)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return TemporaryAccessPolicy()
