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

from cli.errors import EXIT_USAGE

if TYPE_CHECKING:
    from arize_admin import AsyncArizeAdmin
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals
    from webhooks.routing import Router
    from webhooks.settings import Settings

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


async def diagnose(
    policy_name: str = "default",
    routing: Path | None = None,
    service_url: str | None = None,
    probe_timeout: float = 60.0,
) -> Report:
    """Run every check; never raises for a broken part (that is what the report is for).

    Args:
        policy_name: The saved policy block.
        routing: The routing file `serve` runs with (default: its settings').
        service_url: A running `serve` to ask for its /readyz (skipped when None).
        probe_timeout: How long a worker may take to run the environment probe.
    """
    report = Report([])
    reachable = await _check_prefect(report)
    policy = await _check_policy(report, policy_name) if reachable else None
    if not reachable:
        report.add("prefect", "policy block", Status.SKIP, "needs the Prefect API")
    if policy is not None:
        await _check_arize(report, policy)
        await _check_slack(report, policy.slack, policy.approval.approver_group)
    else:
        report.add("arize", "API key", Status.SKIP, "needs the policy block")
        report.add("slack", "bot token", Status.SKIP, "needs the policy block")
    settings = _check_env_file(report)
    deployments = await _check_prefect_objects(report, policy) if reachable else set()
    router = _check_routing(report, routing, settings, deployments if reachable else None)
    _check_scim(report, router)
    if settings is not None:
        _check_environment(report, settings, policy, router)
        if service_url:
            await _check_service(report, service_url, settings)
        if reachable:
            await _check_worker(report, settings, probe_timeout)
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
    slack = "Slack approvals" if policy.slack else "no Slack (Prefect UI / CLI approvals)"
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
        for name in _wanted_deployments():
            try:
                await client.read_deployment_by_name(name)
                found.add(name)
            except ObjectNotFound:
                missing.append(name)
        runbooks = sum(f"{r.name}/{r.name}" in found for r in REGISTRY)
        if missing:
            report.add("prefect", "deployments", Status.FAIL,
                       f"missing: {', '.join(missing)}", SETUP)
        else:
            # Counted as the Prefect UI lists them: every deployment of prefect.yaml.
            report.add("prefect", "deployments", Status.OK,
                       f"{len(found)} deployments ({runbooks} runbooks, "
                       f"{len(found) - runbooks} helper flows)")
    return found


def _wanted_deployments() -> list[str]:
    """``flow/deployment`` of every deployment prefect.yaml declares."""
    wanted = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return [
        f"{d['entrypoint'].rsplit(':', 1)[1].replace('_', '-')}/{d['name']}" for d in wanted
    ]


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


def _check_env_file(report: Report) -> Settings | None:
    """The env file `serve` and `worker` load, and the settings they would read from it."""
    from pydantic import ValidationError

    from config.env_file import env_file_path
    from config.settings import env_name
    from webhooks.settings import Settings

    path = env_file_path()
    if not path.is_file():
        report.add("environment", "env file", Status.FAIL, f"{path} does not exist",
                   f"{SETUP}: it writes the service key and the secrets `serve` and "
                   "`arize-runbooks worker` load")
    elif path.stat().st_mode & 0o077:
        report.add("environment", "env file", Status.FAIL,
                   f"{path} is readable by others (mode {path.stat().st_mode & 0o777:o})",
                   f"chmod 600 {path}: it holds secrets")
    else:
        report.add("environment", "env file", Status.OK, f"{path} (0600)")
    try:
        # What `serve` and `worker` started from this shell see: the environment wins.
        return Settings(_env_file=path if path.is_file() else None)
    except ValidationError as ex:
        first = ex.errors()[0]
        field = ".".join(map(str, first["loc"])) or "settings"
        report.add("environment", "settings", Status.FAIL,
                   f"{env_name(field)}: {first['msg'].removeprefix('Value error, ')}",
                   f"correct it in this environment or in {path}")
        return None


