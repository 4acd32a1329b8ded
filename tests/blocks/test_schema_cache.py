"""Each block's JSON schema is generated once per process and handed out as a copy: the same
schema Prefect would build, the same checksum, a caller's edits never reaching the next one,
and serializing a block with its secrets no longer rebuilding it per field."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.blocks.core import Block

from blocks import ArizeCredentials, ArizeKeyStore, RunbookPolicy, SlackApprovals
from core.approvals.rules import ApprovalPolicy

BLOCKS = [RunbookPolicy, ArizeCredentials, ArizeKeyStore, SlackApprovals]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.__name__)
def test_the_schema_is_prefects_own_and_each_caller_gets_a_copy(block: type[Block]) -> None:
    prefects = Block.model_json_schema.__func__(block)  # type: ignore[attr-defined]
    first = block.model_json_schema()
    assert first == prefects
    first["properties"].clear()  # Prefect edits what it is handed (the checksum pops keys)
    assert block.model_json_schema() == prefects
    assert block._calculate_schema_checksum() == Block._calculate_schema_checksum.__func__(  # type: ignore[attr-defined]
        block, prefects
    )


def test_saving_with_secrets_builds_each_schema_once(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key="k" * 20, base_url="http://127.0.0.1:1"),
        key_store=ArizeKeyStore(prefix="test"),
        approval=ApprovalPolicy(timeout_seconds=60, approver_emails=["a@acme.example"]),
    )
    built: list[str] = []
    generate = Block.model_json_schema.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Block], *args: Any) -> dict[str, Any]:
        built.append(cls.__name__)
        return generate(cls, *args)

    from blocks import schema_cache

    monkeypatch.setattr(schema_cache, "_SCHEMAS", {})
    monkeypatch.setattr(Block, "model_json_schema", classmethod(counted))
    for _ in range(3):
        dumped = policy.model_dump(context={"include_secrets": True})
    assert dumped["credentials"]["api_key"] == "k" * 20
    assert sorted(built) == sorted(set(built)), built  # none built twice
    assert "RunbookPolicy" in built
