"""Global ids of the shape Arize uses: ``base64("<Type>:<n>:<salt>")``.

The salt is derived from the type and number, so the same seed always yields the same ids
(stable across resets and restarts), and it is chosen so the encoded id never contains ``+``
or ``/``: a ``%2F`` in a path is decoded by the server before routing and would split the
path segment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import string

from emulator.arize.errors import BadRequest

__all__ = ["decode_id", "encode_id", "id_type"]

_ALPHABET = string.ascii_letters + string.digits

KNOWN_TYPES = frozenset(
    {
        "User",
        "Organization",
        "OrganizationMember",
        "Space",
        "SpaceMember",
        "Model",
        "Role",
        "RoleBinding",
        "ApiKey",
        "AuditLog",
        "SamlIdentityProvider",
        "SamlRoleMapping",
        "Dashboard",
        "Prompt",
    }
)


def _salt(type_name: str, n: int, attempt: int) -> str:
    digest = hashlib.sha256(f"{type_name}:{n}:{attempt}".encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:4])


def encode_id(type_name: str, n: int) -> str:
    """Return the global id of object number ``n`` of ``type_name``.

    Args:
        type_name: The GraphQL-style type name, e.g. ``"User"`` or ``"Model"``.
        n: The per-type sequence number.

    Returns:
        Standard base64 (with padding) of ``"<type_name>:<n>:<salt>"``.
    """
    for attempt in range(64):
        raw = f"{type_name}:{n}:{_salt(type_name, n, attempt)}".encode()
        encoded = base64.b64encode(raw).decode()
        if "+" not in encoded and "/" not in encoded:
            return encoded
    raise RuntimeError("no path-safe salt found")  # pragma: no cover - 2**-64 odds


def id_type(value: str) -> str | None:
    """Return the type name encoded in ``value``, or None if it is not a global id."""
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0]


def decode_id(value: str, expected: str | tuple[str, ...], *, field: str = "id") -> str:
    """Check that ``value`` is a well-formed global id of an expected type.

    Args:
        value: The id as received (already percent-decoded).
        expected: The type name, or several, the id must encode.
        field: The parameter name, used in the error detail.

    Returns:
        The encoded type name.

    Raises:
        BadRequest: The id is malformed or encodes another type.
    """
    allowed = (expected,) if isinstance(expected, str) else expected
    found = id_type(value)
    if found is None:
        raise BadRequest(f"Invalid {field}: '{value}' is not a valid global id.")
    if found not in allowed:
        raise BadRequest(
            f"Invalid {field}: expected an id of type {' or '.join(allowed)}, got {found}."
        )
    return found
