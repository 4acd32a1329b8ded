"""The evidence API in process: the service's app on an open inbox, through ASGITransport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from core.evidence import SIGNATURE_HEADER, SIGNATURE_PURPOSE, EvidenceBatch, EvidenceRecord
from core.service_key import sign
from webhooks.app import create_app
from webhooks.evidence.store import EvidenceStore
from webhooks.inbox import Inbox
from webhooks.settings import Settings

SERVICE_KEY = "evidence-test-service-key-4c1b9e"


@contextlib.asynccontextmanager
async def evidence_api(
    inbox_url: str, sinks: Sequence[str] = ()
) -> AsyncIterator[tuple[httpx.AsyncClient, Inbox]]:
    """A client of the service's evidence routes, and the inbox they write to."""
    settings = Settings(environment="test", inbox_url=inbox_url, forwarder_enabled=False)
    app = create_app(settings)
    async with Inbox(inbox_url) as inbox:
        app.state.evidence_store = EvidenceStore(inbox, sinks)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
            yield client, inbox


def signed_batch(records: Sequence[EvidenceRecord]) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and headers a flow posts."""
    payload = EvidenceBatch(records=list(records)).model_dump(mode="json")
    return payload, {SIGNATURE_HEADER: sign(SIGNATURE_PURPOSE, payload, SERVICE_KEY.encode())}
