"""``arize-runbooks doctor``: check every part a runbook needs, say what is wrong and the fix.

Read-only: every probe is a GET (Arize, Prefect) or a read method (Slack). Checks that need
an earlier part (the policy block needs Prefect; Arize and Slack need the policy) are
skipped, with the reason, when that part failed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.errors import EXIT_BUG

if TYPE_CHECKING:
    from arize_admin import AsyncArizeAdmin
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals

out = Console()

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "slack" / "manifest.yaml"
WORK_POOL = "arize-runbooks"
SETUP = "run `arize-runbooks setup`"


class Status(StrEnum):
    """How one check came out."""

    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class Check:
    """One row of the report; ``fix`` is empty when nothing needs doing."""

    part: str
    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Report:
    """Every check, in the order they ran."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        """No check failed (skipped optional parts are fine)."""
        return all(c.status is not Status.FAIL for c in self.checks)

    def add(self, part: str, name: str, status: Status, detail: str, fix: str = "") -> Check:
        check = Check(part, name, status, detail, fix)
        self.checks.append(check)
        return check


# What each runbook reads before it plans; a 403 on any of them stops that runbook.
Probe = Callable[["AsyncArizeAdmin"], AsyncIterator[Any]]
PROBES: dict[str, Probe] = {
    "users": lambda c: c.users.list(limit=1),
    "organizations": lambda c: c.organizations.list(limit=1),
    "spaces": lambda c: c.spaces.list(limit=1),
    "roles": lambda c: c.roles.list(limit=1),
    "space role bindings": lambda c: c.role_bindings.list(resource_type="SPACE", limit=1),
    "project role bindings": lambda c: c.role_bindings.list(resource_type="PROJECT", limit=1),
    "resource restrictions": lambda c: c.resource_restrictions.list(limit=1),
    "service keys": lambda c: c.api_keys.list(key_type="SERVICE", limit=1),
    "audit logs": lambda c: c.audit_logs.list(limit=1),
}
NEEDS: dict[str, tuple[str, ...]] = {
    "onboard-team": ("organizations", "spaces", "roles", "users", "space role bindings",
                     "service keys"),
    "saml-role-mapping": ("roles", "space role bindings", "project role bindings"),
    "restrict-project": ("organizations", "spaces", "users", "roles", "project role bindings",
                         "resource restrictions"),
    "rotate-service-keys": ("spaces", "service keys"),
    "offboard-user": ("users", "space role bindings", "project role bindings", "service keys",
                      "audit logs"),
}
"""Reads per runbook; a runbook not listed here is checked against every probe."""


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes the Slack app manifest asks for."""
    manifest = yaml.safe_load(path.read_text())
    return list(manifest["oauth_config"]["scopes"]["bot"])


async def diagnose(policy_name: str = "default", routing: Path | None = None) -> Report:
    """Run every check; never raises for a broken part (that is what the report is for)."""
    report = Report([])
    reachable = await _check_prefect(report)
    policy = await _check_policy(report, policy_name) if reachable else None
    if not reachable:
        report.add("prefect", "policy block", Status.SKIP, "needs the Prefect API")
    if policy is not None:
        await _check_arize(report, policy)
        await _check_slack(report, policy.approvals, policy.approval.approver_group)
    else:
        report.add("arize", "API key", Status.SKIP, "needs the policy block")
        report.add("slack", "bot token", Status.SKIP, "needs the policy block")
    _check_signing_secret(report, policy)
    deployments = await _check_prefect_objects(report, policy) if reachable else set()
    _check_routing(report, routing, deployments if reachable else None)
    return report


# -- Prefect ------------------------------------------------------------------------------


async def _check_prefect(report: Report) -> bool:
    import httpx
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value() or "(ephemeral: PREFECT_API_URL is not set)"
    if not PREFECT_API_URL.value():
        report.add(
            "prefect", "API", Status.FAIL, "PREFECT_API_URL is not set: runs would go to a "
            "throwaway in-process server", "set PREFECT_API_URL to your server's /api URL",
        )
        return False
    try:
        async with get_client() as client:
            unhealthy = await client.api_healthcheck()
            if unhealthy is not None:
                raise unhealthy
            # Health answers without credentials; this call proves the auth works too.
            await client.read_work_pools(limit=1)
    except httpx.HTTPStatusError as ex:
        code = ex.response.status_code
        fix = ("set PREFECT_API_AUTH_STRING (server auth) or PREFECT_API_KEY (Prefect Cloud)"
               if code in (401, 403) else "check the server's log")
        report.add("prefect", "API", Status.FAIL, f"{url} answered {code}", fix)
        return False
    except (httpx.HTTPError, OSError) as ex:
        report.add(
            "prefect", "API", Status.FAIL, f"{url} does not answer ({type(ex).__name__})",
            "start it (`prefect server start`) or point PREFECT_API_URL at a running one",
        )
        return False
    report.add("prefect", "API", Status.OK, f"{url} answers, credentials accepted")
    return True


