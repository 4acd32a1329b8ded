"""A large plan is logged in part (the run's log stays readable) and published whole."""

from __future__ import annotations

import logging

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from arize_admin import InviteMode
from core.planning.changes import InviteUser
from core.planning.plan import Plan
from tasks.reporting.report import LOGGED_PLAN_LINES, publish_plan


@flow
async def publish(plan: Plan) -> str:
    return await publish_plan(plan)


async def test_a_large_plan_logs_its_head_and_publishes_every_change(
    caplog: pytest.LogCaptureFixture, prefect_harness: str
) -> None:
    caplog.set_level(logging.INFO)
    emails = [f"person{i:04d}@acme.example" for i in range(LOGGED_PLAN_LINES + 50)]
    plan = Plan(runbook="onboard-team", subject="Acme/log-cap")
    plan.changes = [
        InviteUser(target=e, name=e, email=e, account_role="MEMBER",
                   invite_mode=InviteMode.EMAIL_LINK, stage=1)
        for e in emails
    ]

    text = await publish(plan)

    assert all(e in text for e in emails), "the task returns the whole plan"
    logged = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("plan:"))
    assert emails[0] in logged
    assert emails[-1] not in logged
    assert "51 more line(s) in the plan artifact" in logged  # the header is line one
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["plan-onboard-team-acme-log-cap"])
            ),
        )
    assert artifacts, "the plan artifact was published"
    assert all(e in artifacts[0].data for e in emails)
