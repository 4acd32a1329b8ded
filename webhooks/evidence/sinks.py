"""Where the forwarder delivers OCSF evidence events: Splunk HEC, syslog over TCP/TLS, a file.

Each sink sends one event and either returns (delivered) or raises :class:`DeliveryFailed`,
saying whether waiting helps (the SIEM is down, busy, unreachable) or not (the token is
refused, the event is rejected); the forwarder retries the first kind forever with backoff
and dead-letters the second (``arize-runbooks inbox replay`` sends it again after a fix).
Every event carries its idempotency key (the record's chain hash, also the OCSF
``metadata.uid``), so a redelivery after a lost acknowledgement can be dropped downstream.

Syslog: RFC 5424 lines, framed by octet counting (RFC 6587) on a TCP or TLS connection. The
syslog handlers on the package index are logging handlers, which swallow send errors by
design: that would lose events silently, so the few lines of framing are written here. A TCP
write that returns is in the kernel's buffer, not confirmed by the collector: a collector
that dies holding it loses it. Use HEC (acknowledged per request) where that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator

HEC_PATH = "/services/collector/event"
SYSLOG_APP = "arize-runbooks"
#: RFC 5424 structured-data id under the private enterprise number the RFC's examples use.
SYSLOG_SD_ID = "evidence@32473"


class DeliveryFailed(Exception):
    """The sink did not take the event; ``transient``: retry later, else dead-letter."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient


