"""Prefect blocks of arize-runbooks."""

from .arize import ArizeCredentials
from .key_store import ArizeKeyStore, StoredKey
from .policy import RunbookPolicy
from .slack import SlackApprovals

__all__ = ["ArizeCredentials", "ArizeKeyStore", "RunbookPolicy", "SlackApprovals", "StoredKey"]
