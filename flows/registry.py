"""Every runbook, once: its flow, spec, planner, example, deployment and what it may destroy.

The CLI's choices and help, the demo's order, the webhook tests' stand-in flows and the shared
runbook test suite all read this list; a fast test checks it against prefect.yaml and
examples/. Adding a runbook means adding one `Runbook` record here (docs/adding-a-runbook.md).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from prefect import Flow

from core.planning.changes import Action
from core.planning.context import Planner
from core.planning.specs import SpecModel
from flows.access_review.flow import access_review
from flows.access_review.plan import plan_access_review
from flows.access_review.spec import AccessReviewSpec
from flows.account_as_code.flow import apply_account
from flows.account_as_code.format import AccountSpec
from flows.account_as_code.plan import plan_account
from flows.offboard_user.flow import offboard_user
from flows.offboard_user.plan import plan_offboard_user
from flows.offboard_user.spec import OffboardUserSpec
from flows.onboard_team.flow import onboard_team
from flows.onboard_team.plan import plan_onboard_team
from flows.onboard_team.spec import OnboardTeamSpec
from flows.restore_user.flow import restore_user
from flows.restore_user.plan import plan_restore_user
from flows.restore_user.spec import RestoreUserSpec
from flows.restrict_project.flow import restrict_project
from flows.restrict_project.plan import plan_restrict_project
from flows.restrict_project.spec import RestrictProjectSpec
from flows.rotate_service_keys.flow import rotate_service_keys
from flows.rotate_service_keys.plan import plan_rotate_service_keys
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
from flows.saml_role_mapping.flow import saml_role_mapping
from flows.saml_role_mapping.plan import plan_saml_role_mapping
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from flows.time_bound_access.grant import grant_temporary_access
from flows.time_bound_access.plan import plan_grant
from flows.time_bound_access.spec import GrantTemporaryAccessSpec
from flows.update_user_profile.flow import update_user_profile
from flows.update_user_profile.plan import plan_update_user_profile
from flows.update_user_profile.spec import UpdateUserProfileSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
"""One example spec per runbook, ``examples/<name>.yaml``."""


def entrypoint_of(flow: Flow[..., Any]) -> str:
    """A flow's entrypoint as prefect.yaml writes it: file from the repository, function."""
    path = Path(inspect.getfile(flow.fn)).resolve().relative_to(ROOT)
    return f"{path.as_posix()}:{flow.fn.__name__}"


@dataclass(frozen=True)
class Deployment:
    """The runbook's entry in prefect.yaml (the work pool is the same for every runbook)."""

    description: str
    tags: tuple[str, ...]
    cron: str | None = None
    """Weekly, daily…: a cron in UTC; none: runs only when triggered."""
    concurrency_limit: int | None = None
    collision_strategy: Literal["ENQUEUE", "CANCEL_NEW"] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    """Defaults of the UI's custom-run form (the schedule's runs use them too)."""
    schedule_active: bool = True
    """False: the schedule is declared in prefect.yaml but off until an admin turns it on."""
    schedule_parameters: dict[str, Any] = field(default_factory=dict)
    """What the schedule's runs pass on top of ``parameters`` (a dry run, say)."""


@dataclass(frozen=True)
class Runbook:
    """One runbook: everything the CLI, the demo, the deployments and the tests need to know."""

    name: str
    """The flow's, the deployment's and the example's name."""
    summary: str
    """One line, for help texts."""
    flow: Flow[..., Any]
    spec: type[SpecModel]
    planner: Planner[Any, Any]
    """The read-only planner, ``planner(client, spec, context)``; it runs without Prefect."""
    destructive: frozenset[str]
    """Actions this runbook may plan as destructive (they wait for an approval)."""
    deployment: Deployment
    in_demo: bool = True
    """Whether ``arize-runbooks demo`` runs it start to finish; not one that waits on people for
    days, or on deployments the demo does not create."""
    demo_spec: dict[str, Any] = field(default_factory=dict)
    """Example fields the demo changes so the run finishes in seconds (deadlines, say)."""

    @property
    def module(self) -> str:
        """The runbook's name as a Python identifier (``onboard_team``)."""
        return self.name.replace("-", "_")

    @property
    def entrypoint(self) -> str:
        """The flow's entrypoint as prefect.yaml writes it: file from the repository, function."""
        return entrypoint_of(self.flow)

    @property
    def example_path(self) -> Path:
        return EXAMPLES / f"{self.name}.yaml"

    def example(self, **changes: Any) -> SpecModel:
        """The example spec, validated, with top-level fields replaced by ``changes``."""
        data = yaml.safe_load(self.example_path.read_text())
        return self.spec.model_validate({**data, **changes})