async def _check_policy(report: Report, name: str) -> RunbookPolicy | None:
    from pydantic import ValidationError

    from blocks.policy import RunbookPolicy

    try:
        policy = await RunbookPolicy.aload(name)
    except ValueError as ex:
        if isinstance(ex, ValidationError) or "Unable to find block document" not in str(ex):
            report.add("prefect", "policy block", Status.FAIL,
                       f"policy {name!r} does not load: {type(ex).__name__}", SETUP)
        else:
            report.add("prefect", "policy block", Status.FAIL,
                       f"no runbook policy {name!r} saved", SETUP)
        return None
    slack = "Slack approvals" if policy.approvals else "no Slack (Prefect UI / CLI approvals)"
    report.add("prefect", "policy block", Status.OK, f"policy {name!r}: {slack}")
    return policy


async def _check_prefect_objects(report: Report, policy: RunbookPolicy | None) -> set[str]:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from blocks import block_types
    from flows.registry import REGISTRY

    async with get_client() as client:
        missing_types = []
        for block in block_types():
            try:
                await client.read_block_type_by_slug(block.get_block_type_slug())
            except ObjectNotFound:
                missing_types.append(block.get_block_type_slug())
        if missing_types:
            report.add("prefect", "block types", Status.FAIL,
                       f"not registered: {', '.join(missing_types)}", SETUP)
        else:
            report.add("prefect", "block types", Status.OK, "registered (shown in the UI)")

        try:
            pool = await client.read_work_pool(WORK_POOL)
            report.add("prefect", "work pool", Status.OK, f"{pool.name} ({pool.type})")
        except ObjectNotFound:
            report.add("prefect", "work pool", Status.FAIL, f"no work pool {WORK_POOL!r}", SETUP)

        limit_name = policy.rate_limit if policy is not None else "arize-api"
        if limit_name:
            try:
                limit = await client.read_global_concurrency_limit_by_name(limit_name)
                report.add("prefect", "rate limit", Status.OK,
                           f"{limit.name}: {limit.limit} slots, decay "
                           f"{limit.slot_decay_per_second}/s")
            except ObjectNotFound:
                report.add("prefect", "rate limit", Status.FAIL,
                           f"no global concurrency limit {limit_name!r} (runs refuse to apply)",
                           SETUP)
        else:
            report.add("prefect", "rate limit", Status.SKIP, "the policy sets no rate limit")

        found, missing = set(), []
        for runbook in REGISTRY:
            name = f"{runbook.name}/{runbook.name}"
            try:
                await client.read_deployment_by_name(name)
                found.add(name)
            except ObjectNotFound:
                missing.append(name)
        if missing:
            report.add("prefect", "deployments", Status.FAIL,
                       f"missing: {', '.join(missing)}", SETUP)
        else:
            report.add("prefect", "deployments", Status.OK, f"{len(found)} runbooks deployed")
    return found


# -- Arize --------------------------------------------------------------------------------


async def _check_arize(report: Report, policy: RunbookPolicy) -> None:
    from arize_admin import APIConnectionError, AuthenticationError, PermissionDeniedError
    from arize_admin._exceptions import APIStatusError
    from flows.registry import REGISTRY

    async with policy.credentials.get_client() as client:
        where = client.base_url
        try:
            await _first(PROBES["users"](client))
        except APIConnectionError as ex:
            report.add("arize", "API", Status.FAIL, f"{where} does not answer ({ex})",
                       "check the region or base URL in the policy (setup --arize-region / "
                       "--arize-base-url) and this machine's network")
            return
        except AuthenticationError:
            report.add("arize", "API", Status.OK, f"{where} answers")
            report.add("arize", "API key", Status.FAIL, "401: the key does not authenticate",
                       "the key is wrong, revoked or expired, or the region/profile is another "
                       "account's; save a current admin key with `arize-runbooks setup`")
            return
        except PermissionDeniedError:
            pass  # authenticated; the rights are judged below
        report.add("arize", "API", Status.OK, f"{where} answers")
        report.add("arize", "API key", Status.OK, "authenticates")

        denied: dict[str, str] = {}
        for probe, call in PROBES.items():
            try:
                await _first(call(client))
            except PermissionDeniedError as ex:
                denied[probe] = ex.detail or ex.title
            except APIStatusError as ex:
                denied[probe] = f"{ex.status_code} {ex.title}"
    for runbook in REGISTRY:
        needs = NEEDS.get(runbook.name, tuple(PROBES))
        refused = [n for n in needs if n in denied]
        if refused:
            report.add(
                "arize", f"rights: {runbook.name}", Status.FAIL,
                f"403 reading {', '.join(refused)} ({denied[refused[0]]})",
                "the key lacks admin rights: use an account admin's key (`arize-runbooks setup`)",
            )
        else:
            report.add("arize", f"rights: {runbook.name}", Status.OK,
                       f"reads {', '.join(needs)}")


