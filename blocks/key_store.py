"""Where new API key values go: one Prefect ``Secret`` block per key, written as an upsert."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from blocks._naming import slug

_WRITE_ATTEMPTS = 4


class StoredKey(BaseModel):
    """A key value and what we know about it; the value stays a ``SecretStr``."""

    model_config = ConfigDict(frozen=True)

    value: SecretStr
    api_key_id: str | None = None
    rotated_at: datetime | None = None
    expires_at: datetime | None = None


class ArizeKeyStore(Block):
    """Stores API key values (new service keys, rotated keys) as Prefect Secret blocks.

    Each key lives in its own ``Secret`` block named ``<prefix>-<key name>``, so consumers load
    exactly one secret and the Prefect UI shows it masked. Writes overwrite: storing the same key
    twice leaves one secret holding the newer value.

    Examples:
        ```python
        from blocks import ArizeKeyStore

        store = await ArizeKeyStore.aload("BLOCK_NAME")
        key = await store.read_key("ci-fraud-detection")
        ```
    """

    _block_type_name = "Arize Key Store"
    _block_type_slug = "arize-key-store"

    prefix: str = Field(
        default="arize-key",
        description="Prefix of the Secret block names, e.g. arize-key-ci-fraud-detection.",
    )

    def secret_name(self, key_name: str) -> str:
        """Name of the Secret block that holds ``key_name``."""
        return f"{slug(self.prefix)}-{slug(key_name)}"

    async def write_key(self, key_name: str, stored: StoredKey) -> str:
        """Create or overwrite the secret for ``key_name``; return the Secret block's name."""
        name = self.secret_name(key_name)
        document = {
            "value": stored.value.get_secret_value(),
            "api_key_id": stored.api_key_id,
            "rotated_at": stored.rotated_at.isoformat() if stored.rotated_at else None,
            "expires_at": stored.expires_at.isoformat() if stored.expires_at else None,
        }
        # The value may exist nowhere else (a refresh just replaced it): outlast a blip of the
        # Prefect API rather than lose it.
        attempt = 0
        while True:
            try:
                await Secret(value=document).asave(name, overwrite=True)
                return name
            except httpx.HTTPError:
                attempt += 1
                if attempt >= _WRITE_ATTEMPTS:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)

    async def read_key(self, key_name: str) -> StoredKey | None:
        """The stored key, or None when nothing was stored under ``key_name``."""
        try:
            secret = await Secret.aload(self.secret_name(key_name))
        except ValueError:
            return None
        document = secret.get()
        if not isinstance(document, dict):
            return StoredKey(value=SecretStr(str(document)))
        return StoredKey.model_validate(document)
