"""Typed changes: one pydantic model per action, told apart by their ``action`` field.

A plan is a list of these. Every model subclasses `Change`, fixes ``action`` to one literal and
declares the fields its step needs: natural keys (emails, names) and ids known at plan time,
never a secret. Defining the class registers it, so a plan read back from JSON (a stored
approval, a persisted result) comes back as the right models through one discriminated union.

A runbook that needs a new kind of change declares its model (in its own package is fine) and
registers the step that applies it with ``tasks.steps.apply.add_step``; see
docs/adding-a-runbook.md.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    TypeAdapter,
    model_validator,
)

from arize_admin import InviteMode, ServiceKeyOrgAssignment
from core.planning.specs import AccountRoleName, OrgRoleName, ServiceSpaceRoleName


class Action(StrEnum):
    """The actions the shared runbooks use; each has one change model here and one step."""

    CREATE_SPACE = "create-space"
    CREATE_ROLE = "create-role"
    UPDATE_ROLE = "update-role"
    DELETE_ROLE = "delete-role"
    INVITE_USER = "invite-user"
    SET_ORG_ROLE = "set-org-role"
    SET_SPACE_ROLE = "set-space-role"
    BIND_ROLE = "bind-role"
    REBIND_ROLE = "rebind-role"
    UNBIND_ROLE = "unbind-role"
    RESTRICT_PROJECT = "restrict-project"
    CREATE_SERVICE_KEY = "create-service-key"
    REVOKE_KEY = "revoke-key"
    ROTATE_KEY = "rotate-key"
    REPLACE_KEY = "replace-key"
    DELETE_USER = "delete-user"
    CREATE_SAML_IDP = "create-saml-identity-provider"
    ADD_SAML_ROLE_MAPPING = "add-saml-role-mapping"
    UPDATE_SAML_ROLE_MAPPING = "update-saml-role-mapping"
    REMOVE_SAML_ROLE_MAPPING = "remove-saml-role-mapping"


CHANGE_MODELS: dict[str, type[Change]] = {}
"""Action → its change model; filled as each model class is defined."""


class Change(BaseModel):
    """What every change has; subclasses add the fields of one action."""

    model_config = ConfigDict(extra="forbid")

    action: str
    target: str = Field(description="What the change acts on, in words an admin recognises.")
    destructive: bool = False
    stage: int = Field(
        default=0,
        description="Changes in one stage are independent and run concurrently; stages in order.",
    )
    reason: str = Field(default="", description="Why the plan contains this change.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        action = cls.model_fields["action"].default
        if not isinstance(action, str):
            raise TypeError(f"{cls.__name__}: declare `action: Literal[...] = ...` with a default")
        known = CHANGE_MODELS.get(action)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"{cls.__name__}: action {action!r} is {known.__name__}'s already")
        CHANGE_MODELS[str(action)] = cls
        _union.cache_clear()

    @property
    def key(self) -> str:
        """Stable identity of the change within a plan."""
        return f"{self.action}:{self.target}"

    def describe(self) -> str:
        """One line in plain words."""
        text = f"{str(self.action).replace('-', ' ')} {self.target}"
        return f"{text} ({self.reason})" if self.reason else text


@cache
def _union() -> TypeAdapter[Change]:
    models = tuple(CHANGE_MODELS.values())
    return TypeAdapter(Annotated[Union[models], Field(discriminator="action")])  # noqa: UP007


def _as_change(value: object) -> object:
    return value if isinstance(value, Change) else _union().validate_python(value)


AnyChange = Annotated[SerializeAsAny[Change], BeforeValidator(_as_change)]
"""A field type holding any registered change: validated by ``action``, dumped with its fields."""


class CreateSpace(Change):
    action: Literal[Action.CREATE_SPACE] = Action.CREATE_SPACE
    name: str
    organization_id: str
    description: str = ""


class CreateRole(Change):
    action: Literal[Action.CREATE_ROLE] = Action.CREATE_ROLE
    name: str
    permissions: list[str] = Field(description="The complete set, sorted.")
    description: str = ""


class UpdateRole(Change):
    action: Literal[Action.UPDATE_ROLE] = Action.UPDATE_ROLE
    role_id: str
    name: str
    permissions: list[str] = Field(description="The complete set, sorted.")
    description: str = ""


class DeleteRole(Change):
    action: Literal[Action.DELETE_ROLE] = Action.DELETE_ROLE
    role_id: str


class InviteUser(Change):
    action: Literal[Action.INVITE_USER] = Action.INVITE_USER
    name: str
    email: str
    account_role: AccountRoleName
    invite_mode: InviteMode


class SetOrgRole(Change):
    action: Literal[Action.SET_ORG_ROLE] = Action.SET_ORG_ROLE
    org_id: str
    email: str
    role: OrgRoleName


class SetSpaceRole(Change):
    action: Literal[Action.SET_SPACE_ROLE] = Action.SET_SPACE_ROLE
    space: str
    space_id: str | None = Field(default=None, description="None: created by an earlier stage.")
    email: str
    role: str = Field(description="A predefined role, or a custom role's name when custom.")
    custom: bool = False


class BindRole(Change):
    action: Literal[Action.BIND_ROLE] = Action.BIND_ROLE
    email: str
    role_id: str | None = Field(default=None, description="None: created by an earlier stage.")
    role: str | None = Field(default=None, description="The custom role's name, without an id.")
    resource_type: Literal["SPACE", "PROJECT"]
    resource_id: str | None = None
    space: str | None = Field(default=None, description="The space's name, without an id.")

    @model_validator(mode="after")
    def _ids_or_names(self) -> BindRole:
        if not (self.role_id or self.role):
            raise ValueError("give role_id, or role: the name of a role an earlier stage creates")
        if not (self.resource_id or self.space):
            raise ValueError("give resource_id, or space: the name of a space created earlier")
        return self


class RebindRole(Change):
    action: Literal[Action.REBIND_ROLE] = Action.REBIND_ROLE
    binding_id: str
    role_id: str
    resource_id: str | None = Field(
        default=None,
        description="The space or project the binding is on, where the planner knows it: a "
        "report places the change by it (account-as-code's managed note).",
    )


class UnbindRole(Change):
    action: Literal[Action.UNBIND_ROLE] = Action.UNBIND_ROLE
    binding_id: str
    user_id: str
    resource_id: str | None = Field(
        default=None,
        description="The space or project the binding is on, where the planner knows it: a "
        "report places the change by it (account-as-code's managed note).",
    )


class RestrictProject(Change):
    action: Literal[Action.RESTRICT_PROJECT] = Action.RESTRICT_PROJECT
    project_id: str
    space: str


class CreateServiceKey(Change):
    action: Literal[Action.CREATE_SERVICE_KEY] = Action.CREATE_SERVICE_KEY
    name: str
    org_id: str
    space: str
    space_id: str | None = Field(default=None, description="None: created by an earlier stage.")
    space_role: ServiceSpaceRoleName = "MEMBER"
    expires_in_days: int | None = None
    description: str = ""


class RevokeKey(Change):
    action: Literal[Action.REVOKE_KEY] = Action.REVOKE_KEY
    api_key_id: str
    name: str
    key_type: Literal["USER", "SERVICE"]


class RotateKey(Change):
    action: Literal[Action.ROTATE_KEY] = Action.ROTATE_KEY
    api_key_id: str
    name: str
    space: str | None = Field(description="The space whose key store entry holds the value.")
    grace_period_seconds: int
    expires_at: datetime | None = None
    stored_rotated_at: datetime | None = Field(
        default=None,
        description="When the key store last got this key's value, as planned; a newer one "
        "means an earlier attempt already rotated it.",
    )


class ReplaceKey(Change):
    action: Literal[Action.REPLACE_KEY] = Action.REPLACE_KEY
    api_key_id: str
    name: str
    space: str | None = Field(description="The space whose key store entry holds the value.")
    description: str | None = None
    created_at: datetime
    bot_user_id: str
    account_role: str = "MEMBER"
    organizations: list[ServiceKeyOrgAssignment]
    lifetime_seconds: int


class DeleteUser(Change):
    action: Literal[Action.DELETE_USER] = Action.DELETE_USER
    user_id: str
    email: str



class SamlRule(BaseModel):
    """One SAML role-mapping rule as planned: group → roles, by name and (when known) by id.

    A custom role the plan creates has no id yet (``*_role_id`` None): the step finds it by
    name. Spaces and projects must exist, so their ids are always known.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute_name: str
    group: str = Field(description="The attribute value that matches: the IdP group.")
    account_role: AccountRoleName | None = None
    space: str | None = None
    space_id: str | None = None
    space_role: str | None = Field(
        default=None, description="A built-in space role, or a custom role's name when custom."
    )
    space_role_custom: bool = False
    space_role_id: str | None = None
    project: str | None = None
    project_id: str | None = None
    project_role: str | None = Field(default=None, description="The custom role's name.")
    project_role_id: str | None = None

    def describe(self) -> str:
        """``group → account MEMBER, READ_ONLY on space s, Viewer on project p``."""
        grants = []
        if self.account_role:
            grants.append(f"account {self.account_role}")
        if self.space_role:
            grants.append(f"{self.space_role} on space {self.space}")
        if self.project_role:
            grants.append(f"{self.project_role} on project {self.project}")
        return f"{self.group} → {', '.join(grants)}"


class CreateSamlIdentityProvider(Change):
    action: Literal[Action.CREATE_SAML_IDP] = Action.CREATE_SAML_IDP
    name: str
    metadata_url: str
    email_domains: list[str]
    sync_user_roles: bool
    rules: list[SamlRule] = Field(description="Its initial role mappings, in order.")


class AddSamlRoleMapping(Change):
    action: Literal[Action.ADD_SAML_ROLE_MAPPING] = Action.ADD_SAML_ROLE_MAPPING
    idp_id: str
    index: int = Field(description="Its place among the rules the runbook manages (from 0).")
    rule: SamlRule


class UpdateSamlRoleMapping(Change):
    action: Literal[Action.UPDATE_SAML_ROLE_MAPPING] = Action.UPDATE_SAML_ROLE_MAPPING
    idp_id: str
    mapping_id: str
    index: int
    rule: SamlRule = Field(description="What the rule becomes; it keeps its place.")
    was: str = Field(description="The rule as it was, in words.")


class RemoveSamlRoleMapping(Change):
    action: Literal[Action.REMOVE_SAML_ROLE_MAPPING] = Action.REMOVE_SAML_ROLE_MAPPING
    idp_id: str
    mapping_id: str
    was: str
