"""The runbooks, one flow per module; ``RUNBOOKS`` maps each runbook's name to its flow."""

from flows.offboard_user.flow import offboard_user
from flows.onboard_team.flow import onboard_team
from flows.restrict_project.flow import restrict_project
from flows.rotate_service_keys.flow import rotate_service_keys
from flows.saml_role_mapping.flow import saml_role_mapping

RUNBOOKS = {
    "onboard-team": onboard_team,
    "saml-role-mapping": saml_role_mapping,
    "restrict-project": restrict_project,
    "rotate-service-keys": rotate_service_keys,
    "offboard-user": offboard_user,
}
"""Runbook name (the flow's and the deployment's name) → flow."""

__all__ = [
    "RUNBOOKS",
    "offboard_user",
    "onboard_team",
    "restrict_project",
    "rotate_service_keys",
    "saml_role_mapping",
]
