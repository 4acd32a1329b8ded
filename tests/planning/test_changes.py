"""Typed changes: one model per action, one step per model, a hash over the typed fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest
from pydantic import ValidationError

import flows.registry  # noqa: F401  (every runbook's own change models and steps register)
from arize_admin import InviteMode
from core.planning.changes import (
    CHANGE_MODELS,
    Action,
    Change,
    CreateSpace,
    InviteUser,
    RevokeKey,
    RotateKey,
)
from core.planning.plan import Plan
from tasks.steps.apply import STEPS, add_step, missing_steps
from tasks.steps.step import StepContext, StepResult


def test_every_action_has_one_model_and_every_model_one_step():
    assert set(Action) <= set(CHANGE_MODELS)
    assert missing_steps() == []
    assert set(STEPS) == set(CHANGE_MODELS)


def _plan() -> Plan:
    return Plan(
        runbook="offboard-user",
        subject="lee@acme.example",
        changes=[
            RevokeKey(target="lee's key", api_key_id="k1", name="laptop", key_type="USER",
                      destructive=True),
            RotateKey(target="ci", api_key_id="k2", name="ci", space="ml", grace_period_seconds=60,
                      expires_at=datetime(2030, 1, 1, tzinfo=UTC)),
            InviteUser(target="dana@acme.example", name="Dana", email="dana@acme.example",
                       account_role="MEMBER", invite_mode=InviteMode.EMAIL_LINK),
        ],
    )


def test_a_plan_read_back_from_json_has_the_same_models_and_hash():
    plan = _plan()

    again = Plan.model_validate_json(plan.model_dump_json())

    assert [type(c) for c in again.changes] == [RevokeKey, RotateKey, InviteUser]
    assert again.changes[1].expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert again.hash == plan.hash
    assert plan.model_dump(mode="json")["changes"][0]["api_key_id"] == "k1"


def test_the_hash_covers_every_typed_field():
    plan = _plan()
    moved = _plan()
    moved.changes[1] = moved.changes[1].model_copy(update={"grace_period_seconds": 61})

    assert moved.hash != plan.hash
    assert plan.diff(moved) == ["- rotate key ci", "+ rotate key ci"]


def test_a_change_with_a_missing_field_or_unknown_action_is_refused_naming_it():
    with pytest.raises(ValidationError) as missing:
        Plan(runbook="r", subject="s", changes=[{"action": "revoke-key", "target": "k"}])
    assert "changes.0.revoke-key.api_key_id" in str(missing.value).replace("\n", " ")

    with pytest.raises(ValidationError) as unknown:
        Plan(runbook="r", subject="s", changes=[{"action": "melt-account", "target": "all"}])
    assert "melt-account" in str(unknown.value)
    assert "revoke-key" in str(unknown.value)  # the message lists the actions there are

    with pytest.raises(ValidationError):
        CreateSpace(target="x", name="x", organization_id="o", params={"what": 1})


def test_a_runbook_module_can_add_an_action_and_its_step():
    class PingSpace(Change):
        action: Literal["ping-space-test"] = "ping-space-test"
        space_id: str

    async def ping(ctx: StepContext, change: PingSpace) -> StepResult:
        raise NotImplementedError

    async def wrong(ctx: StepContext, change: RevokeKey) -> StepResult:
        raise NotImplementedError

    try:
        with pytest.raises(TypeError, match="must take `change: PingSpace`"):
            add_step(PingSpace, wrong)
        assert "ping-space-test" in missing_steps()
        add_step(PingSpace, ping)
        plan = Plan(runbook="r", subject="s",
                    changes=[{"action": "ping-space-test", "target": "t", "space_id": "S1"}])
        assert isinstance(plan.changes[0], PingSpace)
        with pytest.raises(TypeError, match="already"):
            class Other(Change):
                action: Literal["ping-space-test"] = "ping-space-test"
    finally:
        CHANGE_MODELS.pop("ping-space-test", None)
        STEPS.pop("ping-space-test", None)