async def _first(items: AsyncIterator[Any]) -> None:
    async for _ in items:
        return


# -- Slack --------------------------------------------------------------------------------


async def _check_slack(
    report: Report, approvals: SlackApprovals | None, group: str | None
) -> None:
    from slack_sdk.errors import SlackApiError

    if approvals is None:
        report.add("slack", "bot token", Status.SKIP,
                   "Slack approvals not configured; gates are answered in the Prefect UI or CLI")
        return
    client = approvals.get_client()
    try:
        answer = await client.auth_test()
    except SlackApiError as ex:
        report.add("slack", "bot token", Status.FAIL,
                   f"auth.test: {ex.response.get('error', 'refused')}",
                   "reinstall the app and save its Bot User OAuth Token (xoxb-…) with setup")
        return
    except Exception as ex:
        report.add("slack", "bot token", Status.FAIL,
                   f"Slack Web API does not answer ({type(ex).__name__})",
                   "check the network (or the policy's Slack base URL)")
        return
    report.add("slack", "bot token", Status.OK,
               f"valid: bot {answer.get('user_id')} in team {answer.get('team')}")
    granted = {
        s.strip() for s in (answer.headers.get("x-oauth-scopes") or "").split(",") if s.strip()
    }
    wanted = manifest_scopes()
    lacking = [s for s in wanted if s not in granted]
    if lacking:
        report.add("slack", "scopes", Status.FAIL, f"the token lacks {', '.join(lacking)}",
                   "add them under OAuth & Permissions (or recreate the app from "
                   "slack/manifest.yaml) and reinstall the app")
    else:
        report.add("slack", "scopes", Status.OK, f"{len(wanted)} scopes of the manifest granted")
    await _check_channel(report, client, approvals.channel)
    if group:
        try:
            await client.usergroups_users_list(usergroup=group)
            report.add("slack", "approver group", Status.OK, group)
        except SlackApiError as ex:
            report.add("slack", "approver group", Status.FAIL,
                       f"{group}: {ex.response.get('error')}",
                       "set the group's id (S0…) in the policy; usergroups:read is needed")


async def _check_channel(report: Report, client: Any, channel: str) -> None:
    from slack_sdk.errors import SlackApiError

    try:
        found = await _find_channel(client, channel)
    except SlackApiError as ex:
        report.add("slack", "channel", Status.FAIL, f"{channel}: {ex.response.get('error')}",
                   "grant channels:read and groups:read so the channel can be checked")
        return
    if found is None:
        report.add("slack", "channel", Status.FAIL, f"no channel {channel}",
                   "create it, or set the policy's channel to an existing one")
    elif found.get("is_archived"):
        report.add("slack", "channel", Status.FAIL, f"{channel} is archived",
                   "unarchive it or choose another channel")
    elif not found.get("is_member"):
        report.add("slack", "channel", Status.FAIL, f"the bot is not in {channel}",
                   f"invite it: /invite @<app name> in {channel}")
    else:
        report.add("slack", "channel", Status.OK, f"{channel} ({found['id']}), bot is a member")


async def _find_channel(client: Any, channel: str) -> dict[str, Any] | None:
    from slack_sdk.errors import SlackApiError

    if not channel.startswith("#"):
        try:
            return (await client.conversations_info(channel=channel))["channel"]
        except SlackApiError as ex:
            if ex.response.get("error") != "channel_not_found":
                raise
            return None
    name, cursor = channel.lstrip("#"), None
    while True:
        page = await client.conversations_list(
            types="public_channel,private_channel", limit=200, cursor=cursor
        )
        for found in page["channels"]:
            if found.get("name") == name:
                return found
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


