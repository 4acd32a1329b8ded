"""tests/fixtures/tls.py is in force in every test process, and shares only the default
verifying context: a library update that renames what it replaces fails here instead of
silently bringing back a CA bundle parse per client."""

from __future__ import annotations

import ssl

import httpx
from prefect.client.orchestration import PrefectClient


def _context(client: httpx.Client | httpx.AsyncClient) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # type: ignore[union-attr]


async def test_every_default_httpx_client_shares_one_verifying_context() -> None:
    # One context per CA source: certifi's, or SSL_CERT_FILE / SSL_CERT_DIR where the client
    # trusts the environment and it names one.
    with httpx.Client() as first, httpx.Client(timeout=3) as second:
        async with httpx.AsyncClient() as third:
            shared = _context(first)
            assert _context(second) is shared
            assert _context(third) is shared
    with httpx.Client(trust_env=False) as first, httpx.Client(trust_env=False) as second:
        assert _context(first) is _context(second)
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    assert shared.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded


async def test_prefect_clients_share_it_too() -> None:
    first = PrefectClient(api="http://127.0.0.1:9/api")
    second = PrefectClient(api="http://127.0.0.1:9/api")
    assert _context(first._client) is _context(second._client)  # type: ignore[arg-type]
    assert _context(first._client).verify_mode == ssl.CERT_REQUIRED  # type: ignore[arg-type]


def test_other_contexts_are_built_as_the_library_builds_them() -> None:
    own = ssl.create_default_context()
    with (
        httpx.Client() as default,
        httpx.Client(verify=False) as insecure,
        httpx.Client(verify=own) as given,
    ):
        assert _context(insecure) is not _context(default)
        assert _context(insecure).verify_mode == ssl.CERT_NONE
        assert _context(given) is own
