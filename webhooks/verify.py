"""One verifier per signing scheme, plus the capped raw-body reader they all start from.

Every check works on the raw bytes exactly as received, compares in constant time
(``hmac.compare_digest``) and raises :class:`~webhooks.errors.InvalidSignature` with a reason
for the service's log; the sender only ever sees a generic 401. Where the scheme signs a
timestamp, one further than ``window`` seconds from now is refused (replay window).

The ``sign_*`` helpers produce what each sender would send; tests and the bench use them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable

from pydantic import SecretStr
from starlette.requests import ClientDisconnect, Request

from webhooks.errors import InvalidSignature, MalformedRequest, PayloadTooLarge

Clock = Callable[[], float]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """Read the raw body, refusing it as soon as it is known to be larger than ``max_bytes``.

    The declared ``Content-Length`` is checked before reading anything, and the bytes read are
    counted too (chunked uploads have no length).

    Raises:
        PayloadTooLarge: the body is, or claims to be, larger than ``max_bytes``.
        MalformedRequest: ``Content-Length`` is not a number, or the client went away.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise MalformedRequest("Content-Length is not a number")
        if int(declared) > max_bytes:
            raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise MalformedRequest("client disconnected before sending the whole body") from exc
    return b"".join(chunks)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _check_timestamp(value: str | None, *, window: int, now: Clock, header: str) -> int:
    if not value:
        raise InvalidSignature(f"missing {header}")
    text = value.strip()
    if not text.isdigit():
        raise InvalidSignature(f"{header} is not Unix seconds")
    stamp = int(text)
    if abs(now() - stamp) > window:
        raise InvalidSignature(f"{header} outside the {window}s replay window")
    return stamp


# --- Okta event hooks: a static shared secret in a header of your choice ------------------


def check_shared_secret(expected: SecretStr, given: str | None, *, header: str) -> None:
    """Okta sends the configured secret verbatim in ``header`` on every call."""
    if not given:
        raise InvalidSignature(f"missing {header}")
    if not hmac.compare_digest(expected.get_secret_value().encode(), given.encode()):
        raise InvalidSignature(f"wrong {header}")


# --- BambooHR: hex HMAC-SHA256 of body + timestamp ------------------------------------------


def sign_bamboohr(key: str, body: bytes, timestamp: str) -> str:
    """``X-BambooHR-Signature`` for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return _hmac_sha256(key.encode(), body + timestamp.encode()).hex()


def check_bamboohr(
    key: SecretStr,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    window: int,
    now: Clock = time.time,
) -> None:
    """Verify ``X-BambooHR-Signature`` (lowercase hex) over ``body + X-BambooHR-Timestamp``."""
    if not signature:
        raise InvalidSignature("missing X-BambooHR-Signature")
    _check_timestamp(timestamp, window=window, now=now, header="X-BambooHR-Timestamp")
    expected = sign_bamboohr(key.get_secret_value(), body, (timestamp or "").strip())
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise InvalidSignature("wrong X-BambooHR-Signature")


# --- Jira admin webhooks: X-Hub-Signature: sha256=<hex HMAC of body> ------------------------


def sign_hub(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` value (``sha256=<hex>``) for ``body``."""
    return "sha256=" + _hmac_sha256(secret.encode(), body).hex()


def check_hub_signature(secret: SecretStr, body: bytes, header: str | None) -> None:
    """Verify a WebSub-style ``sha256=<hex>`` signature over the raw body."""
    if not header:
        raise InvalidSignature("missing X-Hub-Signature")
    method, _, hexdigest = header.strip().partition("=")
    if method.lower() != "sha256" or not hexdigest:
        raise InvalidSignature("X-Hub-Signature is not sha256=<hex>")
    expected = _hmac_sha256(secret.get_secret_value().encode(), body).hex()
    if not hmac.compare_digest(expected.encode(), hexdigest.lower().encode()):
        raise InvalidSignature("wrong X-Hub-Signature")


# --- ServiceNow / Jira Service Management automation: Bearer or Basic -----------------------


def basic_credentials(username: str, password: str) -> str:
    """``Authorization`` value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def check_bearer_or_basic(
    authorization: str | None,
    *,
    token: SecretStr | None,
    username: str | None,
    password: SecretStr | None,
) -> None:
    """Accept ``Authorization: Bearer <token>`` or ``Basic <user:password>``, whichever is set."""
    if not authorization:
        raise InvalidSignature("missing Authorization")
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and token is not None:
        if hmac.compare_digest(token.get_secret_value().encode(), credentials.encode()):
            return
        raise InvalidSignature("wrong bearer token")
    if scheme.lower() == "basic" and username is not None and password is not None:
        expected = f"{username}:{password.get_secret_value()}".encode()
        try:
            given = base64.b64decode(credentials, validate=True)
        except ValueError:
            given = b""
        if hmac.compare_digest(expected, given):
            return
        raise InvalidSignature("wrong basic credentials")
    raise InvalidSignature(f"authorization scheme {scheme[:16]!r} not accepted")


# --- Standard Webhooks: v1,<base64 HMAC of id.timestamp.body>, whsec_ secrets ---------------


def decode_whsec(secret: str) -> bytes:
    """Decode a Standard Webhooks secret (``whsec_`` + base64) to its key bytes.

    Raises:
        ValueError: the secret is not ``whsec_`` followed by base64 of 24 to 64 bytes.
    """
    if not secret.startswith("whsec_"):
        raise ValueError("a Standard Webhooks secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is 'whsec_' followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a Standard Webhooks secret decodes to 24-64 bytes")
    return key


def sign_standard(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """``webhook-signature`` value (``v1,<base64>``) for one key."""
    mac = _hmac_sha256(key, f"{msg_id}.{timestamp}.".encode() + body)
    return "v1," + base64.b64encode(mac).decode()


def check_standard_webhooks(
    keys: list[bytes],
    body: bytes,
    *,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    window: int,
    now: Clock = time.time,
) -> None:
    """Verify a Standard Webhooks v1 signature list against any of ``keys`` (rotation)."""
    if not msg_id:
        raise InvalidSignature("missing webhook-id")
    if not signature:
        raise InvalidSignature("missing webhook-signature")
    _check_timestamp(timestamp, window=window, now=now, header="webhook-timestamp")
    stamp = (timestamp or "").strip()
    given = [
        value.encode()
        for version, _, value in (part.partition(",") for part in signature.split())
        if version == "v1" and value
    ]
    if not given:
        raise InvalidSignature("no v1 signature in webhook-signature")
    for key in keys:
        expected = sign_standard(key, msg_id, stamp, body).removeprefix("v1,").encode()
        # Compare against every candidate so timing does not reveal which one matched.
        if any([hmac.compare_digest(expected, candidate) for candidate in given]):
            return
    raise InvalidSignature("wrong webhook-signature")
