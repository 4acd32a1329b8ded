"""A threaded uvicorn server running the Slack emulator on loopback (ThreadedMotoServer-style)."""

from __future__ import annotations

from typing import Any, Self, Unpack

import httpx

from emulator.slack.app import create_app
from emulator.slack.commands import (
    SlashCommandFields,
    ViewSubmissionFields,
    aslash_command,
    asubmit_view,
    slash_command,
    submit_view,
)
from emulator.slack.interactions import ClickFields, aclick, click
from emulator.slack.state import Channel, SlackState, User, UserGroup
from emulator.threaded_server import ThreadedServer


class SlackEmulatorServer(ThreadedServer):
    """The Slack Web API emulator on ``127.0.0.1`` and a free port, in a background thread.

    Examples:
        ```python
        with SlackEmulatorServer() as slack:
            client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        ```
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, tokens: set[str] | None = None
    ) -> None:
        """Prepare a server; nothing listens until :meth:`start`.

        Args:
            host: Interface to bind; loopback by default.
            port: Port to bind; ``0`` picks a free one.
            tokens: Bot tokens accepted; any ``xoxb-`` token by default.
        """
        self.state = SlackState(tokens=tokens)
        super().__init__(
            create_app(self.state), host=host, port=port, name="slack-emulator", lifespan="off"
        )

    def start(self, timeout: float = 30.0) -> Self:
        """Listen, then tell the workspace its URL so it can host response URLs."""
        super().start(timeout)
        self.state.public_url = self.url
        return self

    @property
    def base_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``; ends in ``/api/``."""
        return f"{self.url}/api/"

    def get_host_and_port(self) -> tuple[str, int]:
        """The bound address."""
        return self.host, self.port

    # -- conveniences over the control plane (in-process; tests may also use HTTP) -----

    def reset(self) -> None:
        """Forget everything, as ``POST /_slack/reset``."""
        self.state.reset()

    def add_user(self, user_id: str, name: str, email: str | None = None, **flags: Any) -> User:
        """Add a member (``deleted``, ``is_bot``, ``is_restricted`` flags allowed)."""
        return self.state.add_user(User(id=user_id, name=name, email=email, **flags))

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> UserGroup:
        """Add a user group with these members."""
        return self.state.add_usergroup(
            UserGroup(id=group_id, handle=handle, name=handle, users=list(users))
        )

    def add_channel(self, name: str, **flags: Any) -> Channel:
        """Add a channel (``channel_id``, ``is_private``, ``is_member``, ``is_archived``)."""
        return self.state.add_channel(name, **flags)

    def set_scopes(self, scopes: list[str]) -> None:
        """The bot token's scopes, as ``POST /_slack/scopes``."""
        self.state.set_scopes(scopes)

    def messages(self) -> dict[str, Any]:
        """Posted messages and ephemerals, as ``GET /_slack/messages``."""
        return self.state.snapshot()

    def views(self) -> list[dict[str, Any]]:
        """Opened modals, as ``GET /_slack/views``."""
        return self.state.views_snapshot()

    def responses(self) -> list[dict[str, Any]]:
        """Hosted response URLs and what the app posted to them, as ``GET /_slack/responses``."""
        return self.state.responses_snapshot()

    def slash_command(
        self, url: str, *, client: httpx.Client | None = None, **fields: Unpack[SlashCommandFields]
    ) -> httpx.Response:
        """Run a slash command against the app; see :func:`emulator.slack.slash_command`."""
        return slash_command(url, self.state, client=client, **fields)

    async def aslash_command(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        **fields: Unpack[SlashCommandFields],
    ) -> httpx.Response:
        """Async :meth:`slash_command`."""
        return await aslash_command(url, self.state, client=client, **fields)

    def submit_view(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        **fields: Unpack[ViewSubmissionFields],
    ) -> httpx.Response:
        """Press submit on an open modal; see :func:`emulator.slack.submit_view`."""
        return submit_view(url, self.state, client=client, **fields)

    async def asubmit_view(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        **fields: Unpack[ViewSubmissionFields],
    ) -> httpx.Response:
        """Async :meth:`submit_view`."""
        return await asubmit_view(url, self.state, client=client, **fields)

    def click(
        self, url: str, *, client: httpx.Client | None = None, **fields: Unpack[ClickFields]
    ) -> httpx.Response:
        """Click a button on a posted message; see :func:`emulator.slack.click`."""
        return click(url, self.state, client=client, **fields)

    async def aclick(
        self, url: str, *, client: httpx.AsyncClient | None = None, **fields: Unpack[ClickFields]
    ) -> httpx.Response:
        """Async :meth:`click`; pass ``client`` to reach an in-process ASGI app."""
        return await aclick(url, self.state, client=client, **fields)
