"""What ``arize-runbooks doctor`` reports about the SCIM endpoint: its settings, and whether
the routing file gives the IdP's leavers and joiners a runbook."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from webhooks.routing import Router
from webhooks.scim.settings import ScimSettings

#: Events whose absence from the routing file leaves a leaver with access.
_LEAVER_EVENTS = ("user.deactivated", "user.deleted")


@dataclass(frozen=True)
class Finding:
    """One doctor row: ``ok`` False is a failure, None a note (skipped)."""

    ok: bool | None
    detail: str
    fix: str = ""


def scim_findings(router: Router | None) -> list[Finding]:
    """The SCIM settings as read from the environment, and the routes of ``scim`` events."""
    try:
        settings = ScimSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = f"ARIZE_RUNBOOKS_SCIM_{'_'.join(str(p) for p in error['loc']).upper()}"
        return [Finding(False, f"{variable}: {error['msg']}", f"correct {variable}")]
    if not settings.enabled:
        return [Finding(None, "disabled (ARIZE_RUNBOOKS_SCIM_ENABLED=false): /scim/v2 is 404")]
    found = [
        Finding(
            True,
            f"/scim/v2 on; groups of at most {settings.max_members} members; bodies up to "
            f"{settings.max_body_bytes} bytes",
            "",
        )
    ]
    if router is None:
        return found
    routed = {
        event_type
        for route in router.config.routes
        if route.source == "scim"
        for event_type in route.event_types
    }
    if not routed:
        found.append(Finding(None, "no scim routes: SCIM changes are stored but start no runbook"))
        return found
    missing = [event for event in _LEAVER_EVENTS if event not in routed and "*" not in routed]
    if missing:
        # Routing SCIM but not its leavers is the one setup that leaves access behind.
        found.append(
            Finding(
                False,
                f"no route for scim {', '.join(missing)}: those leavers keep their access",
                "route them to offboard-user (examples/routing-scim.yaml)",
            )
        )
    return found
