"""The policy's Slack app is ``slack`` (it was ``approvals``, one letter from ``approval``, the
rules); a policy saved under the old name still loads, with its Slack app."""

from __future__ import annotations

import uuid

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentCreate

from blocks.arize import ArizeCredentials
from blocks.policy import RunbookPolicy
from blocks.slack import SlackApprovals

OLD_SHAPE = {
    "credentials": {"api_key": "ak-old", "base_url": "http://127.0.0.1:9"},
    "approvals": {"bot_token": "xoxb-old", "channel": "#arize-approvals"},
    "approval": {"approver_emails": ["ada@acme.example"]},
}


def test_the_old_field_name_still_validates_into_slack() -> None:
    policy = RunbookPolicy.model_validate(OLD_SHAPE)
    assert policy.slack is not None and policy.slack.channel == "#arize-approvals"
    assert policy.approval.approver_emails == ["ada@acme.example"]
    # What is saved from now on uses the new name only.
    assert "slack" in policy.model_dump() and "approvals" not in policy.model_dump()


def test_the_new_field_name_is_what_constructs() -> None:
    slack = SlackApprovals(bot_token="xoxb-new", channel="#arize-approvals")
    policy = RunbookPolicy(credentials=ArizeCredentials(api_key="ak"), slack=slack)
    assert policy.slack is slack


async def test_a_policy_saved_under_the_old_name_loads_from_prefect(prefect_harness: str) -> None:
    await RunbookPolicy.aregister_type_and_schema()
    name = f"old-{uuid.uuid4().hex[:8]}"
    async with get_client() as client:
        block_type = await client.read_block_type_by_slug(RunbookPolicy.get_block_type_slug())
        schema = await client.get_most_recent_block_schema_for_block_type(block_type.id)
        assert schema is not None
        # The document as an earlier version saved it: the Slack app under "approvals".
        await client.create_block_document(
            BlockDocumentCreate(
                name=name,
                data=OLD_SHAPE,
                block_type_id=block_type.id,
                block_schema_id=schema.id,
            )
        )

    policy = await RunbookPolicy.aload(name)

    assert policy.slack is not None
    assert policy.slack.channel == "#arize-approvals"
    assert policy.slack.bot_token.get_secret_value() == "xoxb-old"
