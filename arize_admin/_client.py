"""`AsyncArizeAdmin`: transport, auth, retries, concurrency cap and the resource attributes."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any, Self

import certifi
import httpx
from pydantic import SecretStr

from ._exceptions import APIConnectionError, APIStatusError, APITimeoutError, make_status_error
from ._pacing import RequestGate, request_gate
from ._retry import (
    _calculate_retry_timeout,
    _parse_retry_after,
    _should_retry,
    _should_retry_error,
)
from .resources import (
    ApiKeys,
    AuditLogs,
    Organizations,
    Projects,
    ResourceRestrictions,
    RoleBindings,
    Roles,
    SamlIdentityProviders,
    Spaces,
    Users,
)

__all__ = ["DEFAULT_BASE_URL", "REGIONS", "AsyncArizeAdmin"]

log = logging.getLogger("arize_admin")

DEFAULT_BASE_URL = "https://api.arize.com"
REGIONS = ("ca-central-1a", "eu-west-1a", "us-central-1a", "us-east-1b")
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_CONCURRENCY = 8
USER_AGENT = "arize-runbooks-admin/0.1"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class _RateLimiter:
    """Spaces request starts at least 1/rps apart (a simple, shared, async pacing gate)."""

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self._interval = 1.0 / requests_per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    def reserve(self, now: float) -> float:
        """Book the next start slot; return how long to wait for it."""
        delay = self._next - now
        self._next = max(now, self._next) + self._interval
        return max(delay, 0.0)

    async def wait(self) -> None:
        async with self._lock:
            delay = self.reserve(time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        # The SDK's verified format: offset without a colon, or none for naive datetimes.
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    return str(value)


def _encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """None is omitted, lists become repeated keys, booleans are lowercase."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        pairs.extend((key, _query_value(item)) for item in values)
    return pairs


def _resolve_base_url(base_url: str | None, region: str | None) -> str:
    if base_url is not None and region is not None:
        raise ValueError("give base_url or region, not both")
    if base_url is None and region is not None:
        base_url = f"https://api.{region}.arize.com"
    if base_url is None:
        base_url = os.environ.get("ARIZE_BASE_URL") or DEFAULT_BASE_URL
    base_url = base_url.rstrip("/")
    # Paths carry the version; accept a base that already ends in it, as the docs print it.
    return base_url.removesuffix("/v2")


