"""The group → role-id mapping and the SAML rules: remembered between runs, published after each.

With ``identity_provider`` and ``rules`` the runbook writes the rules into Arize itself; the
published JSON and YAML then also carry those rules as Arize holds them after the run, in
order: the record of what was applied.

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
from typing import Any

import yaml
from prefect import get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.blocks.system import Secret
from prefect.variables import Variable
from pydantic import BaseModel, Field

from arize_admin import AsyncArizeAdmin, CustomRole
from blocks.arize import ArizeCredentials
from flows.saml_role_mapping.spec import IdentityProviderSpec, SamlRoleMappingSpec
from tasks.retry import STEP_OPTIONS
from tasks.steps.saml import managed

DEFAULT_STORE = "saml-role-mapping-last"
ARTIFACT_KEY = "saml-group-role-mapping"
RULES_ARTIFACT_KEY = "saml-rules-applied"
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


class AppliedRule(BaseModel):
    """One SAML rule as Arize holds it after the run, in configuration order."""

    position: int = Field(description="1-based place among the rules the runbook manages.")
    group: str
    account_role: str | None = None
    space: str | None = None
    space_role: str | None = None
    project: str | None = None
    project_role: str | None = None


class PublishedMapping(BaseModel):
    """What the publish step wrote, and which groups need the IdP updated."""

    mappings: list[GroupRole]
    saml_configuration: str | None = Field(
        default=None, description="The configuration holding the rules, if the spec names one."
    )
    rules: list[AppliedRule] = Field(default_factory=list)
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


def rules_store(store: str) -> str:
    """The block that keeps the spec's rules as last applied, next to the mapping's."""
    return f"{store}-rules"


@task(name="Load last applied rules", task_run_name="load {store}-rules")
async def load_last_rules(store: str = DEFAULT_STORE) -> list[dict[str, Any]] | None:
    """The spec's rules (as dumped) when they were last applied; None before the first apply.

    The next plan compares them with the spec: the same rules with rule changes planned
    means Arize was edited by hand since.
    """
    try:
        value = (await Secret.aload(rules_store(store))).get()
    except ValueError:
        return None
    return value if isinstance(value, list) else None


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
        if spec.identity_provider is not None and spec.rules:
            result.saml_configuration, result.rules = await _applied_rules(
                client, spec.identity_provider
            )
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
    if result.saml_configuration is not None:
        await acreate_table_artifact(
            table=[rule.model_dump(mode="json") for rule in result.rules],
            key=RULES_ARTIFACT_KEY,
            description=(
                f"SAML rules of {result.saml_configuration} as applied, in order "
                f"({len(result.rules)} rule(s); first match wins)"
            ),
        )
    if spec.output_dir:
        result.files = await asyncio.to_thread(_write_files, Path(spec.output_dir), result)
    await remember_mapping(store, {line.group: line.role_id for line in result.mappings})
    if result.saml_configuration is not None:
        applied = [rule.model_dump(mode="json") for rule in spec.rules]
        await Secret(value=applied).asave(rules_store(store), overwrite=True)
    logger.info(
        "published %d group mapping(s), %d changed since the last run%s",
        len(result.mappings),
        len(result.changed),
        f": {', '.join(result.changed)}" if result.changed else "",
    )
    return result


async def _applied_rules(
    client: AsyncArizeAdmin, wanted: IdentityProviderSpec
) -> tuple[str, list[AppliedRule]]:
    """The configuration's managed rules as Arize holds them now, in words."""
    idps = [idp async for idp in client.saml_identity_providers.list(limit=100)]
    idp = next(
        i
        for i in idps
        if i.id == wanted.id
        or i.name == wanted.name
        or (wanted.email_domain or "").lower() in i.email_domains
    )
    names = {r.id: r.name async for r in client.roles.list()}
    names |= {s.id: s.name async for s in client.spaces.list(limit=100)}
    names |= {p.id: p.name async for p in client.projects.list(limit=100)}
    live = [m async for m in client.saml_identity_providers.role_mappings.list(idp.id)]
    rules = []
    for n, mapping in enumerate(managed(live, wanted.attribute_name), start=1):
        role = mapping.space_role
        space_role = None
        if role is not None:
            space_role = names.get(role.id, role.id) if isinstance(role, CustomRole) else role.name
        rules.append(
            AppliedRule(
                position=n,
                group=mapping.attribute_value,
                account_role=mapping.account_role,
                space=names.get(mapping.space_id or "", mapping.space_id) if role else None,
                space_role=space_role,
                project=names.get(mapping.project_id or "", mapping.project_id),
                project_role=names.get(mapping.project_role_id or "", mapping.project_role_id),
            )
        )
    return idp.name, rules


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


def _document(result: PublishedMapping) -> dict[str, Any]:
    document: dict[str, Any] = {
        "mappings": [
            {"group": line.group, "role": line.role, "role_id": line.role_id}
            for line in result.mappings
        ]
    }
    if result.saml_configuration is not None:
        # The record of what was applied: the rules as Arize holds them, in order.
        document["saml_configuration"] = {
            "name": result.saml_configuration,
            "rules": [rule.model_dump(mode="json", exclude_none=True) for rule in result.rules],
        }
    return document


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
