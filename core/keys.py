"""Stored API key values as the core sees them: the record, and the store it reads them from.

The store itself is a Prefect block (``blocks.key_store.ArizeKeyStore``); planners only read it
through :class:`KeyReader`, so they run against any object with these two methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, SecretStr


class StoredKey(BaseModel):
    """A key value and what we know about it; the value stays a ``SecretStr``."""

    model_config = ConfigDict(frozen=True)

    value: SecretStr
    api_key_id: str | None = None
    rotated_at: datetime | None = None
    expires_at: datetime | None = None


class KeyReader(Protocol):
    """Where a planner looks up which key value is stored, and under what name."""

    def secret_name(self, key_name: str, space: str | None = None) -> str:
        """Name of the secret that holds ``key_name`` of ``space``."""
        ...

    async def read_key(
        self, key_name: str, space: str | None = None, api_key_ids: Iterable[str] = ()
    ) -> StoredKey | None:
        """The stored key, or None when nothing is stored for ``key_name`` of ``space``."""
        ...
