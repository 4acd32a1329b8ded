"""Before a run starts: Prefect answers, the policy exists, Arize takes the key.

Each failure becomes a :class:`~cli.errors.CliError` before any flow run exists, so a broken
setup leaves no failed run behind and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.errors import CliError, explain

if TYPE_CHECKING:
    from blocks.policy import RunbookPolicy


async def prefect_reachable() -> None:
    """Raise unless the configured Prefect API answers and accepts this client's credentials."""
    import httpx
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise CliError(
            "PREFECT_API_URL is not set: the run would go to a throwaway in-process server",
            fix="point PREFECT_API_URL at your server, e.g. http://127.0.0.1:4200/api",
        )
    try:
        async with get_client() as client:
            unhealthy = await client.api_healthcheck()
            if unhealthy is not None:
                raise unhealthy
            await client.read_work_pools(limit=1)
    except (httpx.HTTPError, OSError) as ex:
        problem = explain(ex)
        if problem is None:
            problem = CliError(f"the Prefect API at {url} failed: {type(ex).__name__}")
        raise problem from None


async def load_policy(name: str) -> RunbookPolicy:
    """The saved policy, or a :class:`CliError` saying to run setup."""
    from blocks.policy import RunbookPolicy

    try:
        return await RunbookPolicy.aload(name)
    except ValueError as ex:
        raise (explain(ex) or CliError(f"policy {name!r} does not load: {ex}")) from None


async def arize_accepts(policy: RunbookPolicy) -> None:
    """One read of Arize with the policy's key: reachable and authenticated."""
    from arize_admin import APIConnectionError, AuthenticationError

    async with policy.credentials.get_client() as client:
        try:
            async for _ in client.users.list(limit=1):
                break
        except (APIConnectionError, AuthenticationError) as ex:
            raise explain(ex) from None  # type: ignore[misc]


async def preflight(policy_name: str) -> RunbookPolicy:
    """Everything a run needs before it starts; the loaded policy."""
    await prefect_reachable()
    policy = await load_policy(policy_name)
    await arize_accepts(policy)
    return policy
