"""What every apply step receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from arize_admin import AsyncArizeAdmin, ConflictError, NotFoundError
from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore

T = TypeVar("T")


class StepContext(BaseModel):
    """Blocks (they serialize; clients do not) and the ids resolved by earlier stages."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    credentials: ArizeCredentials
    key_store: ArizeKeyStore
    refs: dict[str, str] = Field(
        default_factory=dict,
        description="Ids by natural key: user:<email>, space:<name>, role:<name>, org:<name>.",
    )

    def ref(self, kind: str, name: str) -> str | None:
        """The id of ``kind:name`` if an earlier stage or the plan resolved it."""
        return self.refs.get(f"{kind}:{name}")


class Outcome(StrEnum):
    """What a step found and did."""

    APPLIED = "applied"
    ALREADY = "already in place"


class StepResult(BaseModel):
    """The result of one step. Holds ids and words, never a secret."""

    change_key: str
    outcome: Outcome
    detail: str = ""
    refs: dict[str, str] = Field(default_factory=dict)
    api_calls: int = 0


async def find_or_create(
    find: Callable[[], Awaitable[T | None]], create: Callable[[], Awaitable[T]]
) -> tuple[T, Outcome]:
    """Look the object up first; create it only if absent.

    A POST is never retried blindly: if an earlier attempt's response was lost, the object is
    found here, and a 409 from a create that raced us is answered by looking again.
    """
    found = await find()
    if found is not None:
        return found, Outcome.ALREADY
    try:
        return await create(), Outcome.APPLIED
    except ConflictError:
        found = await find()
        if found is None:
            raise
        return found, Outcome.ALREADY


async def remove_if_present(remove: Callable[[], Awaitable[object]]) -> Outcome:
    """Run a delete; a 404 means someone (or an earlier attempt) already removed it."""
    try:
        await remove()
    except NotFoundError:
        return Outcome.ALREADY
    return Outcome.APPLIED


async def resolve_user_id(ctx: StepContext, client: AsyncArizeAdmin, email: str) -> str:
    """The id of the user with ``email``: from an earlier stage, else looked up."""
    known = ctx.ref("user", email)
    if known:
        return known
    user = await client.users.find_by_email(email)
    if user is None:
        raise LookupError(f"no Arize user with email {email!r}; was the invite step skipped?")
    return user.id
