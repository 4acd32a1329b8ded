"""The drift check's schedule: declared in prefect.yaml as the registry says, off by default,
a dry run that reports to Slack, on a spec that validates and mirrors the example's rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.planning.changes import RemoveSamlRoleMapping
from core.planning.plan import Plan
from flows.registry import EXAMPLES, get
from flows.saml_role_mapping.drift import MAX_LINES, drift_text
from flows.saml_role_mapping.flow import saml_role_mapping
from flows.saml_role_mapping.spec import SamlRoleMappingSpec

ROOT = Path(__file__).parents[2]


def _entry() -> dict:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return next(d for d in deployments if d["name"] == "saml-role-mapping")


def test_the_drift_schedule_is_declared_off_and_runs_a_dry_run_that_reports():
    record = get("saml-role-mapping").deployment
    (schedule,) = _entry()["schedules"]

    assert schedule["cron"] == record.cron
    assert schedule["active"] is False and record.schedule_active is False
    parameters = dict(schedule["parameters"])
    spec = SamlRoleMappingSpec.model_validate(parameters.pop("spec"))
    assert parameters == record.schedule_parameters == {
        "dry_run": True,
        "report_drift_to_slack": True,
    }
    assert set(parameters) <= set(saml_role_mapping.parameters.properties)
    example = yaml.safe_load((EXAMPLES / "saml-role-mapping.yaml").read_text())
    assert [r.model_dump() for r in spec.rules] == [
        r.model_dump() for r in SamlRoleMappingSpec.model_validate(example).rules
    ]


def test_the_drift_message_lists_changes_and_stays_short():
    changes = [
        RemoveSamlRoleMapping(
            target=f"SAML rule {n} (g{n})", idp_id="i", mapping_id=f"m{n}", was="g → x",
            destructive=True,
        )
        for n in range(MAX_LINES + 5)
    ]
    plan = Plan(runbook="saml-role-mapping", subject="custom roles", changes=changes)
    plan.notes = ["drift: 25 SAML rule(s) in Arize differ from the spec", "group g0 loses: x"]

    text = drift_text(plan)

    assert text.startswith(f"saml-role-mapping drift: {MAX_LINES + 5} change(s)")
    assert f", {len(changes)} needing approval):" in text
    assert "• remove saml role mapping SAML rule 0 (g0)" in text
    assert "SAML rule 24" not in text and "… and 5 more" in text
    assert "• drift: 25 SAML rule(s)" in text and "loses" not in text
