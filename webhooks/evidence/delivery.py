"""The forwarder's second kind of outbox row: an OCSF evidence event for one SIEM sink.

Rows with source :data:`~webhooks.evidence.store.SIEM_SOURCE` name their sink in
``event_type`` and hold the event as their payload. Delivered rows are marked forwarded;
transient failures are retried with the forwarder's backoff for as long as the SIEM is away
(never dead for that: an outage of any length loses nothing); permanent ones are dead letters.
"""

from __future__ import annotations

from collections.abc import Sequence

from webhooks.evidence.sinks import DeliveryFailed, Sink
from webhooks.inbox_records import InboxEvent


class SiemDelivery:
    """Sends outbox rows to their sink.

    Args:
        sinks: The configured sinks, by their ``name``.
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = {sink.name: sink for sink in sinks}

    async def deliver(self, event: InboxEvent) -> None:
        """Send one row's event to its sink.

        Raises:
            DeliveryFailed: not delivered; ``transient`` says whether to retry.
        """
        sink = self.sinks.get(event.event_type)
        if sink is None:
            raise DeliveryFailed(
                f"SIEM sink {event.event_type!r} is not configured in this service: set its "
                "ARIZE_RUNBOOKS_SIEM_* variables, then `arize-runbooks inbox replay`",
                transient=False,
            )
        payload = event.payload
        key = str(payload.get("metadata", {}).get("uid", event.event_id))
        await sink.send(payload, key)

    async def close(self) -> None:
        """Close every sink."""
        for sink in self.sinks.values():
            await sink.close()
