"""The group → role-id mapping the IdP needs: remembered between runs, published after each.

An IdP (Okta, Entra ID) maps a SAML group to an Arize role by the role's *id*. When a role is
deleted and recreated it keeps its name but gets a new id, and the IdP's mapping silently stops
matching. So each run publishes the mapping (a table artifact, and JSON/YAML files the IdP
admin can import), remembers it in a Prefect Secret block (as JSON), and flags every group
whose role id differs from what the last run published.

A block, not a Prefect Variable: a Variable holds at most 5,000 characters, about 60 groups,
and an account maps hundreds; a block document has no such limit, and ``Secret`` is the block
Prefect ships for a JSON value (the mapping is not secret; the artifact and files show it).
Mappings remembered in a Variable by earlier versions are still read, until the first publish
writes the block.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

import yaml
from prefect import get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.blocks.system import Secret
from prefect.variables import Variable
from pydantic import BaseModel, Field

from blocks.arize import ArizeCredentials
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from tasks.retry import STEP_OPTIONS

DEFAULT_STORE = "saml-role-mapping-last"
ARTIFACT_KEY = "saml-group-role-mapping"
FILE_STEM = "group-role-mapping"


class GroupRole(BaseModel):
    """One line of the IdP's mapping."""

    group: str
    role: str
    role_id: str
    since_last_run: str = Field(
        default="new", description="new, unchanged, or changed (the IdP must be updated)."
    )
    previous_role_id: str | None = Field(
        default=None, description="The id the last published mapping had, if different."
    )


class PublishedMapping(BaseModel):
    """What the publish step wrote, and which groups need the IdP updated."""

    mappings: list[GroupRole]
    changed: list[str] = Field(
        default_factory=list, description="Groups whose role id changed since the last run."
    )
    files: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


@task(name="Load last group mapping", task_run_name="load {store}")
async def load_last_mapping(store: str = DEFAULT_STORE) -> dict[str, str]:
    """The group → role id mapping the last run published; empty on the first run.

    Example:
        ```python
        @flow
        async def show() -> dict[str, str]:
            return await load_last_mapping("saml-role-mapping-last")
        ```
    """
    try:
        value = (await Secret.aload(store)).get()
    except ValueError:  # no block yet: a mapping an earlier version kept in a Variable, or none
        value = await Variable.aget(store, default=None)
    if not isinstance(value, dict):
        return {}
    return {str(group): role_id for group, role_id in value.items() if isinstance(role_id, str)}


async def remember_mapping(store: str, mapping: dict[str, str]) -> None:
    """Keep ``mapping`` (group → role id) for the next run, in the block ``store``."""
    await Secret(value=mapping).asave(store, overwrite=True)


@task(name="Publish group mapping", task_run_name="publish group mapping", **STEP_OPTIONS)
async def publish_group_role_mapping(
    credentials: ArizeCredentials,
    spec: SamlRoleMappingSpec,
    last_mapping: dict[str, str],
    store: str = DEFAULT_STORE,
) -> PublishedMapping:
    """Read the roles' ids, publish the group → role-id mapping and remember it for next time.

    Publishes a table artifact, writes ``group-role-mapping.json`` and ``.yaml`` into
    ``spec.output_dir`` when it is set, and keeps the mapping in the block ``store``.
    Every group whose role id differs from ``last_mapping`` is named in the
    result's ``changed`` and ``notes``.

    Example:
        ```python
        @flow
        async def publish(spec: SamlRoleMappingSpec) -> list[str]:
            policy = await RunbookPolicy.aload("default")
            last = await load_last_mapping()
            published = await publish_group_role_mapping(policy.credentials, spec, last)
            return published.changed
        ```

    Raises:
        LookupError: a mapped role does not exist (the run's verify step should have failed).
    """
    logger = get_run_logger()
    async with credentials.get_client() as client:
        ids = {role.name: role.id async for role in client.roles.list(is_predefined=False)}
    result = PublishedMapping(mappings=[])
    for mapping in spec.mappings:
        role_id = ids.get(mapping.role.name)
        if role_id is None:
            raise LookupError(f"role {mapping.role.name!r} of group {mapping.group!r} is missing")
        previous = last_mapping.get(mapping.group)
        line = GroupRole(group=mapping.group, role=mapping.role.name, role_id=role_id)
        if previous == role_id:
            line.since_last_run = "unchanged"
        elif previous is not None:
            line.since_last_run = "changed"
            line.previous_role_id = previous
            result.changed.append(mapping.group)
            result.notes.append(
                f"group {mapping.group}: role {mapping.role.name} id changed {previous} → "
                f"{role_id} since the last published mapping; update the IdP"
            )
        result.mappings.append(line)

    await acreate_table_artifact(
        table=[_row(line) for line in result.mappings],
        key=ARTIFACT_KEY,
        description=(
            f"SAML group → Arize role id ({len(result.mappings)} group(s), "
            f"{len(result.changed)} changed since the last run)"
        ),
    )
    if spec.output_dir:
        result.files = await asyncio.to_thread(_write_files, Path(spec.output_dir), result)
    await remember_mapping(store, {line.group: line.role_id for line in result.mappings})
    logger.info(
        "published %d group mapping(s), %d changed since the last run%s",
        len(result.mappings),
        len(result.changed),
        f": {', '.join(result.changed)}" if result.changed else "",
    )
    return result


def _row(line: GroupRole) -> dict[str, str]:
    status = line.since_last_run
    if line.previous_role_id:
        status = f"CHANGED (was {line.previous_role_id}): update the IdP"
    return {
        "group": line.group,
        "role": line.role,
        "role_id": line.role_id,
        "since last run": status,
    }


def _document(result: PublishedMapping) -> dict[str, list[dict[str, str]]]:
    return {
        "mappings": [
            {"group": line.group, "role": line.role, "role_id": line.role_id}
            for line in result.mappings
        ]
    }


def _write_files(directory: Path, result: PublishedMapping) -> list[str]:
    """Write both files; each replaces the old one atomically, so the IdP never reads half."""
    directory.mkdir(parents=True, exist_ok=True)
    document = _document(result)
    texts = {
        f"{FILE_STEM}.json": json.dumps(document, indent=2) + "\n",
        f"{FILE_STEM}.yaml": yaml.safe_dump(document, sort_keys=False),
    }
    written = []
    for name, text in texts.items():
        path = directory / name
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(str(path))
    return written
