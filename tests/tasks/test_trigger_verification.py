"""What a run says about a trigger it could not verify: a missing key is not a forgery.

Old main said "ignored an unsigned trigger claiming: okta…" on a worker without
ARIZE_RUNBOOKS_SERVICE_KEY, which reads as someone forging events.
"""

from __future__ import annotations

import pytest

from flows.engine import resolve_trigger
from tasks.triggers import Trigger

OKTA = Trigger(source="okta", event_id="ev-1", requested_by="it@acme.example")


def test_a_worker_without_the_key_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    signed = OKTA.signed()  # by the service, which has the key
    assert signed.signature
    monkeypatch.delenv("ARIZE_RUNBOOKS_SERVICE_KEY")

    line = resolve_trigger(signed).describe()

    assert "could not verify the trigger it was given (okta, event ev-1" in line
    assert "ARIZE_RUNBOOKS_SERVICE_KEY is not set on the worker" in line
    assert "unsigned" not in line and "forged" not in line


def test_an_unsigned_trigger_is_still_called_unsigned() -> None:
    line = resolve_trigger(OKTA).describe()

    assert "ignored an unsigned trigger claiming: okta, event ev-1" in line


def test_a_wrong_signature_is_called_forged() -> None:
    forged = OKTA.model_copy(update={"signature": "0" * 64})

    line = resolve_trigger(forged).describe()

    assert "ignored a forged trigger claiming: okta, event ev-1" in line


def test_a_signed_trigger_is_believed() -> None:
    assert resolve_trigger(OKTA.signed()).describe() == (
        "okta, event ev-1, requested by it@acme.example"
    )
