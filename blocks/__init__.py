"""Prefect blocks of arize-runbooks."""

from prefect.blocks.core import Block

from .arize import ArizeCredentials
from .key_store import ArizeKeyStore
from .policy import RunbookPolicy
from .slack import SlackApprovals

__all__ = [
    "ArizeCredentials",
    "ArizeKeyStore",
    "RunbookPolicy",
    "SlackApprovals",
    "block_types",
    "register_blocks",
]


def block_types() -> list[type[Block]]:
    """The project's block types, as ``prefect block register -m blocks`` would find them."""
    return [ArizeCredentials, ArizeKeyStore, SlackApprovals, RunbookPolicy]


async def register_blocks() -> list[str]:
    """Register every block type and schema with the Prefect API (idempotent); return slugs."""
    for block in block_types():
        await block.aregister_type_and_schema()
    return [block.get_block_type_slug() for block in block_types()]