REGISTRY: tuple[Runbook, ...] = (
    Runbook(
        name="onboard-team",
        summary="Space, custom roles, invitations, org and space roles, a CI service key.",
        flow=onboard_team,
        spec=OnboardTeamSpec,
        planner=plan_onboard_team,
        destructive=frozenset({Action.UPDATE_ROLE, Action.SET_SPACE_ROLE}),
        deployment=Deployment(
            description="Onboard a team from a ticket or the UI.", tags=("arize", "jml")
        ),
    ),
    Runbook(
        name="saml-role-mapping",
        summary="Custom roles as code per IdP group and the ordered SAML rules in Arize.",
        flow=saml_role_mapping,
        spec=SamlRoleMappingSpec,
        planner=plan_saml_role_mapping,
        destructive=frozenset(
            {
                Action.UPDATE_ROLE,
                Action.DELETE_ROLE,
                # A rule change is destructive when it takes a role away from a group or
                # replaces one (an added rule can, by winning a first match).
                Action.ADD_SAML_ROLE_MAPPING,
                Action.UPDATE_SAML_ROLE_MAPPING,
                Action.REMOVE_SAML_ROLE_MAPPING,
                Action.UNBIND_ROLE,  # revoke_excess
            }
        ),
        deployment=Deployment(
            description="Custom roles as code for the IdP's SAML groups.",
            tags=("arize", "rbac"),
            # Daily drift check: a dry run that posts to Slack when Arize differs from the
            # spec. Off until an admin puts the account's spec in prefect.yaml and turns it on.
            cron="0 7 * * *",
            schedule_active=False,
            schedule_parameters={"dry_run": True, "report_drift_to_slack": True},
        ),
    ),
    Runbook(
        name="restrict-project",
        summary="Restrict a project to named people, bound before restricting: no lockout.",
        flow=restrict_project,
        spec=RestrictProjectSpec,
        planner=plan_restrict_project,
        destructive=frozenset(
            {Action.RESTRICT_PROJECT, Action.UNBIND_ROLE, Action.REBIND_ROLE}
        ),
        deployment=Deployment(
            description="Restrict a project to named people without a lockout window.",
            tags=("arize", "rbac"),
        ),
    ),
    Runbook(
        name="rotate-service-keys",
        summary="Refresh due service keys with a grace period; store and prove the new value.",
        flow=rotate_service_keys,
        spec=RotateServiceKeysSpec,
        planner=plan_rotate_service_keys,
        destructive=frozenset({Action.REVOKE_KEY}),
        deployment=Deployment(
            description="Weekly rotation of service keys past policy.",
            tags=("arize", "keys"),
            cron="0 6 * * 1",
            concurrency_limit=1,
            collision_strategy="CANCEL_NEW",
            parameters={
                "spec": {
                    "max_age_days": 90,
                    "expiring_within_days": 14,
                    "grace_period_seconds": 3600,
                }
            },
        ),
    ),
    Runbook(
        name="offboard-user",
        summary="Inventory a leaver's access, revoke their keys, delete them, keep the record.",
        flow=offboard_user,
        spec=OffboardUserSpec,
        planner=plan_offboard_user,
        destructive=frozenset(
            {Action.REVOKE_KEY, Action.DELETE_USER, Action.UNBIND_ROLE, "leave-organization"}
        ),
        deployment=Deployment(
            description="Offboard a leaver from an HR or identity webhook.",
            tags=("arize", "jml"),
            # No deployment concurrency limit: its slot is a lease the run renews for the whole
            # run, approval hold included, and a restarted single Prefect server forgets it
            # (410 Gone crashed a held leaver). The arize-api rate limit still protects Arize.
        ),
    ),
    Runbook(
        name="access-review",
        summary="Quarterly review of every grant: Keep / Revoke by its reviewers, then revoke.",
        flow=access_review,
        spec=AccessReviewSpec,
        planner=plan_access_review,
        destructive=frozenset({Action.UNBIND_ROLE, Action.REVOKE_KEY, Action.DELETE_USER}),
        deployment=Deployment(
            description="Quarterly access review with Keep / Revoke by the responsible reviewers.",
            tags=("arize", "review"),
            cron="0 9 1-7 1,4,7,10 1",
            concurrency_limit=1,
            collision_strategy="ENQUEUE",
        ),
        # In the demo nobody answers: each reviewer is reminded, the channel is told, and
        # every grant is kept and flagged, within seconds instead of weeks.
        demo_spec={"decision_seconds": 3, "reminder_seconds": 2, "escalation_seconds": 2},
    ),
    Runbook(
        name="grant-temporary-access",
        summary="A role on a space or project for a few hours, approved, revoked on time.",
        flow=grant_temporary_access,
        spec=GrantTemporaryAccessSpec,
        planner=plan_grant,
        destructive=frozenset({Action.BIND_ROLE, Action.REBIND_ROLE}),
        deployment=Deployment(
            description="Time-bound access, requested in Slack or the UI, revoked at expiry.",
            tags=("arize", "access"),
        ),
        in_demo=False,  # schedules its revoke through a deployment the demo does not create
    ),
    Runbook(
        name="apply-account",
        summary="The account's spaces, roles, people, bindings and keys from YAML files.",
        flow=apply_account,
        spec=AccountSpec,
        planner=plan_account,
        destructive=frozenset({
            Action.UPDATE_ROLE, Action.SET_SPACE_ROLE, Action.REBIND_ROLE, Action.UNBIND_ROLE,
            Action.DELETE_ROLE, Action.RESTRICT_PROJECT, Action.REVOKE_KEY, "unrestrict-project",
        }),
        deployment=Deployment(
            description="Apply the account-as-code files (CI or GitOps triggers it on merge).",
            tags=("arize", "account-as-code"),
            concurrency_limit=1,
            collision_strategy="ENQUEUE",
        ),
        in_demo=False,  # the demo's runbooks change the account the example files describe
    ),
    Runbook(
        name="update-user-profile",
        summary="Give an Arize user the display name their identity provider has.",
        flow=update_user_profile,
        spec=UpdateUserProfileSpec,
        planner=plan_update_user_profile,
        destructive=frozenset(),  # a rename takes nothing away: never gated
        deployment=Deployment(
            description="Rename a user from an identity provider's profile change (SCIM).",
            tags=("arize", "jml"),
        ),
    ),
    Runbook(
        name="restore-user",
        summary="Give a reactivated person what they had when they left, minus what was revoked.",
        flow=restore_user,
        spec=RestoreUserSpec,
        planner=plan_restore_user,
        # Gated when the spec asks (require_approval, the default): access coming back.
        destructive=frozenset({Action.SET_ORG_ROLE, Action.SET_SPACE_ROLE, Action.BIND_ROLE}),
        deployment=Deployment(
            description="Restore a reactivated person's access from their snapshot (SCIM).",
            tags=("arize", "jml"),
        ),
        in_demo=False,  # needs an access snapshot, which an offboarding with a kept account takes
    ),
)
"""Every runbook, in the order the demo runs them (each builds on the one before)."""

BY_NAME: dict[str, Runbook] = {runbook.name: runbook for runbook in REGISTRY}


def get(name: str) -> Runbook:
    """The runbook called ``name``.

    Raises:
        KeyError: naming the runbooks there are.
    """
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no runbook {name!r}; choose one of {', '.join(BY_NAME)}") from None


def help_text() -> str:
    """The runbooks, one paragraph each (name: summary), for CLI help."""
    return "\n\n".join(f"{r.name}: {r.summary}" for r in REGISTRY)


RUNBOOKS: dict[str, Flow[..., Any]] = {runbook.name: runbook.flow for runbook in REGISTRY}
"""Runbook name (the flow's and the deployment's name) → flow."""
