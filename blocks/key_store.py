"""Where new API key values go: one Prefect ``Secret`` block per key, written as an upsert.

A key's secret is named by its space and its name, so two tenants (spaces) may each have a key
called ``ci``. Stores written before that named secrets by key name alone; such a legacy secret
is still read for the key whose id it holds, and retired once that key's value has been written
under its new name, so no value is ever lost on the way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

import httpx
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from pydantic import Field, SecretStr

from blocks.schema_cache import SchemaCached
from core.keys import StoredKey
from core.naming import slug

_WRITE_ATTEMPTS = 4


class ArizeKeyStore(SchemaCached, Block):
    """Stores API key values (new service keys, rotated keys) as Prefect Secret blocks.

    Each key lives in its own ``Secret`` block named ``<prefix>-<space>--<key name>``, so
    consumers load exactly one secret and the Prefect UI shows it masked. Writes overwrite:
    storing the same key twice leaves one secret holding the newer value.

    Examples:
        Read the value a runbook stored for the service key ``ci`` of space ``fraud-ops``:
        ```python
        import asyncio

        from blocks import ArizeKeyStore

        store = ArizeKeyStore.load("BLOCK_NAME")
        key = asyncio.run(store.read_key("ci", space="fraud-ops"))
        ```
    """

    _block_type_name = "Arize Key Store"
    _block_type_slug = "arize-key-store"
    _documentation_url = "https://docs.prefect.io/v3/concepts/blocks"

    prefix: str = Field(
        default="arize-key",
        description="Prefix of the Secret block names, e.g. arize-key-fraud-ops--ci.",
    )

    def secret_name(self, key_name: str, space: str | None = None) -> str:
        """Name of the Secret block that holds ``key_name`` of ``space``.

        Without a space (values that belong to the account, such as a new user's initial
        password) the name is ``<prefix>-<key name>``.
        """
        if space is None:
            return self.legacy_name(key_name)
        return f"{slug(self.prefix)}-{_part(space)}--{_part(key_name)}"

    def legacy_name(self, key_name: str) -> str:
        """The name stores used before secrets were named by space: ``<prefix>-<key name>``."""
        return f"{slug(self.prefix)}-{slug(key_name)}"

    async def write_key(self, key_name: str, stored: StoredKey, space: str | None = None) -> str:
        """Create or overwrite the secret for ``key_name`` of ``space``; return its name.

        A legacy secret holding an older value of the same key is deleted afterwards, once the
        new name holds the newer value.
        """
        name = self.secret_name(key_name, space)
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
                break
            except httpx.HTTPError:
                attempt += 1
                if attempt >= _WRITE_ATTEMPTS:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
        if space is not None and stored.api_key_id is not None:
            legacy = await self._load(self.legacy_name(key_name))
            if legacy is not None and legacy.api_key_id == stored.api_key_id:
                await Secret.adelete(self.legacy_name(key_name))
        return name

    async def read_key(
        self, key_name: str, space: str | None = None, api_key_ids: Iterable[str] = ()
    ) -> StoredKey | None:
        """The stored key, or None when nothing was stored for ``key_name`` of ``space``.

        Args:
            key_name: The key's name.
            space: The key's space; none for account-wide values.
            api_key_ids: Ids of the keys this may be the value of: a legacy secret (named by
                key name alone) is returned only when it holds one of them, never another
                tenant's value.
        """
        stored = await self._load(self.secret_name(key_name, space))
        if stored is not None or space is None:
            return stored
        legacy = await self._load(self.legacy_name(key_name))
        if legacy is not None and legacy.api_key_id in set(api_key_ids):
            return legacy
        return None

    async def _load(self, name: str) -> StoredKey | None:
        try:
            secret = await Secret.aload(name)
        except ValueError:
            return None
        document = secret.get()
        if not isinstance(document, dict):
            return StoredKey(value=SecretStr(str(document)))
        return StoredKey.model_validate(document)


def _part(value: str) -> str:
    # Runs of dashes collapse, so "--" only ever separates the space from the key name.
    return re.sub(r"-{2,}", "-", slug(value))
