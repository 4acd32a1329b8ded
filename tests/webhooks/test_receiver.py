"""The events of one delivery share a group commit: order, duplicates within the delivery,
and an invalid event after valid ones, on both inbox backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.webhooks import ROUTING_EXAMPLE
from tests.webhooks.conftest import uid
from webhooks.errors import UnprocessablePayload
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus
from webhooks.receiver import EventDraft, accept
from webhooks.routing import Router


def _offboard(event_id: str) -> EventDraft:
    payload: dict[str, Any] = {
        "type": "runbook.offboard-user",
        "data": {"spec": {"email": f"{event_id}@acme.example", "reason": "test"}},
    }
    return EventDraft(event_id=event_id, event_type="runbook.offboard-user", payload=payload)


async def test_events_of_one_delivery_keep_their_order_and_a_repeat_is_a_duplicate(
    inbox_url: str,
) -> None:
    first, second = uid("e"), uid("e")
    unroutable = EventDraft(event_id=uid("e"), event_type="nothing.routes.this", payload={})
    drafts = [_offboard(first), unroutable, _offboard(second), _offboard(first)]
    async with Inbox(inbox_url) as inbox:
        receipt = await accept(
            source="generic",
            drafts=drafts,
            headers={},
            inbox=inbox,
            router=Router.from_file(ROUTING_EXAMPLE),
            forwarder=None,
        )
        counts = await inbox.counts()
    assert receipt.status == "accepted"
    assert [e.event_id for e in receipt.events] == [d.event_id for d in drafts]
    assert [e.status for e in receipt.events] == ["pending", "dead", "pending", "duplicate"]
    assert receipt.events[0].inbox_id == receipt.events[3].inbox_id
    assert receipt.events[1].reason
    assert counts[EventStatus.PENDING] == 2 and counts[EventStatus.DEAD] == 1


async def test_an_invalid_event_fails_the_delivery_after_storing_the_events_before_it(
    inbox_url: str,
) -> None:
    stored = uid("e")
    drafts = [_offboard(stored), _offboard(""), _offboard(uid("e"))]
    async with Inbox(inbox_url) as inbox:
        with pytest.raises(UnprocessablePayload):
            await accept(
                source="generic",
                drafts=drafts,
                headers={},
                inbox=inbox,
                router=Router.from_file(ROUTING_EXAMPLE),
                forwarder=None,
            )
        assert [e.event_id for e in await inbox.list()] == [stored]
