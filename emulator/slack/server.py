"""A threaded uvicorn server running the Slack emulator on loopback (ThreadedMotoServer-style)."""

from __future__ import annotations

from typing import Any

import httpx

from emulator.slack.app import create_app
from emulator.slack.interactions import aclick, click
from emulator.slack.state import SlackState, User, UserGroup
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

    def messages(self) -> dict[str, Any]:
        """Posted messages and ephemerals, as ``GET /_slack/messages``."""
        return self.state.snapshot()

    def click(
        self,
        url: str,
        *,
        signing_secret: str,
        user_id: str,
        action_id: str = "approve",
        channel: str | None = None,
        ts: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Click a button on a posted message; see :func:`emulator.slack.click`."""
        return click(
            url,
            self.state,
            signing_secret=signing_secret,
            user_id=user_id,
            action_id=action_id,
            channel=channel,
            ts=ts,
            client=client,
        )

    async def aclick(
        self,
        url: str,
        *,
        signing_secret: str,
        user_id: str,
        action_id: str = "approve",
        channel: str | None = None,
        ts: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """Async :meth:`click`; pass ``client`` to reach an in-process ASGI app."""
        return await aclick(
            url,
            self.state,
            signing_secret=signing_secret,
            user_id=user_id,
            action_id=action_id,
            channel=channel,
            ts=ts,
            client=client,
        )
