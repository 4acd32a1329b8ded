"""Plan the account: the typed changes that make the live account match the files.

One planner with the runbooks' signature, ``plan_account(client, spec, context)``; the engine
gates, applies and verifies its plan like any runbook's. Things with an id are matched by id
first, so a rename is an update in place. Invited people are present. Predefined roles are
compared by one canonical name. Removals happen only for kinds the files own
(``authoritative``), only inside the selector, and always through the gate; nobody is ever
deleted from the account here (that is offboard-user's job), even when a removal takes their
last access.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from arize_admin import (
    AsyncArizeAdmin,
    Project,
    ServiceApiKey,
    ServiceKeyOrgAssignment,
    Space,
)
from core.planning.changes import (
    BindRole,
    CreateServiceKey,
    CreateSpace,
    DeleteRole,
    InviteUser,
    RebindRole,
    ReplaceKey,
    RestrictProject,
    RevokeKey,
    SetOrgRole,
    SetSpaceRole,
    UnbindRole,
)
from core.planning.context import PlanContext
from core.planning.names import listed
from core.planning.plan import Plan, SpecError
from core.planning.roles import plan_custom_role
from core.planning.specs import CustomRoleSpec
from flows.account_as_code.changes import RenameRole, UnrestrictProject, UpdateSpace
from flows.account_as_code.format import (
    AccountSpec,
    MemberDecl,
    Ownership,
    ServiceKeyDecl,
    SpaceDecl,
)
from flows.account_as_code.live import Binding, LiveAccount, read_live
from flows.account_as_code.loader import LoadedAccount, predefined_name

RUNBOOK = "apply-account"

# Stages: what a later stage needs exists after the earlier ones; removals come last, and a
# role is deleted only after the bindings that used it are gone.
ROLES_AND_SPACES, INVITES, ORG_ROLES, MEMBERS, RESTRICT_AND_KEYS, REMOVALS, DELETE_ROLES = range(7)

# A predefined space role's rank: moving down this list narrows access (gated).
_RANK = {"ADMIN": 3, "MEMBER": 2, "READ_ONLY": 1, "ANNOTATOR": 0}
EXPIRY_SLACK = timedelta(days=2)
"""A key expiring this close to the declared time is as declared: a new key is created for
whole days, and the gate may hold it a while before it is created."""
UNMANAGED_SHOWN = 10
"""Unmanaged items named per kind in a plan; the rest are counted."""


async def plan_account(
    client: AsyncArizeAdmin, spec: AccountSpec, context: PlanContext = PlanContext()
) -> Plan:
    """Read the live account (paged listings only) and list the changes that match ``spec``.

    Changes nothing.

    Raises:
        SpecError: the files name an organization, project, person or role that does not exist
            and that they do not declare; ``field`` is the item's path in the joined files.
    """
    return await plan_loaded(client, LoadedAccount.of_spec(spec))


async def plan_loaded(client: AsyncArizeAdmin, loaded: LoadedAccount) -> Plan:
    """``plan_account`` of a directory as ``load_account`` validated it: its spaces are read
    again and diffed a file at a time, so the whole spec is never in memory. Same plan.

    Raises:
        SpecError: as ``plan_account``.
    """
    before = client.request_count
    live = await read_live(client)
    plan = diff_account(loaded, live)
    plan.api_calls = client.request_count - before
    return plan


@dataclass
class _Desired:
    """Space members and project bindings the files ask for, wherever they declared them."""

    space_members: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """space key → email → (role, field path)."""
    project_bindings: dict[tuple[str, str], dict[str, tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """(space key, project name) → email → (role, field path)."""


def diff_account(spec: AccountSpec | LoadedAccount, live: LiveAccount) -> Plan:
    """The plan for ``spec`` against an account already read; pure, for tests and drift."""
    declared = spec if isinstance(spec, LoadedAccount) else LoadedAccount.of_spec(spec)
    return _Planner(declared, live).plan()


class _Planner:
    """One pass over the declared spaces, a space at a time.

    What is global is small and planned first: roles, people, the spaces' own settings, the
    top-level bindings. Then each space's members, projects and keys are diffed as its file is
    read again (``each_space``), and dropped before the next: the planner holds one space's
    declaration, never the whole spec.
    """

    def __init__(self, declared: LoadedAccount, live: LiveAccount) -> None:
        self.declared = declared
        self.ownership = declared.ownership
        self.live = live
        self.plan_ = Plan(runbook=RUNBOOK, subject="account")
        self.declared_roles = {r.name for r in declared.roles}
        self.user_decl = declared.users
        self.org_by_name = {o.name: o for o in live.organizations}
        # space key (org/name) → live space, for the declared spaces that exist
        self.space_of: dict[str, Space | None] = {}
        self.head_of: dict[str, SpaceDecl] = {}
        """Space key → the space's own settings (no members, projects or keys)."""
        self._undeclared: dict[str, SpaceDecl] = {}
        """Live spaces the files only bind people on (additive): never pruned."""
        self.bindings_left: dict[str, int] = defaultdict(int)
        for b in (*live.space_bindings, *live.project_bindings):
            self.bindings_left[b.user_id] += 1
        # Indexes, so each declared item is a lookup and not a scan of the whole account.
        self.bindings_on: dict[str, list[Binding]] = defaultdict(list)
        for b in (*live.space_bindings, *live.project_bindings):
            if b.user_id not in live.bot_ids:
                self.bindings_on[b.resource_id].append(b)
        self.projects_in: dict[str, list[Project]] = defaultdict(list)
        for p in live.projects:
            self.projects_in[p.space_id].append(p)
        self.keys_in: dict[str, list[ServiceApiKey]] = defaultdict(list)
        for k in live.service_keys:
            for space_id in _spaces_of(k):
                self.keys_in[space_id].append(k)
        self.org_members: set[tuple[str, str]] = {
            (live.space_by_id[b.resource_id].organization_id or "", b.user_id)
            for b in live.space_bindings
            if b.resource_id in live.space_by_id
        }

    # -- the whole plan ---------------------------------------------------------------------

    def plan(self) -> Plan:
        self._roles()
        self._users()
        self._spaces()
        elsewhere = self._top_bindings()
        for index, decl in self.declared.each_space():
            self._space(f"{decl.organization}/{decl.name}", decl, index, elsewhere)
        for key, decl in self._undeclared.items():
            self._space(key, decl, None, elsewhere)
        self._unmanaged()
        return self.plan_

    def _space(
        self, key: str, decl: SpaceDecl, index: int | None,
        elsewhere: dict[str, list[tuple[str | None, MemberDecl, str]]],
    ) -> None:
        """One space's members, projects and keys: what its file and top-level bindings ask."""
        desired = _Desired()
        base = f"spaces[{index}]"
        for j, member in enumerate(decl.members):
            self._want(desired.space_members[key], member, f"{base}.members[{j}]")
        for j, project in enumerate(decl.projects):
            for k, binding in enumerate(project.bindings):
                self._want(
                    desired.project_bindings[(key, project.name)], binding,
                    f"{base}.projects[{j}].bindings[{k}]",
                )
        for project_name, member, path in elsewhere.pop(key, []):
            target = (
                desired.project_bindings[(key, project_name)]
                if project_name
                else desired.space_members[key]
            )
            self._want(target, member, path)
        self._space_members(key, decl, desired.space_members.get(key, {}))
        self._projects(key, decl, desired, index)
        self._service_keys(key, decl, index)

    # -- roles ------------------------------------------------------------------------------

    def _roles(self) -> None:
        custom = [r for r in self.live.roles if not r.is_predefined]
        by_name = {r.name: r for r in custom}
        by_id = {r.id: r for r in custom}
        matched: set[str] = set()
        for index, decl in enumerate(self.declared.roles):
            field_path = f"roles[{index}]"
            if predefined_name(decl.name):
                raise SpecError(
                    f"{field_path}.name", decl.name,
                    "that is a predefined role; choose another name",
                )
            live_role = by_id.get(decl.id or "") or by_name.get(decl.name)
            if live_role is not None:
                matched.add(live_role.id)
                if live_role.name != decl.name:
                    self.plan_.changes.append(
                        RenameRole(
                            target=f"{live_role.name} → {decl.name}",
                            role_id=live_role.id,
                            name=decl.name,
                            stage=ROLES_AND_SPACES,
                            reason="renamed in the files; same id, bindings kept",
                        )
                    )
                    # Planned under the new name from here on: the role's bindings read it so.
                    live_role = live_role.model_copy(update={"name": decl.name})
            role_spec = CustomRoleSpec(
                name=decl.name, permissions=decl.permissions, description=decl.description
            )
            plan_custom_role(
                self.plan_, role_spec, live_role, field=field_path, stage=ROLES_AND_SPACES
            )
        self.renamed = {
            c.role_id: c.name for c in self.plan_.changes if isinstance(c, RenameRole)
        }
        if self.ownership.roles is Ownership.AUTHORITATIVE:
            removed_bindings = self._bindings_removed_later()
            for role in custom:
                if role.id in matched:
                    continue
                users = [
                    b for b in (*self.live.space_bindings, *self.live.project_bindings)
                    if b.role_id == role.id
                ]
                if any(b.id not in removed_bindings for b in users):
                    self.plan_.notes.append(
                        f"role {role.name} is not declared but still bound outside the managed "
                        "bindings; not deleted (Arize refuses to delete a bound role)"
                    )
                    continue
                self.plan_.changes.append(
                    DeleteRole(
                        target=role.name,
                        role_id=role.id,
                        destructive=True,
                        stage=DELETE_ROLES,
                        reason="not declared; roles are authoritative",
                    )
                )

    def _bindings_removed_later(self) -> set[str]:
        """Bindings an authoritative kind will remove: computed on a dry copy of this plan."""
        if self.ownership.roles is not Ownership.AUTHORITATIVE:
            return set()
        additive = self.ownership.model_copy(update={"roles": Ownership.ADDITIVE})
        dry = _Planner(dataclasses.replace(self.declared, ownership=additive), self.live).plan()
        return {c.binding_id for c in dry.changes if isinstance(c, UnbindRole)}

    def _role_id(self, name: str) -> str | None:
        canonical = predefined_name(name)
        if canonical:
            return self.live.role_id(canonical)
        for role_id, new_name in self.renamed.items():
            if new_name == name:
                return role_id
        role_id = self.live.role_id(name)
        return None if role_id in self.renamed else role_id

    def _role_name(self, role_id: str) -> str | None:
        return self.renamed.get(role_id) or self.live.role_name(role_id)

    def _check_role(self, name: str, field_path: str) -> str:
        """The role's canonical name; it must be predefined, declared or live."""
        canonical = predefined_name(name)
        if canonical:
            return canonical
        if name in self.declared_roles or self._role_id(name):
            return name
        custom = [r.name for r in self.live.roles if not r.is_predefined]
        raise SpecError(
            f"{field_path}.role",
            name,
            "use ADMIN, MEMBER, READ_ONLY, ANNOTATOR or a custom role declared under roles or in "
            f"Arize; custom roles: {listed(custom)}",
        )

    # -- people -----------------------------------------------------------------------------

    def _users(self) -> None:
        for decl in self.declared.users.values():
            email = decl.email
            user = self.live.user_by_email.get(email)
            if user is not None:
                # Invited (or expired) counts as present: the listing has them; never re-added.
                if user.account_role != decl.account_role:
                    self.plan_.notes.append(
                        f"{email} is an account {user.account_role}, the files say "
                        f"{decl.account_role}; the admin API cannot change account roles"
                    )
                continue
            self.plan_.changes.append(
                InviteUser(
                    target=email,
                    name=decl.name,
                    email=email,
                    account_role=decl.account_role,
                    invite_mode=decl.invite_mode,
                    stage=INVITES,
                )
            )

    def _user_known(self, email: str, field_path: str) -> str | None:
        """The live user id, or None for someone the files invite; else a SpecError."""
        user = self.live.user_by_email.get(email)
        if user is not None:
            return user.id
        if email in self.user_decl:
            return None
        raise SpecError(
            f"{field_path}.email", email,
            "no such person in Arize: declare them under users (they are invited), or fix the "
            "spelling",
        )

    # -- spaces -----------------------------------------------------------------------------

    def _spaces(self) -> None:
        by_key = {
            f"{self.live.org_name(s.organization_id)}/{s.name}": s for s in self.live.spaces
        }
        for index, decl in enumerate(self.declared.space_heads):
            field_path = f"spaces[{index}]"
            org = self.org_by_name.get(decl.organization)
            if org is None:
                raise SpecError(
                    f"{field_path}.organization", decl.organization,
                    "no organization of that name (names are exact); organizations: "
                    + listed(o.name for o in self.live.organizations),
                )
            if not self.declared.selector.selects(decl.name):
                raise SpecError(
                    f"{field_path}.name", decl.name,
                    "the selector does not select this space: add a pattern that matches it "
                    "under selector.spaces, or remove the space from the files",
                )
            key = f"{decl.organization}/{decl.name}"
            space = self.live.space_by_id.get(decl.id or "") or by_key.get(key)
            self.space_of[key] = space
            self.head_of[key] = decl
            if space is None:
                self.plan_.changes.append(
                    CreateSpace(
                        target=decl.name,
                        name=decl.name,
                        organization_id=org.id,
                        description=decl.description,
                        stage=ROLES_AND_SPACES,
                    )
                )
            elif space.name != decl.name or (space.description or "") != decl.description:
                what = f"renamed from {space.name}" if space.name != decl.name else "description"
                self.plan_.changes.append(
                    UpdateSpace(
                        target=decl.name,
                        space_id=space.id,
                        name=decl.name,
                        description=decl.description,
                        stage=ROLES_AND_SPACES,
                        reason=f"{what}; same id",
                    )
                )

    def _top_bindings(self) -> dict[str, list[tuple[str | None, MemberDecl, str]]]:
        """Top-level bindings by the key of their space: (project or None, member, path)."""
        by_space: dict[str, list[tuple[str | None, MemberDecl, str]]] = defaultdict(list)
        for i, binding in enumerate(self.declared.bindings):
            path = f"bindings[{i}]"
            key = self._binding_space(binding.space, binding.organization, path)
            self._check_role(binding.role, path)
            member = MemberDecl(email=binding.email, role=binding.role)
            by_space[key].append((binding.project, member, path))
        return by_space

    def _want(self, into: dict[str, tuple[str, str]], member: MemberDecl, path: str) -> None:
        email = member.email.lower()
        role = self._check_role(member.role, path)
        known = into.get(email)
        if known is not None and known[0] != role:
            raise SpecError(
                f"{path}.role", member.role,
                f"{email} already has {known[0]} there (at {known[1]}); give one role",
            )
        into[email] = (role, path)

    def _binding_space(self, name: str, org: str | None, path: str) -> str:
        keys = [
            k for k, d in self.head_of.items() if d.name == name and org in (None, d.organization)
        ]
        if keys:
            return keys[0]
        # Additive: a binding may name a live space the files do not declare.
        for space in self.live.spaces:
            org_name = self.live.org_name(space.organization_id)
            if space.name == name and org in (None, org_name):
                key = f"{org_name}/{name}"
                self.space_of[key] = space
                self.head_of[key] = self._undeclared[key] = SpaceDecl(
                    name=name, organization=org_name, id=space.id
                )
                return key
        raise SpecError(f"{path}.space", name, "no such space in Arize; declare it under spaces")

    # -- space members ----------------------------------------------------------------------

    def _space_members(
        self, key: str, decl: SpaceDecl, wanted: dict[str, tuple[str, str]]
    ) -> None:
        space = self.space_of[key]
        org = self.org_by_name[decl.organization]
        have: dict[str, Binding] = {}
        if space is not None:
            for b in self.bindings_on[space.id]:
                have[b.user_id] = b
        for email, (role, path) in sorted(wanted.items()):
            user_id = self._user_known(email, path)
            current = have.pop(user_id, None) if user_id else None
            current_role = self._role_name(current.role_id) if current else None
            if current_role == role:
                continue
            member = (org.id, user_id or email)
            if member not in self.org_members:
                self.org_members.add(member)  # once per person and organization
                decl_user = self.user_decl.get(email)
                self.plan_.changes.append(
                    SetOrgRole(
                        target=f"{email} in {org.name}", org_id=org.id, email=email,
                        role=decl_user.org_role if decl_user else "MEMBER", stage=ORG_ROLES,
                        reason="first space in this organization",
                    )
                )
            narrows = current_role is not None and not _widens(current_role, role)
            self.plan_.changes.append(
                SetSpaceRole(
                    target=f"{email} in {decl.name}",
                    space=decl.name,
                    space_id=space.id if space else None,
                    email=email,
                    role=role,
                    custom=predefined_name(role) is None,
                    destructive=narrows,
                    stage=MEMBERS,
                    reason=f"from {current_role}" + (" (narrows access)" if narrows else "")
                    if current_role else "",
                )
            )
        owned = self.ownership.space_members is Ownership.AUTHORITATIVE
        if owned and key not in self._undeclared:
            for binding in have.values():
                self._unbind(binding, f"{self._email(binding.user_id)} from {decl.name}")

    def _unbind(self, binding: Binding, target: str) -> None:
        self.bindings_left[binding.user_id] -= 1
        last = self.bindings_left[binding.user_id] <= 0
        reason = "not declared"
        if last:
            reason += "; their last access: they stay in Arize (offboard-user deletes people)"
        self.plan_.changes.append(
            UnbindRole(
                target=target,
                binding_id=binding.id,
                user_id=binding.user_id,
                destructive=True,
                stage=REMOVALS,
                reason=reason,
            )
        )

    def _email(self, user_id: str) -> str:
        user = self.live.user_by_id.get(user_id)
        return user.email if user is not None else user_id

    # -- projects ---------------------------------------------------------------------------

    def _projects(
        self, key: str, decl: SpaceDecl, desired: _Desired, index: int | None
    ) -> None:
        space = self.space_of[key]
        live_projects = self.projects_in[space.id] if space else []
        by_id = {p.id: p for p in live_projects}
        by_name = {p.name: p for p in live_projects}
        declared = {p.name: p for p in decl.projects}
        names = list(declared) + [
            name for (k, name) in desired.project_bindings if k == key and name not in declared
        ]
        for j, name in enumerate(dict.fromkeys(names)):
            project_decl = declared.get(name)
            path = f"spaces[{index}].projects[{j}]" if project_decl and index is not None else key
            by_its_id = by_id.get(project_decl.id or "") if project_decl else None
            project = by_its_id or by_name.get(name)
            if project is None:
                raise SpecError(
                    f"{path}.name", name,
                    "no such project in the space: projects are created in Arize, not here; "
                    "projects there: " + listed(by_name),
                )
            self._project_bindings(
                project, decl, desired.project_bindings.get((key, name), {}),
                own=key not in self._undeclared,
            )
            if project_decl is not None:
                self._restriction(project, decl, project_decl.restricted)

    def _project_bindings(
        self, project: Project, decl: SpaceDecl, wanted: dict[str, tuple[str, str]], own: bool
    ) -> None:
        have = {b.user_id: b for b in self.bindings_on[project.id]}
        where = f"{decl.name}/{project.name}"
        for email, (role, path) in sorted(wanted.items()):
            user_id = self._user_known(email, path)
            current = have.pop(user_id, None) if user_id else None
            role_id = self._role_id(role)
            if current is not None and self._role_name(current.role_id) == role:
                continue
            if current is not None and role_id is not None:
                self.plan_.changes.append(
                    RebindRole(
                        target=f"{email} on {where}", binding_id=current.id, role_id=role_id,
                        destructive=True, stage=MEMBERS,
                        reason=f"from {self._role_name(current.role_id)} to {role}",
                    )
                )
                continue
            self.plan_.changes.append(
                BindRole(
                    target=f"{role} to {email} on {where}",
                    email=email,
                    role_id=role_id,
                    role=None if role_id else role,
                    resource_type="PROJECT",
                    resource_id=project.id,
                    stage=MEMBERS,
                )
            )
        if own and self.ownership.project_bindings is Ownership.AUTHORITATIVE:
            for binding in have.values():
                self._unbind(binding, f"{self._email(binding.user_id)} from {where}")

    def _restriction(self, project: Project, decl: SpaceDecl, restricted: bool) -> None:
        is_restricted = project.id in self.live.restricted
        where = f"{decl.name}/{project.name}"
        if restricted and not is_restricted:
            self.plan_.changes.append(
                RestrictProject(
                    target=where, project_id=project.id, space=decl.name, destructive=True,
                    stage=RESTRICT_AND_KEYS, reason="after its bindings: no lockout",
                )
            )
        elif (
            is_restricted and not restricted
            and self.ownership.restrictions is Ownership.AUTHORITATIVE
        ):
            self.plan_.changes.append(
                UnrestrictProject(
                    target=where, project_id=project.id, space=decl.name, destructive=True,
                    stage=REMOVALS, reason="not declared restricted; opens it to the space",
                )
            )

    # -- service keys -----------------------------------------------------------------------

    def _service_keys(self, key: str, decl: SpaceDecl, index: int | None) -> None:
        space = self.space_of[key]
        org = self.org_by_name[decl.organization]
        live_keys = self.keys_in[space.id] if space else []
        by_id = {k.id: k for k in live_keys}
        for j, key_decl in enumerate(decl.service_keys):
            path = f"spaces[{index or 0}].service_keys[{j}]"
            # Every live key of the declared name (and the declared id): the files declare one.
            same = {k.id: k for k in live_keys if k.name == key_decl.name}
            if key_decl.id in by_id:
                same.setdefault(key_decl.id, by_id[key_decl.id])
            for live_key in same.values():
                by_id.pop(live_key.id, None)
            if same:
                self._declared_key(key_decl, decl, space, list(same.values()), path)
                continue
            self.plan_.changes.append(
                CreateServiceKey(
                    target=f"{key_decl.name} in {decl.name}",
                    name=key_decl.name,
                    org_id=org.id,
                    space=decl.name,
                    space_id=space.id if space else None,
                    space_role=key_decl.role,
                    expires_in_days=_days_until(key_decl.expires_at, f"{path}.expires_at"),
                    description=key_decl.description,
                    stage=RESTRICT_AND_KEYS,
                )
            )
        owned = self.ownership.service_keys is Ownership.AUTHORITATIVE
        if owned and key not in self._undeclared:
            for live_key in by_id.values():
                self._revoke(live_key, decl, "not declared; service keys are authoritative")

    def _declared_key(
        self, key_decl: ServiceKeyDecl, decl: SpaceDecl, space: Space | None,
        same: list[ServiceApiKey], path: str,
    ) -> None:
        """A declared key that exists: in place, or replaced when its role or expiry differs.

        Arize sets a key's role and expiry at creation only (a refresh keeps both, and may
        only shorten the expiry). So a difference is planned as rotate-service-keys plans a
        replacement: a new key of the same name with the declared role and expiry, its
        secret stored in the key store, then the old key revoked (destructive: gated). A rerun
        after the replacement finds the new key as declared and revokes the old one.
        """
        space_id = space.id if space else ""
        as_declared = [k for k in same if not self._key_differences(k, key_decl, space_id)]
        if as_declared:
            keep = max(as_declared, key=lambda k: k.created_at)
            for old in same:
                if old.id != keep.id:
                    self._revoke(old, decl, f"replaced by the key {keep.redacted_key} of this "
                                 "name (the files declare one)")
            return
        current = next((k for k in same if k.id == key_decl.id), None) or max(
            same, key=lambda k: k.created_at
        )
        differences = self._key_differences(current, key_decl, space_id)
        why = None
        if key_decl.expires_at is None:
            why = "a replacement cannot be created without an expiry here; replace it by hand"
        elif not current.bot_user.name or not current.bot_user.organizations:
            why = "its bot user's roles cannot be read"
        if why is not None:
            self.plan_.notes.append(
                f"service key {key_decl.name} in {decl.name}: {'; '.join(differences)}; a key's "
                f"role and expiry are set at creation, and {why}"
            )
            return
        days = _days_until(key_decl.expires_at, f"{path}.expires_at")
        self.plan_.changes.append(
            ReplaceKey(
                target=f"{key_decl.name} in {decl.name}",
                api_key_id=current.id,
                name=key_decl.name,
                space=decl.name,
                description=key_decl.description or current.description,
                created_at=current.created_at,
                bot_user_id=current.bot_user.id,
                account_role=getattr(current.bot_user.account_role, "name", None) or "MEMBER",
                organizations=_with_space_role(current, space_id, key_decl.role),
                lifetime_seconds=(days or 0) * 86400,
                destructive=True,
                stage=RESTRICT_AND_KEYS,
                reason="replacement: " + "; ".join(differences) + " (set at creation only): a "
                "new key, its secret to the key store, then the old key revoked",
            )
        )
        for old in same:
            self._revoke(old, decl, f"replaced: {'; '.join(differences)}")

    def _key_differences(
        self, live_key: ServiceApiKey, key_decl: ServiceKeyDecl, space_id: str
    ) -> list[str]:
        """How a live key differs from its declaration in what only a new key can change."""
        differences = []
        role = _space_role_of(live_key, space_id)
        if role and role != key_decl.role:
            differences.append(f"role {role} → {key_decl.role}")
        live, declared = live_key.expires_at, key_decl.expires_at
        if (live is None) != (declared is None) or (
            live is not None and declared is not None and abs(live - declared) > EXPIRY_SLACK
        ):
            differences.append(f"expiry {_day(live)} → {_day(declared)}")
        return differences

    def _revoke(self, live_key: ServiceApiKey, decl: SpaceDecl, reason: str) -> None:
        self.plan_.changes.append(
            RevokeKey(
                target=f"{live_key.name} ({live_key.redacted_key}) in {decl.name}",
                api_key_id=live_key.id,
                name=live_key.name,
                key_type="SERVICE",
                destructive=True,
                stage=REMOVALS,
                reason=reason,
            )
        )

    # -- what the files do not manage -------------------------------------------------------

    def _unmanaged(self) -> None:
        managed_spaces = {s.id for s in self.space_of.values() if s is not None}
        groups = {
            "spaces": [
                f"{self.live.org_name(s.organization_id)}/{s.name}"
                for s in self.live.spaces
                if s.id not in managed_spaces
            ],
            "people": [
                u.email for u in self.live.users if u.email.lower() not in self.user_decl
            ],
            "custom roles": [
                r.name for r in self.live.roles
                if not r.is_predefined and r.name not in self.declared_roles
                and r.id not in self.renamed
            ],
        }
        for kind, names in groups.items():
            if names:
                shown = ", ".join(sorted(names)[:UNMANAGED_SHOWN])
                more = len(names) - UNMANAGED_SHOWN
                self.plan_.notes.append(
                    f"unmanaged {kind} ({len(names)}): {shown}"
                    + (f" and {more} more" if more > 0 else "")
                )