def _check_environment(
    report: Report, settings: Settings, policy: RunbookPolicy | None, router: Router | None
) -> None:
    """What `serve` and the workers need, as they would read it (env file, then environment)."""
    import os

    from config.env_file import read_env_file
    from config.settings import fingerprint

    key = settings.service_key
    if key is None:
        report.add("environment", "service key", Status.FAIL,
                   "ARIZE_RUNBOOKS_SERVICE_KEY is not set: `serve` cannot sign triggers or "
                   "votes, and workers cannot verify them",
                   f"{SETUP} (it generates the key into the env file)")
    else:
        shell = os.environ.get("ARIZE_RUNBOOKS_SERVICE_KEY")
        filed = read_env_file().get("ARIZE_RUNBOOKS_SERVICE_KEY")
        if shell and filed and shell != filed:
            report.add("environment", "service key", Status.FAIL,
                       f"this shell's ARIZE_RUNBOOKS_SERVICE_KEY ({fingerprint(shell)}) differs "
                       f"from the env file's ({fingerprint(filed)})",
                       "unset it, or start every process with the same value")
        else:
            report.add("environment", "service key", Status.OK,
                       f"set, fingerprint {settings.service_key_fingerprint}")
    slack = policy is not None and policy.slack is not None
    if settings.slack_signing_secret is None:
        # Only the webhook service verifies Slack's requests, so only its environment has it.
        report.add("environment", "signing secret", Status.FAIL if slack else Status.SKIP,
                   "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set: Slack clicks are refused",
                   "export the app's Signing Secret (Basic Information) and rerun setup, or set "
                   "it where `arize-runbooks serve` runs" if slack else "")
    else:
        report.add("environment", "signing secret", Status.OK, "set for the webhook service")
    if settings.slack_bot_token is None:
        report.add("environment", "bot token", Status.FAIL if slack else Status.SKIP,
                   "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN is not set: `serve` cannot answer clicks",
                   "rerun setup with it exported (it goes into the env file)" if slack else "")
    elif slack and policy is not None and policy.slack is not None and (
        policy.slack.bot_token.get_secret_value()
        != settings.slack_bot_token.get_secret_value()
    ):
        report.add("environment", "bot token", Status.FAIL,
                   "the bot token `serve` gets differs from the policy's",
                   "rerun setup with the current token exported")
    else:
        report.add("environment", "bot token", Status.OK, "set for the webhook service")
    half = settings.slack_half_configured()
    if half and not slack:
        report.add("environment", "slack", Status.FAIL, half, "set both, or neither")
    if router is not None:
        from webhooks.sources import SOURCES

        routed = router.routed_sources
        missing = settings.unconfigured_sources(routed)
        for source in sorted(routed):
            if source in missing:
                report.add("environment", f"source {source}", Status.FAIL,
                           f"{missing[source]} is not set: `serve` refuses to start with "
                           f"{source} routes", "set it (and rerun setup to keep it in the env "
                           "file), or remove the source's routes")
            elif source in SOURCES:
                report.add("environment", f"source {source}", Status.OK,
                           f"secret set; deliveries signed with {SOURCES[source].scheme}")


async def _check_service(report: Report, url: str, settings: Settings) -> None:
    """A running `serve`: its own readiness and its service-key fingerprint."""
    import httpx

    readyz = f"{url.rstrip('/')}/readyz"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = (await http.get(readyz)).json()
    except (httpx.HTTPError, ValueError) as ex:
        report.add("serve", "running service", Status.FAIL,
                   f"{readyz} does not answer ({type(ex).__name__})",
                   "start `arize-runbooks serve`, or pass --service-url where it listens")
        return
    config = (answer.get("checks") or {}).get("configuration") or {}
    if config.get("status") == "down":
        report.add("serve", "configuration", Status.FAIL, str(config.get("error")),
                   "set the variables named for `serve` and restart it")
    down = [n for n, c in (answer.get("checks") or {}).items()
            if n != "configuration" and c.get("status") == "down"]
    if down:
        report.add("serve", "readiness", Status.FAIL, f"{readyz}: down: {', '.join(down)}",
                   "see the service's log")
    else:
        report.add("serve", "readiness", Status.OK, f"{readyz}: ready")
    _compare_fingerprints(report, "serve", answer.get("service_key_fingerprint"), settings)


def _compare_fingerprints(
    report: Report, part: str, theirs: str | None, settings: Settings
) -> None:
    ours = settings.service_key_fingerprint
    if theirs is None:
        report.add(part, "service key", Status.FAIL,
                   f"ARIZE_RUNBOOKS_SERVICE_KEY is not set for the {part}",
                   f"start it with `arize-runbooks {part}` (it loads the env file)")
    elif ours is not None and theirs != ours:
        report.add(part, "service key", Status.FAIL,
                   f"the {part}'s key (fingerprint {theirs}) differs from the env file's "
                   f"({ours}): votes and triggers signed by one are refused by the other",
                   f"restart the {part} with `arize-runbooks {part}` after `setup`")
    else:
        report.add(part, "service key", Status.OK, f"same key (fingerprint {theirs})")


