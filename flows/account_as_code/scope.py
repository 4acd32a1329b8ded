"""The scope the files manage, as every runbook's report compares its changes against it.

``apply-account`` and ``detect-drift`` publish it (``tasks.reporting.managed_scope``) each
run: names and ids of the managed spaces and their projects, the declared custom roles, the
ownership modes and where the files come from. Nothing about people or keys is published.
"""

from __future__ import annotations

from flows.account_as_code.format import AccountSpec
from flows.account_as_code.live import LiveAccount
from flows.account_as_code.plan import RUNBOOK
from tasks.reporting.managed_scope import ManagedScope, ManagedSpace


def managed_scope(spec: AccountSpec, source: str, live: LiveAccount | None = None) -> ManagedScope:
    """The scope of ``spec``; ``live`` (when read anyway) fills in ids the files leave out."""
    spaces: dict[tuple[str, str], ManagedSpace] = {}
    for decl in spec.spaces:
        spaces[(decl.organization, decl.name)] = ManagedSpace(
            name=decl.name, organization=decl.organization, id=decl.id,
            project_ids=[p.id for p in decl.projects if p.id],
        )
    for binding in spec.bindings:  # a team's file binding people on a space it does not declare
        key = (binding.organization or "", binding.space)
        if not any(name == binding.space for _, name in spaces):
            spaces[key] = ManagedSpace(name=binding.space, organization=binding.organization or "")
    if live is not None:
        by_name = {(live.org_name(s.organization_id), s.name): s for s in live.spaces}
        projects: dict[str, list[str]] = {}
        for project in live.projects:
            projects.setdefault(project.space_id, []).append(project.id)
        for (org, name), managed in spaces.items():
            space = live.space_by_id.get(managed.id or "") or by_name.get((org, name)) or next(
                (s for (o, n), s in by_name.items() if n == name and not org), None
            )
            if space is not None:
                managed.id = space.id
                managed.project_ids = sorted({*managed.project_ids, *projects.get(space.id, [])})
    return ManagedScope(
        source=source,
        publisher=RUNBOOK,
        ownership={kind: str(mode) for kind, mode in spec.ownership},
        spaces=sorted(spaces.values(), key=lambda s: (s.organization, s.name)),
        roles=sorted(r.name for r in spec.roles),
        role_ids=sorted(r.id for r in spec.roles if r.id),
    )
