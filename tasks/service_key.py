"""What the webhook service vouches for: HMAC signatures under a key only it and the flows hold.

The service signs the triggers it forwards and the Slack votes it records; the flow checks the
signature before it believes either. Anyone can type a trigger into a run's parameters or write
a run input through Prefect's API, but without the key the flow treats it as an unverified claim.
The key comes from ``ARIZE_RUNBOOKS_SERVICE_KEY`` in the environment of the webhook service and
of the workers; it never travels through Prefect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

ENV_VAR = "ARIZE_RUNBOOKS_SERVICE_KEY"


class ServiceKeyMissing(RuntimeError):
    """No service key is configured, so nothing can be signed or verified."""


def service_key(value: str | None = None) -> bytes | None:
    """The key bytes: ``value`` if given, else the environment's; ``None`` when unset."""
    raw = value if value is not None else os.environ.get(ENV_VAR)
    return raw.encode() if raw else None


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(purpose: str, payload: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``payload`` for ``purpose`` (``trigger``, ``vote``), hex.

    Raises:
        ServiceKeyMissing: no key was given and ``ARIZE_RUNBOOKS_SERVICE_KEY`` is unset.
    """
    key = key or service_key()
    if not key:
        raise ServiceKeyMissing(f"set {ENV_VAR} for the webhook service and the workers")
    message = purpose.encode() + b"\n" + _canonical(payload)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(purpose: str, payload: dict[str, Any], signature: str | None) -> bool:
    """Whether ``signature`` is this process's key's signature of ``payload``; False if unset."""
    key = service_key()
    if not key or not signature:
        return False
    return hmac.compare_digest(sign(purpose, payload, key), signature)
