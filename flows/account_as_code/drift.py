"""Drift: where the declared files come from (a path, or a git URL and ref), and the YAML patch
that adopts live state into them.

The adopt patch rewrites, in each file, the items the file declares (a space, a role, a
person) as the live account has them now, and shows the result as a unified diff: applying it
makes the next plan empty for those items. Items declared apart from their space (top-level
``bindings``) are left to a person.
"""

from __future__ import annotations

import asyncio
import difflib
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, model_validator

from core.planning.specs import SpecModel
from flows.account_as_code.export import dump
from flows.account_as_code.format import AccountSpec


class DriftSource(SpecModel):
    """Where the declared account lives: a directory, or a directory in a git repository."""

    path: str | None = Field(default=None, description="A directory on the worker.")
    git_url: str | None = Field(default=None, description="A repository to clone (read-only).")
    ref: str = Field(default="main", description="Branch or tag of git_url.")
    subdir: str = Field(default="", description="The account directory inside the repository.")

    @model_validator(mode="after")
    def _one_source(self) -> DriftSource:
        if (self.path is None) == (self.git_url is None):
            raise ValueError("give path, or git_url (with ref and subdir): exactly one")
        return self

    def describe(self) -> str:
        if self.git_url is not None:
            return f"{self.git_url}@{self.ref}:{self.subdir or '.'}"
        return str(self.path)


class SourceUnavailable(RuntimeError):
    """The git repository or ref could not be read; nothing was planned."""


@asynccontextmanager
async def checkout(source: DriftSource) -> AsyncIterator[Path]:
    """The account directory of ``source``: the path itself, or a shallow clone of the ref.

    The clone runs in a thread: a flow's event loop keeps serving its heartbeats meanwhile.
    """
    if source.path is not None:
        yield Path(source.path)
        return
    with tempfile.TemporaryDirectory(prefix="account-as-code-") as tmp:
        result = await asyncio.to_thread(
            subprocess.run,
            ["git", "clone", "--quiet", "--depth", "1", "--branch", source.ref,
             str(source.git_url), tmp],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if result.returncode != 0:
            # git's own words name the problem (unknown ref, unreachable host); no secrets there
            # beyond what the URL carries, so the URL is not repeated.
            raise SourceUnavailable(
                f"could not clone ref {source.ref!r}: {result.stderr.strip()[-500:]}"
            )
        yield Path(tmp) / source.subdir


def _item_key(kind: str, item: dict[str, Any]) -> tuple[str, ...]:
    if kind == "users":
        return (str(item.get("email", "")).lower(),)
    if kind == "spaces":
        return (str(item.get("organization", "")), str(item.get("name", "")))
    return (str(item.get("name", "")),)


def adopt_patch(directory: Path, live: AccountSpec) -> str:
    """The unified diff that makes the files under ``directory`` say what ``live`` says."""
    exported: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
        "roles": {}, "users": {}, "spaces": {},
    }
    by_id: dict[str, dict[str, dict[str, Any]]] = {"roles": {}, "spaces": {}}
    for kind in exported:
        for model in getattr(live, kind):
            item = model.model_dump(mode="json", exclude_defaults=True)
            exported[kind][_item_key(kind, item)] = item
            if kind in by_id and item.get("id"):
                by_id[kind][item["id"]] = item
    diffs: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml")):
        before = path.read_text()
        data = yaml.safe_load(before) or {}
        if not isinstance(data, dict):
            continue
        changed = False
        for kind, items in exported.items():
            declared = data.get(kind)
            if not isinstance(declared, list):
                continue
            adopted = []
            for item in declared:
                if not isinstance(item, dict):
                    adopted.append(item)
                    continue
                now = by_id.get(kind, {}).get(str(item.get("id"))) or items.get(
                    _item_key(kind, item)
                )
                if now is None:
                    changed = True  # gone from the account: adopting drops it from the file
                    continue
                changed |= now != item
                adopted.append(now)
            data[kind] = adopted
        if not changed:
            continue
        after = dump(data)
        name = path.relative_to(directory).as_posix()
        diffs += difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{name}", tofile=f"b/{name}",
        )
    return "".join(diffs)