# -- webhook service ----------------------------------------------------------------------


def _check_signing_secret(report: Report, policy: RunbookPolicy | None) -> None:
    from pydantic import ValidationError

    from webhooks.settings import Settings

    try:
        settings = Settings()
    except ValidationError as ex:
        first = ex.errors()[0]
        report.add("webhooks", "settings", Status.FAIL,
                   f"{'.'.join(map(str, first['loc'])) or 'settings'}: {first['msg']}",
                   "fix the ARIZE_RUNBOOKS_* environment of `arize-runbooks serve`")
        return
    slack = policy is not None and policy.approvals is not None
    if settings.slack_signing_secret is None:
        # Only the webhook service verifies Slack's requests, so only its environment has it.
        report.add("webhooks", "signing secret", Status.FAIL if slack else Status.SKIP,
                   "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set: Slack clicks are refused",
                   "export the app's Signing Secret (Basic Information) where "
                   "`arize-runbooks serve` runs" if slack else "")
        return
    report.add("webhooks", "signing secret", Status.OK, "set for the webhook service")


def _check_routing(report: Report, routing: Path | None, deployments: set[str] | None) -> None:
    from pydantic import ValidationError

    from webhooks.routing import Router, RoutingConfigError
    from webhooks.settings import Settings

    if routing is None:
        try:
            routing = Settings().routing_config
        except ValidationError:
            routing = None
    if routing is None:
        report.add("webhooks", "routing", Status.SKIP,
                   "no routing config (--routing or ARIZE_RUNBOOKS_ROUTING_CONFIG): webhooks "
                   "start no runs")
        return
    try:
        router = Router.from_file(routing)
    except RoutingConfigError as ex:
        report.add("webhooks", "routing", Status.FAIL, f"{routing}: {'; '.join(ex.errors)}",
                   "fix the file; `arize-runbooks serve` refuses to start with it")
        return
    routes = router.config.routes
    unknown = sorted({r.deployment for r in routes} - deployments) if deployments else []
    if deployments is not None and unknown:
        report.add("webhooks", "routing", Status.FAIL,
                   f"{routing}: routes to missing deployment(s) {', '.join(unknown)}",
                   "deploy them (setup) or fix the routes' deployment names")
        return
    report.add("webhooks", "routing", Status.OK, f"{routing}: {len(routes)} routes valid")


# -- command ------------------------------------------------------------------------------


def render(report: Report, console: Console = out) -> None:
    """The report as a rich table."""
    table = Table(title="arize-runbooks doctor", show_lines=False)
    for column in ("part", "check", "status", "finding", "fix"):
        table.add_column(column, overflow="fold")
    style = {Status.OK: "green", Status.FAIL: "bold red", Status.SKIP: "dim"}
    for c in report.checks:
        table.add_row(c.part, c.name, f"[{style[c.status]}]{c.status.value}[/]",
                      escape(c.detail), escape(c.fix))
    console.print(table)
    failed = sum(c.status is Status.FAIL for c in report.checks)
    console.print("[green]all good[/]" if report.ok else f"[red]{failed} problem(s)[/]")


def doctor(
    policy: Annotated[str, typer.Option(help="Name of the saved runbook policy block.")] = (
        "default"
    ),
    routing: Annotated[
        Path | None,
        typer.Option(help="Routing YAML to check (default: ARIZE_RUNBOOKS_ROUTING_CONFIG)."),
    ] = None,
    output: Annotated[str, typer.Option(help="table or json.")] = "table",
    ha: Annotated[bool, typer.Option(help="Also check crash recovery (cli/doctor_ha.py).")] = False,
) -> None:
    """Check Prefect, the policy, Arize, Slack and the webhook service; exit 0 only if all ok."""
    from cli.progress import quiet_prefect_console

    if output not in {"table", "json"}:
        raise typer.BadParameter("use table or json", param_hint="--output")
    quiet_prefect_console()
    report = asyncio.run(diagnose(policy, routing))
    if ha:
        from cli.doctor_ha import check_ha

        asyncio.run(check_ha(report))
    if output == "json":
        typer.echo(json.dumps({"ok": report.ok, "checks": [asdict(c) for c in report.checks]},
                              indent=2))
    else:
        render(report)
    if not report.ok:
        raise typer.Exit(EXIT_BUG)

