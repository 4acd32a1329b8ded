"""A Splunk-HEC-compatible receiver and an RFC 5424 syslog TCP listener, on loopback, that a
test can take down and bring back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

HEC_TOKEN = "hec-test-token-7e0d2b91"


class HecReceiver:
    """Accepts ``POST /services/collector/event`` with ``Authorization: Splunk <token>``;
    answers 503 while ``down``. Keeps every accepted event by its idempotency key."""

    def __init__(self) -> None:
        self.down = False
        self.events: dict[str, dict[str, Any]] = {}
        self.deliveries = 0
        self.refused = 0
        self.bodies: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _collect(self, request: web.Request) -> web.Response:
        if self.down:
            self.refused += 1
            return web.json_response({"text": "Server is busy", "code": 9}, status=503)
        if request.headers.get("Authorization") != f"Splunk {HEC_TOKEN}":
            return web.json_response({"text": "Invalid token", "code": 4}, status=403)
        text = await request.text()
        self.bodies.append(text)
        body = json.loads(text)
        self.deliveries += 1
        self.events[body["fields"]["idempotency_key"]] = body
        return web.json_response({"text": "Success", "code": 0})

    async def __aenter__(self) -> HecReceiver:
        app = web.Application()
        app.router.add_post("/services/collector/event", self._collect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class SyslogListener:
    """An RFC 6587 octet-counting TCP listener; :meth:`stop` closes it (connections refused)
    and :meth:`start` reopens it on the same port."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                length = await reader.readuntil(b" ")
                self.messages.append(await reader.readexactly(int(length)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    def keys(self) -> set[str]:
        """The idempotency keys of the messages received (from their structured data)."""
        found = set()
        for message in self.messages:
            sd = message.split(b'key="', 1)[1]
            found.add(sd.split(b'"', 1)[0].decode())
        return found
