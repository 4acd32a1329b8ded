"""Slugs: names that Prefect accepts for block documents, run-input, pause and artifact keys."""

from __future__ import annotations

import re


def slug(value: str) -> str:
    """Lowercase ``value`` and keep only ``[a-z0-9-]``, what Prefect allows in keys."""
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