def _widens(before: str, after: str) -> bool:
    if before in _RANK and after in _RANK:
        return _RANK[after] >= _RANK[before]
    return False


def _days_until(moment: datetime | None, field_path: str) -> int | None:
    """Whole days from now to ``moment`` (rounded up: stable within a day, so the plan's hash
    is too); a moment in the past is a SpecError."""
    if moment is None:
        return None
    left = (moment - datetime.now(UTC)).total_seconds() / 86400
    if left <= 0:
        raise SpecError(
            field_path, str(moment), "that is in the past: give a future expiry, or none"
        )
    return math.ceil(left)


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment is not None else "never"


def _with_space_role(
    key: ServiceApiKey, space_id: str, role: str
) -> list[ServiceKeyOrgAssignment]:
    """The key's organization and space roles, with ``role`` in ``space_id``."""
    assignments = []
    for org in key.bot_user.organizations:
        data = org.model_dump(mode="json")
        for space in data["spaces"]:
            if space["space_id"] == space_id:
                space["role"] = {"type": "PREDEFINED", "name": role}
        assignments.append(ServiceKeyOrgAssignment.model_validate(data))
    return assignments


def _spaces_of(key: ServiceApiKey) -> set[str]:
    return {s.space_id for o in key.bot_user.organizations for s in o.spaces}


def _space_role_of(key: ServiceApiKey, space_id: str) -> str | None:
    for org in key.bot_user.organizations:
        for space in org.spaces:
            if space.space_id == space_id and space.role is not None:
                return predefined_name(getattr(space.role, "name", "") or "") or None
    return None