async def _check_worker(report: Report, settings: Settings, wait: float) -> None:
    """A worker's flow-run environment, by running the probe deployment on the pool."""
    from prefect import get_client
    from prefect.client.schemas.objects import WorkerStatus
    from prefect.exceptions import ObjectNotFound

    from flows.probe_environment import probe_worker

    async with get_client() as client:
        try:
            workers = await client.read_workers_for_work_pool(WORK_POOL)
            await client.read_deployment_by_name("probe-environment/probe-environment")
        except ObjectNotFound:
            report.add("worker", "environment", Status.SKIP,
                       "no work pool or probe deployment yet (see above)")
            return
        online = [w for w in workers if w.status == WorkerStatus.ONLINE]
        if not online:
            report.add("worker", "environment", Status.SKIP,
                       f"no worker online on {WORK_POOL!r}: start `arize-runbooks worker`, "
                       "then run doctor again to check its environment")
            return
        try:
            found = await probe_worker(client, wait=wait)
        except (TimeoutError, RuntimeError) as ex:
            report.add("worker", "environment", Status.FAIL,
                       f"the probe run did not complete: {ex or 'timed out'}",
                       "check the worker's log")
            return
    if found.get("settings_error"):
        report.add("worker", "settings", Status.FAIL, found["settings_error"],
                   "correct the worker's environment or env file")
    heartbeat = found.get("heartbeat_frequency")
    report.add("worker", "heartbeat", Status.OK if heartbeat else Status.FAIL,
               f"flow heartbeat every {heartbeat} s" if heartbeat else
               "PREFECT_FLOWS_HEARTBEAT_FREQUENCY is not set: crash recovery cannot see a "
               "dead run", "start the worker with `arize-runbooks worker`")
    _compare_fingerprints(report, "worker", found.get("service_key_fingerprint"), settings)


def _check_routing(
    report: Report, routing: Path | None, settings: Settings | None, deployments: set[str] | None
) -> Router | None:
    from webhooks.routing import Router, RoutingConfigError

    if routing is None and settings is not None:
        routing = settings.routing_config
    if routing is None:
        report.add("webhooks", "routing", Status.SKIP,
                   "no routing config (--routing or ARIZE_RUNBOOKS_ROUTING_CONFIG): webhooks "
                   "start no runs")
        return None
    try:
        router = Router.from_file(routing)
    except RoutingConfigError as ex:
        report.add("webhooks", "routing", Status.FAIL, f"{routing}: {'; '.join(ex.errors)}",
                   "fix the file; `arize-runbooks serve` refuses to start with it")
        return None
    routes = router.config.routes
    unknown = sorted({r.deployment for r in routes} - deployments) if deployments else []
    if deployments is not None and unknown:
        report.add("webhooks", "routing", Status.FAIL,
                   f"{routing}: routes to missing deployment(s) {', '.join(unknown)}",
                   "deploy them (setup) or fix the routes' deployment names")
        return router
    report.add("webhooks", "routing", Status.OK, f"{routing}: {len(routes)} routes valid")
    return router


def _check_scim(report: Report, router: Router | None) -> None:
    from webhooks.scim.checks import scim_findings

    for finding in scim_findings(router):
        status = Status.SKIP if finding.ok is None else (Status.OK if finding.ok else Status.FAIL)
        report.add("scim", "endpoint", status, finding.detail, finding.fix)


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
    service_url: Annotated[
        str | None,
        typer.Option(help="A running `arize-runbooks serve` to check, e.g. "
                     "http://127.0.0.1:8787 (its /readyz and service-key fingerprint)."),
    ] = None,
    output: Annotated[str, typer.Option(help="table or json.")] = "table",
    ha: Annotated[bool, typer.Option(
        help="Also check crash recovery: the automations, the deployments' heartbeat "
        "setting, that worker runs heartbeat, and that Prefect's services act on events "
        "(a probe automation; up to 60 s).")] = False,
) -> None:
    """Check Prefect, the policy, Arize, Slack, the env file, serve and a worker; exit 0 if ok.

    A worker online on the pool runs a probe flow that reports its environment (the service
    key's fingerprint, the heartbeat setting); without one that check is skipped.
    """
    from cli.progress import quiet_prefect_console

    if output not in {"table", "json"}:
        raise typer.BadParameter("use table or json", param_hint="--output")
    quiet_prefect_console()
    report = asyncio.run(diagnose(policy, routing, service_url))
    if ha:
        from cli.doctor_ha import check_ha

        asyncio.run(check_ha(report))
    if output == "json":
        typer.echo(json.dumps({"ok": report.ok, "checks": [asdict(c) for c in report.checks]},
                              indent=2))
    else:
        render(report)
    if not report.ok:
        raise typer.Exit(EXIT_USAGE)

