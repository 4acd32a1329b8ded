"""Role bindings: ``/v2/role-bindings``, one per user and resource.

A SPACE binding is the user's space membership, so it is written through
:class:`~emulator.arize.resources.memberships.Memberships`.
"""

from __future__ import annotations

from emulator.arize.errors import Conflict, Forbidden, NotFound
from emulator.arize.ids import decode_id
from emulator.arize.models import RoleBinding, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.memberships import Memberships
from emulator.arize.store import Caller, mutation

__all__ = ["RoleBindings"]


class RoleBindings(Memberships):
    """Role binding operations on spaces and projects."""

    def _resource_for_binding(self, resource_type: str, resource_id: str) -> None:
        expected = "Space" if resource_type == "SPACE" else "Model"
        decode_id(resource_id, expected, field="resource_id")

    def list_role_bindings(
        self,
        caller: Caller,
        *,
        resource_type: str,
        user_id: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[RoleBinding]:
        """GET /v2/role-bindings: only bindings on resources the caller may read bindings of."""
        if user_id is not None:
            self._user(user_id)
        return self._page_table(
            "role_bindings",
            self.bindings,
            predicate=lambda b: (
                b.resource_type == resource_type
                and (user_id is None or b.user_id == user_id)
                and "ROLE_BINDING_READ"
                in self.resource_permissions(caller.user, b.resource_type, b.resource_id)
            ),
            limit=limit,
            cursor=cursor,
            filters={"resource_type": resource_type, "user_id": user_id},
        )

    def _binding_with(self, caller: Caller, binding_id: str, *needed: str) -> RoleBinding:
        decode_id(binding_id, "RoleBinding", field="binding_id")
        binding = self.bindings.get(binding_id)
        if binding is not None:
            perms = self.resource_permissions(
                caller.user, binding.resource_type, binding.resource_id
            )
            if all(p in perms for p in needed):
                return binding
        raise NotFound(f"Role binding '{binding_id}' not found.")

    def get_role_binding(self, caller: Caller, binding_id: str) -> RoleBinding:
        """GET /v2/role-bindings/{binding_id}: 404 (never 403) without ROLE_BINDING_READ."""
        return self._binding_with(caller, binding_id, "ROLE_BINDING_READ")

    @mutation("createRoleBinding", "POST /v2/role-bindings")
    def create_role_binding(
        self, caller: Caller, *, user_id: str, role_id: str, resource_type: str, resource_id: str
    ) -> RoleBinding:
        """POST /v2/role-bindings: one per (user, resource); 403 also for an unknown resource."""
        self._resource_for_binding(resource_type, resource_id)
        decode_id(user_id, "User", field="user_id")
        decode_id(role_id, "Role", field="role_id")
        perms = self.resource_permissions(caller.user, resource_type, resource_id)
        if "ROLE_BINDING_CREATE" not in perms:
            raise Forbidden("You need ROLE_BINDING_CREATE on this resource.")
        user = self._user(user_id)
        role = self._role(role_id)
        if self.binding_on(user.id, resource_id) is not None:
            raise Conflict(
                "The user already has a role binding on this resource; update it instead."
            )
        if resource_type == "SPACE":
            # A SPACE binding is the user's space membership (see _upsert_space_member).
            self._upsert_space_member(user, self.spaces[resource_id], self.assignment_for(role))
            return self.binding_on(user.id, resource_id)  # type: ignore[return-value]
        return self.add_binding(user.id, role.id, resource_type, resource_id)

    @mutation("updateRoleBinding", "PATCH /v2/role-bindings/{binding_id}")
    def update_role_binding(self, caller: Caller, binding_id: str, *, role_id: str) -> RoleBinding:
        """PATCH /v2/role-bindings/{binding_id}: ROLE_BINDING_CREATE and _DELETE, else 404."""
        binding = self._binding_with(
            caller, binding_id, "ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE"
        )
        role = self._role(role_id)
        if binding.resource_type == "SPACE":
            user = self.users[binding.user_id]
            self._upsert_space_member(
                user, self.spaces[binding.resource_id], self.assignment_for(role)
            )
        binding.role_id, binding.updated_at = role.id, utcnow()
        return binding

    @mutation("deleteRoleBinding", "DELETE /v2/role-bindings/{binding_id}")
    def delete_role_binding(self, caller: Caller, binding_id: str) -> None:
        """DELETE /v2/role-bindings/{binding_id}: needs ROLE_BINDING_DELETE (else 404)."""
        binding = self._binding_with(caller, binding_id, "ROLE_BINDING_DELETE")
        if binding.resource_type == "SPACE":
            self._remove_from_space(self.users[binding.user_id], self.spaces[binding.resource_id])
        self.bindings.pop(binding.id, None)
