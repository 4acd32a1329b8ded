"""What PostgreSQL text cannot hold, and how the inbox stores it anyway.

JSON allows two things PostgreSQL's ``text`` and ``jsonb`` refuse: the NUL character
(``\\u0000``) and lone UTF-16 surrogates (``\\ud800`` escaped, or the raw bytes ``ED A0 80``,
which the body parser lets through). SQLite stores both. So the inbox makes them storable on
every backend, losslessly:

- **JSON columns** (payload, headers, parameters) on PostgreSQL: a document holding either is
  stored as ``{"$inbox_escaped_json": "<the document as ASCII JSON text>"}`` (a jsonb string
  may hold the escape ``\\\\u0000`` as six plain characters) and unwrapped on read. A document
  that merely looks like that wrapper is wrapped too, so reading back is never ambiguous.
- **Key columns** (event id, event type, delivery id): a value holding either is stored as
  ``json:`` plus its JSON escape (``json:ab\\u0000``); so is a clean value that starts with
  ``json:``, so two different ids never share a stored form. The same on both backends, so a
  redelivery is a duplicate wherever it lands.
- **Messages** (``last_error``): escaped for reading, not for reversing.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: The key of the wrapper object a document PostgreSQL cannot hold is stored in.
WRAPPER_KEY = "$inbox_escaped_json"

#: Prefix of a stored id that is the JSON escape of the id sent.
ESCAPED_ID_PREFIX = "json:"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In ASCII JSON text (``ensure_ascii``), every NUL and surrogate is such an escape; an escaped
# backslash before ``u0000`` matches too, which only wraps a document that did not need it.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def storable(text: str) -> bool:
    """Whether PostgreSQL ``text`` can hold ``text`` as it is (no NUL, no lone surrogate)."""
    return _UNSTORABLE.search(text) is None


def describe(text: str) -> str:
    """Which of the two ``text`` holds, for an error message (never the text itself)."""
    found = _UNSTORABLE.findall(text)
    kinds = {"a NUL character" if c == "\x00" else "a lone surrogate" for c in found}
    return " and ".join(sorted(kinds))


def escape_id(value: str) -> str:
    """The stored form of an id or event type (itself when PostgreSQL can hold it)."""
    if storable(value) and not value.startswith(ESCAPED_ID_PREFIX):
        return value
    return ESCAPED_ID_PREFIX + json.dumps(value)[1:-1]


def unescape_id(stored: str) -> str:
    """The id as sent, from its stored form."""
    if not stored.startswith(ESCAPED_ID_PREFIX):
        return stored
    return json.loads('"' + stored.removeprefix(ESCAPED_ID_PREFIX) + '"')


def safe_message(text: str) -> str:
    """``text`` with each NUL and lone surrogate written as its ``\\uXXXX`` escape."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def first_unstorable(value: Any, path: str = "") -> str | None:
    """Where the first string of ``value`` that PostgreSQL text cannot hold is, and what it
    holds (``spec.reason: a NUL character``; a key is named ``<key> (key)``), or ``None``.
    The path is escaped; no value is quoted."""
    if isinstance(value, str):
        return None if storable(value) else f"{safe_message(path or 'value')}: {describe(value)}"
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not storable(key):
                return f"{safe_message(here)} (key): {describe(key)}"
            found = first_unstorable(item, here)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = first_unstorable(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def dumps_for_postgres(value: Any) -> str:
    """JSON text for a ``jsonb`` column: the document, or its wrapper when PostgreSQL cannot
    hold it (or it looks like a wrapper)."""
    text = json.dumps(value)
    if _UNSTORABLE_ESCAPE.search(text) is None and not _looks_wrapped(value):
        return text
    return json.dumps({WRAPPER_KEY: text})


def loads_from_postgres(text: str | bytes) -> Any:
    """The document stored by :func:`dumps_for_postgres`."""
    value = json.loads(text)
    if _looks_wrapped(value):
        return json.loads(value[WRAPPER_KEY])
    return value


def _looks_wrapped(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(WRAPPER_KEY), str)