class AsyncArizeAdmin:
    """Async client for the Arize AX admin REST API v2.

    One instance holds one connection pool: open it with `async with` (or call `aclose()`).
    GET, PUT and DELETE are retried on 429/502/503/504 and on connection failures; POST and
    PATCH never are, because the API takes no idempotency keys.

    Args:
        api_key: an Arize API key; defaults to `ARIZE_API_KEY`. Held as a `SecretStr`.
        base_url: API host, e.g. `http://127.0.0.1:8080`; defaults to `ARIZE_BASE_URL`, then
            `https://api.arize.com`.
        region: a regional host (`eu-west-1a`, ...) instead of `base_url`.
        timeout: seconds per request attempt.
        max_retries: retries of a retryable request after the first try.
        max_concurrency: requests in flight at once through this client.
        requests_per_second: optional pacing of request starts.
        request_gate: entered around every attempt of every request (a shared rate limit);
            defaults to the `arize_admin.request_gate` context variable when the request is sent.
        http_client: an `httpx.AsyncClient` to use instead of a new one; it is not closed
            by this client.

    Example:
        ```python
        async with AsyncArizeAdmin(api_key="ak-...") as client:
            async for user in client.users.list():
                print(user.email)
        ```
    """

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        region: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        requests_per_second: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        request_gate: RequestGate | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get("ARIZE_API_KEY")
        if not api_key or (isinstance(api_key, SecretStr) and not api_key.get_secret_value()):
            raise ValueError("an API key is required: pass api_key or set ARIZE_API_KEY")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.base_url = _resolve_base_url(base_url, region)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self.requests_per_second = requests_per_second
        self.request_count = 0
        """HTTP requests sent by this instance, retries included (for run reports)."""
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = _RateLimiter(requests_per_second) if requests_per_second else None
        self._gate = request_gate
        self._owns_http_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            # Proxy variables would otherwise catch loopback traffic to a local emulator.
            trust_env=httpx.URL(self.base_url).host not in _LOOPBACK_HOSTS,
            verify=_tls_context(),
        )

    def __repr__(self) -> str:
        return (
            f"AsyncArizeAdmin(base_url={self.base_url!r}, timeout={self.timeout}, "
            f"max_retries={self.max_retries}, max_concurrency={self.max_concurrency})"
        )

    @property
    def api_key(self) -> SecretStr:
        """The API key, still wrapped."""
        return self._api_key

    # Resources ------------------------------------------------------------------------------

    @cached_property
    def users(self) -> Users:
        return Users(self)

    @cached_property
    def organizations(self) -> Organizations:
        return Organizations(self)

    @cached_property
    def spaces(self) -> Spaces:
        return Spaces(self)

    @cached_property
    def projects(self) -> Projects:
        return Projects(self)

    @cached_property
    def roles(self) -> Roles:
        return Roles(self)

    @cached_property
    def role_bindings(self) -> RoleBindings:
        return RoleBindings(self)

    @cached_property
    def resource_restrictions(self) -> ResourceRestrictions:
        return ResourceRestrictions(self)

    @cached_property
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self)

    @cached_property
    def audit_logs(self) -> AuditLogs:
        return AuditLogs(self)

    @cached_property
    def saml_identity_providers(self) -> SamlIdentityProviders:
        return SamlIdentityProviders(self)

    # Lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, unless it was injected or shared by `with_options`."""
        if self._owns_http_client:
            await self._http.aclose()

    def with_options(
        self,
        *,
        api_key: str | SecretStr | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_concurrency: int | None = None,
    ) -> AsyncArizeAdmin:
        """A copy with some settings changed, sharing this client's connection pool.

        The copy shares the concurrency cap and pacing too, unless `max_concurrency` is given.
        Close the original, not the copy.
        """
        copy = AsyncArizeAdmin(
            api_key=api_key if api_key is not None else self._api_key,
            base_url=self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            max_concurrency=max_concurrency or self.max_concurrency,
            http_client=self._http,
            request_gate=self._gate,
        )
        if max_concurrency is None:
            copy._semaphore = self._semaphore
        copy._limiter = self._limiter
        copy.requests_per_second = self.requests_per_second
        return copy

    # Transport ------------------------------------------------------------------------------

    def _headers(self, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def _send(
        self, method: str, path: str, params: list[tuple[str, str]], body: Any
    ) -> httpx.Response:
        async with self._semaphore:
            if self._limiter is not None:
                await self._limiter.wait()
            gate = self._gate or request_gate.get()
            if gate is None:
                return await self._attempt(method, path, params, body)
            # Inside the concurrency cap: a turn granted while waiting for a connection would
            # be spent late, bunched with the turns after it.
            async with gate.request(method, path):
                return await self._attempt(method, path, params, body)

    async def _attempt(
        self, method: str, path: str, params: list[tuple[str, str]], body: Any
    ) -> httpx.Response:
        self.request_count += 1
        return await self._http.request(
            method,
            self.base_url + path,
            params=params or None,
            json=body,
            headers=self._headers(body is not None),
            timeout=self.timeout,
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        expected: Iterable[int] = (200,),
    ) -> httpx.Response:
        """Send one API call, retrying what may be retried; raise an ArizeError otherwise."""
        expected = tuple(expected)
        query = _encode_params(params)
        retries_taken = 0
        while True:
            try:
                response = await self._send(method, path, query, body)
            except httpx.TransportError as exc:
                if retries_taken < self.max_retries and _should_retry_error(method, exc):
                    delay = _calculate_retry_timeout(retries_taken)
                    log.debug("%s %s: %s, retry in %.2fs", method, path, type(exc).__name__, delay)
                    retries_taken += 1
                    await asyncio.sleep(delay)
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(method=method, path=path) from exc
                # httpx messages name the failure, never the request's headers or body.
                raise APIConnectionError(
                    method=method, path=path, message=f"{type(exc).__name__}: {exc}"
                ) from exc
            log.debug("%s %s -> %s", method, path, response.status_code)
            if response.status_code in expected:
                return response
            if retries_taken < self.max_retries and _should_retry(method, response):
                delay = _calculate_retry_timeout(retries_taken, response.headers)
                log.debug("%s %s: %s, retry in %.2fs", method, path, response.status_code, delay)
                retries_taken += 1
                await asyncio.sleep(delay)
                continue
            if response.is_success:
                # A success code the contract does not declare: refuse it, but never echo
                # the body (create and refresh answers hold key values).
                raise APIStatusError(
                    status_code=response.status_code,
                    title="Unexpected status",
                    detail=f"expected {' or '.join(map(str, expected))}",
                    method=method,
                    path=path,
                )
            raise make_status_error(
                response,
                method=method,
                path=path,
                retry_after=_parse_retry_after(response.headers),
            )

    async def _get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return (await self._request("GET", path, params=params)).json()

    async def _post(self, path: str, *, body: Any = None, expected: Iterable[int] = (201,)) -> Any:
        response = await self._request("POST", path, body=body, expected=expected)
        return response.json() if response.content else None

    async def _put(self, path: str, *, body: Any = None, expected: Iterable[int] = (204,)) -> Any:
        response = await self._request("PUT", path, body=body, expected=expected)
        return response.json() if response.content else None

    async def _patch(self, path: str, *, body: Any, expected: Iterable[int] = (200,)) -> Any:
        return (await self._request("PATCH", path, body=body, expected=expected)).json()

    async def _delete(self, path: str, *, expected: Iterable[int] = (204,)) -> None:
        await self._request("DELETE", path, expected=expected)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process.

    httpx builds a new context per client, and loading the CA bundle costs tens of
    milliseconds; runbooks open a client per task, so that cost would dominate short steps.
    """
    return ssl.create_default_context(cafile=certifi.where())
