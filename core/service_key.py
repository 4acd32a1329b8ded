"""What the webhook service vouches for: HMAC signatures under a key only it and the flows hold.

The service signs the triggers it forwards and the Slack votes it records; the flow checks the
signature before it believes either. Anyone can type a trigger into a run's parameters or write
a run input through Prefect's API, but without the key the flow treats it as an unverified claim.
The key comes from ``ARIZE_RUNBOOKS_SERVICE_KEY`` (read through :class:`config.RunbooksSettings`)
in the environment of the webhook service and of the workers, where ``arize-runbooks setup``'s
env file puts it; it never travels through Prefect. Each process publishes only its
:func:`key_fingerprint`, so ``doctor`` can tell whether they hold the same key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from typing import Any

from config.settings import ENV_PREFIX, RunbooksSettings, env_name, fingerprint

ENV_VAR = env_name("service_key")
#: The variables ``RunbooksSettings`` reads: its prefix, and ``SLACK_BOT_TOKEN``'s alias.
_READ_PREFIXES = (ENV_PREFIX, "SLACK_")


class ServiceKeyMissing(RuntimeError):
    """No service key is configured, so nothing can be signed or verified."""


def service_key(value: str | None = None) -> bytes | None:
    """The key bytes: ``value`` if given, else the settings'; ``None`` when unset."""
    if value is None:
        # Every signed trigger and vote asks, and building the settings costs about half a
        # millisecond; they are built again only when a variable they read changed (their
        # validation reads the others too: the environment, placeholder secrets). Names in
        # any case, as pydantic-settings matches them.
        variables = tuple(
            sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(_READ_PREFIXES))
        )
        return _configured_key(variables)
    return value.encode() if value else None


@functools.lru_cache(maxsize=8)
def _configured_key(variables: tuple[tuple[str, str], ...]) -> bytes | None:
    secret = RunbooksSettings().service_key
    value = secret.get_secret_value() if secret is not None else None
    return value.encode() if value else None


def key_fingerprint() -> str | None:
    """This process's service-key fingerprint (never the key), ``None`` when unset."""
    return fingerprint(service_key())


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(purpose: str, payload: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``payload`` for ``purpose`` (``trigger``, ``vote``), hex.

    Raises:
        ServiceKeyMissing: no key was given and ``ARIZE_RUNBOOKS_SERVICE_KEY`` is unset.
    """
    key = key or service_key()
    if not key:
        raise ServiceKeyMissing(
            f"{ENV_VAR} is not set in this process: run `arize-runbooks setup` (it writes the "
            "key to the env file) and start `serve` and the workers with `arize-runbooks serve` "
            "and `arize-runbooks worker`, which load it"
        )
    message = purpose.encode() + b"\n" + _canonical(payload)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(purpose: str, payload: dict[str, Any], signature: str | None) -> bool:
    """Whether ``signature`` is this process's key's signature of ``payload``; False if unset."""
    key = service_key()
    if not key or not signature:
        return False
    return hmac.compare_digest(sign(purpose, payload, key), signature)