class Sink(Protocol):
    """One SIEM destination."""

    name: str

    async def send(self, event: dict[str, Any], key: str) -> None:
        """Deliver ``event`` with idempotency ``key``; raise :class:`DeliveryFailed` if not."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class SiemSettings(BaseModel):
    """The SIEM sinks of the evidence chain (``ARIZE_RUNBOOKS_SIEM_*``), each off unset, and
    where its head is published (``ARIZE_RUNBOOKS_EVIDENCE_HEAD_*``)."""

    siem_hec_url: str | None = Field(
        default=None, description="Splunk HEC base URL, e.g. https://splunk.example:8088."
    )
    siem_hec_token: SecretStr | None = Field(
        default=None, description="Splunk HEC token (sent as `Authorization: Splunk <token>`)."
    )
    siem_hec_index: str | None = Field(default=None, description="Splunk index for the events.")
    siem_syslog_address: str | None = Field(
        default=None, description="Syslog collector as host:port (RFC 5424 over TCP)."
    )
    siem_syslog_tls: bool = Field(default=False, description="Syslog over TLS (RFC 5425).")
    siem_syslog_ca_file: Path | None = Field(
        default=None, description="CA bundle the syslog collector's certificate is checked with."
    )
    siem_jsonl_path: Path | None = Field(
        default=None, description="A JSON-lines file every event is appended to."
    )
    evidence_head_channel: str | None = Field(
        default=None,
        description="Slack channel the service posts the verified chain head to, daily.",
    )
    evidence_head_file: Path | None = Field(
        default=None,
        description="A file (e.g. on an object-store mount) the daily head is appended to.",
    )
    evidence_head_every_hours: float = Field(
        default=24.0, gt=0, description="How often the chain head is published."
    )

    @field_validator("siem_syslog_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{value!r} is not host:port, e.g. siem.example:6514")
        return value

    def siem_half_configured(self) -> str | None:
        """What is missing when only one of the HEC URL and token is set."""
        if (self.siem_hec_url is None) == (self.siem_hec_token is None):
            return None
        missing = "TOKEN" if self.siem_hec_token is None else "URL"
        return (
            f"ARIZE_RUNBOOKS_SIEM_HEC_{missing} is not set but the other HEC setting is: "
            "evidence events would not reach Splunk"
        )

    def siem_sinks(self) -> list[Sink]:
        """The configured sinks, in a fixed order (their names key the outbox rows)."""
        sinks: list[Sink] = []
        if self.siem_hec_url and self.siem_hec_token is not None:
            sinks.append(HecSink(self.siem_hec_url, self.siem_hec_token, self.siem_hec_index))
        if self.siem_syslog_address:
            host, _, port = self.siem_syslog_address.rpartition(":")
            context = None
            if self.siem_syslog_tls:
                context = ssl.create_default_context(
                    cafile=str(self.siem_syslog_ca_file) if self.siem_syslog_ca_file else None
                )
            sinks.append(SyslogSink(host, int(port), context))
        if self.siem_jsonl_path is not None:
            sinks.append(JsonlSink(self.siem_jsonl_path))
        return sinks


class HecSink:
    """Splunk HTTP Event Collector: one ``POST /services/collector/event`` per event."""

    name = "hec"

    def __init__(
        self, url: str, token: SecretStr, index: str | None = None, timeout: float = 10.0
    ) -> None:
        self._url = url.rstrip("/") + HEC_PATH
        self._token = token
        self._index = index
        self._client = httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"HecSink({self._url!r})"  # never the token

    async def send(self, event: dict[str, Any], key: str) -> None:
        """POST the event; 2xx is delivered, 408/429/5xx and network errors are transient."""
        envelope: dict[str, Any] = {
            "time": event["time"] / 1000,
            "source": SYSLOG_APP,
            "sourcetype": "ocsf:iam",
            "event": event,
            "fields": {"idempotency_key": key, "class_uid": event["class_uid"]},
        }
        if self._index:
            envelope["index"] = self._index
        headers = {"Authorization": f"Splunk {self._token.get_secret_value()}"}
        try:
            response = await self._client.post(self._url, json=envelope, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"HEC unreachable: {type(exc).__name__}", transient=True) from None
        status = response.status_code
        if status < 300:
            return
        transient = status >= 500 or status in (408, 429)
        raise DeliveryFailed(
            f"HEC answered {status}: {response.text[:200]}", transient=transient
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def rfc5424_line(event: dict[str, Any], key: str, *, hostname: str | None = None) -> bytes:
    """One RFC 5424 message: facility authpriv (10), severity notice or warning, SD with the
    key, the OCSF event as the JSON message."""
    severity = 5 if event.get("status_id") == 1 else 4
    pri = 10 * 8 + severity
    stamp = datetime.fromtimestamp(event["time"] / 1000, UTC).isoformat().replace("+00:00", "Z")
    host = (hostname or socket.gethostname())[:255] or "-"
    msgid = f"OCSF{event['class_uid']}"
    sd = f'[{SYSLOG_SD_ID} key="{key}" class_uid="{event["class_uid"]}"]'
    message = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"<{pri}>1 {stamp} {host} {SYSLOG_APP} {os.getpid()} {msgid} {sd} ".encode() + (
        b"\xef\xbb\xbf" + message.encode()
    )


class SyslogSink:
    """RFC 5424 over TCP (TLS optional), octet-counting framing; one connection, reopened."""

    name = "syslog"

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None = None, timeout: float = 10.0
    ) -> None:
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SyslogSink({self.host}:{self.port}, tls={self.tls is not None})"

    async def send(self, event: dict[str, Any], key: str) -> None:
        """Write one framed message; a failed connection or write is transient."""
        line = rfc5424_line(event, key)
        frame = f"{len(line)} ".encode() + line
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout):
                    if self._writer is None or self._writer.is_closing():
                        _, self._writer = await asyncio.open_connection(
                            self.host, self.port, ssl=self.tls
                        )
                    self._writer.write(frame)
                    await self._writer.drain()
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                await self._drop()
                raise DeliveryFailed(
                    f"syslog {self.host}:{self.port} unreachable: {type(exc).__name__}",
                    transient=True,
                ) from None

    async def _drop(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        """Close the connection."""
        await self._drop()


class JsonlSink:
    """Appends ``{"key": ..., "event": ...}`` lines to a file, flushed to disk per event."""

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    async def send(self, event: dict[str, Any], key: str) -> None:
        """Append one line; a full or unwritable disk is transient (fix it, it catches up)."""
        line = json.dumps({"key": key, "event": event}, separators=(",", ":")) + "\n"
        try:
            await asyncio.to_thread(self._append, line.encode())
        except OSError as exc:
            raise DeliveryFailed(
                f"cannot append to {self.path}: {exc.strerror}", transient=True
            ) from None

    async def close(self) -> None:
        """Nothing held open."""
