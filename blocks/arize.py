"""The Arize credentials block: configuration only; behaviour lives in `arize_admin`."""

from __future__ import annotations

from prefect.blocks.abstract import CredentialsBlock
from pydantic import Field, SecretStr

from arize_admin import AsyncArizeAdmin

__all__ = ["ArizeCredentials"]


class ArizeCredentials(CredentialsBlock):
    """Credentials for the Arize AX admin REST API, with the endpoint to reach it.

    Point `base_url` at a local emulator to run the same flows without touching Arize.

    Examples:
        Load stored credentials and list users:
        ```python
        from blocks import ArizeCredentials

        credentials = ArizeCredentials.load("BLOCK_NAME")
        async with credentials.get_client() as client:
            async for user in client.users.list():
                print(user.email)
        ```
    """

    _block_type_name = "Arize Credentials"
    _documentation_url = "https://arize.com/docs/ax/rest-reference"

    api_key: SecretStr = Field(
        default=...,
        title="API Key",
        description="Arize API key of an account admin (a user key or a service key).",
    )
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description=(
            "API host such as https://api.arize.com or a local emulator's address; "
            "leave empty for the default host or the region's host."
        ),
    )
    region: str | None = Field(
        default=None,
        description=(
            "Arize region (ca-central-1a, eu-west-1a, us-central-1a or us-east-1b), "
            "used when no base URL is set."
        ),
    )
    max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Largest number of API requests in flight at once per client.",
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for each API request attempt.",
    )

    def get_client(self, api_key: SecretStr | None = None) -> AsyncArizeAdmin:
        """Build a new admin client; open it with `async with` so its pool is closed.

        A new client each call, because an `httpx.AsyncClient` belongs to one event loop.

        Args:
            api_key: Another key for the same endpoint and settings (proving a key just
                issued works); default: the block's own key.

        Returns:
            A new `AsyncArizeAdmin` configured from this block.
        """
        return AsyncArizeAdmin(
            api_key=api_key or self.api_key,
            base_url=self.base_url or None,
            region=None if self.base_url else self.region,
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
        )
