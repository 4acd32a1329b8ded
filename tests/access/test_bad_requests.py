"""Bad requests are refused with the field and the fix, and change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cli.approvals import GateNotAnswered, answer_gate
from core.planning.plan import SpecError
from flows.time_bound_access.grant import GrantResult, grant_temporary_access
from flows.time_bound_access.policy import TemporaryAccessPolicy
from tasks.triggers import Trigger, TriggerSource
from tests.access.conftest import APPROVER, GRANT_FLOW, REQUESTER, grant, spec
from tests.fixtures.runbooks import mutation_count, wait_for_paused_run


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        ({"duration": 9 * 3600}, "duration", "at most 8h"),
        ({"role": "ADMIN", "project": None}, "role", "may not be granted temporarily"),
        ({"space": "no-such-space"}, "space", "no space of that name"),
        ({"project": "no-such-project"}, "project", "no project of that name"),
        ({"role": "No Such Role"}, "role", "no role of that name"),
        ({"email": "nobody@acme.example"}, "email", "no Arize user"),
    ],
)
async def test_refused_before_anything_changes(arize, runbook_policy, changes, field, fix):
    with pytest.raises(SpecError) as refused:
        await grant_temporary_access(spec=spec(**changes))

    assert refused.value.field == field and fix in refused.value.fix
    assert mutation_count(arize) == 0


async def test_saved_policy_sets_the_maximum(arize, runbook_policy):
    await TemporaryAccessPolicy(max_duration=timedelta(minutes=30)).asave(
        "short", overwrite=True
    )
    with pytest.raises(SpecError, match="at most 30m"):
        await grant_temporary_access(spec=spec(duration=3600), access_policy="short")


@pytest.mark.parametrize("who", ["sam@acme.example", REQUESTER])
async def test_grantee_and_requester_may_not_approve(arize, runbook_policy, who):
    # Both are approvers by policy: only the subject and requester rules can refuse them.
    runbook_policy.approval.approver_emails += ["sam@acme.example", REQUESTER]
    await runbook_policy.asave("default", overwrite=True)
    since = datetime.now(UTC)
    run = asyncio.create_task(
        grant_temporary_access(
            spec=spec(), trigger=Trigger(source=TriggerSource.MANUAL, requested_by=REQUESTER)
        )
    )
    paused = await wait_for_paused_run(GRANT_FLOW, since)
    with pytest.raises(GateNotAnswered, match="refused"):
        await answer_gate(paused.id, approved=True, approver=who)
    assert mutation_count(arize) == 0
    await answer_gate(paused.id, approved=False, approver=APPROVER, comment="not needed")
    outcome = await run
    assert outcome.result is GrantResult.REJECTED and "refused" in outcome.message
    assert mutation_count(arize) == 0


async def test_rejected_request_grants_nothing(arize, runbook_policy):
    outcome = await grant(spec(), approved=False)
    assert outcome.result is GrantResult.REJECTED and outcome.grant_id is None
    assert mutation_count(arize) == 0
