"""``arize-runbooks setup``: everything Prefect needs before the first run, made to match.

Checks the Arize key, saves the runbook policy block, registers the project's block types (so
the Prefect UI shows their forms), creates the work pool and the global rate limit, deploys the
runbooks from prefect.yaml, and writes the env file (mode 0600) that ``serve`` and ``worker``
load: the service key (generated once), the Slack token and signing secret, the sources'
secrets and the Prefect API URL. Interactive with prompts, or entirely by flags and
environment variables with ``--no-input``. Idempotent: a second run compares each part with
what exists, changes only what differs and says which. Secrets are compared, never printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.table import Table

from cli.errors import CliError

if TYPE_CHECKING:
    from blocks.policy import RunbookPolicy

out = Console()
ROOT = Path(__file__).resolve().parents[1]
WORK_POOL = "arize-runbooks"


@dataclass
class Outcome:
    """What setup did to one part: created, updated (which fields), or unchanged."""

    part: str
    result: str
    detail: str = ""


#: The rate limit setup creates unless told otherwise: one Prefect global concurrency limit that
#: every worker's runs share, with as many slots as Arize requests per second, draining at that
#: rate. Benches of the shipped configuration read these.
RATE_LIMIT = "arize-api"
RATE_LIMIT_PER_SECOND = 10


@dataclass
class Answers:
    """The policy as flags, env and prompts give it; ``None`` keeps the saved value."""

    arize_api_key: str | None
    arize_region: str | None
    arize_base_url: str | None
    slack: bool | None
    slack_bot_token: str | None
    slack_channel: str | None
    slack_base_url: str | None
    approver_emails: list[str]
    approver_slack_ids: list[str]
    approver_group: str | None
    quorum: int | None
    key_store_prefix: str | None
    rate_limit: str


def setup(
    policy: Annotated[str, typer.Option(help="Name of the runbook policy block to save.")] = (
        "default"
    ),
    arize_api_key: Annotated[
        str | None,
        typer.Option(envvar="ARIZE_API_KEY", help="An Arize account admin's API key.",
                     show_default=False),
    ] = None,
    arize_region: Annotated[
        str | None,
        typer.Option(envvar="ARIZE_REGION",
                     help="ca-central-1a, eu-west-1a, us-central-1a or us-east-1b."),
    ] = None,
    arize_base_url: Annotated[
        str | None,
        typer.Option(envvar="ARIZE_BASE_URL", help="API host instead of a region (or emulator)."),
    ] = None,
    slack: Annotated[
        bool | None,
        typer.Option("--slack/--no-slack",
                     help="Ask for approvals in Slack (default: keep what is saved)."),
    ] = None,
    slack_bot_token: Annotated[
        str | None,
        typer.Option(envvar=["ARIZE_RUNBOOKS_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"],
                     help="The app's Bot User OAuth Token (xoxb-…).", show_default=False),
    ] = None,
    slack_channel: Annotated[
        str | None, typer.Option(help="Channel for approval requests, e.g. #arize-approvals.")
    ] = None,
    slack_base_url: Annotated[
        str | None,
        typer.Option(envvar="ARIZE_RUNBOOKS_SLACK_BASE_URL",
                     help="Slack Web API base URL (Enterprise Grid's own host, or the emulator)."),
    ] = None,
    approver_email: Annotated[
        list[str] | None, typer.Option(help="E-mail of an approver (repeat for several).")
    ] = None,
    approver_slack_id: Annotated[
        list[str] | None, typer.Option(help="Slack user id of an approver (repeatable).")
    ] = None,
    approver_group: Annotated[
        str | None, typer.Option(help="Slack user group whose members may approve.")
    ] = None,
    quorum: Annotated[
        int | None, typer.Option(min=1, help="Distinct approvals a destructive run needs.")
    ] = None,
    key_store_prefix: Annotated[
        str | None, typer.Option(help="Prefix of the Secret blocks holding new key values.")
    ] = None,
    rate_limit: Annotated[
        str, typer.Option(help="Prefect global concurrency limit shared by all workers.")
    ] = RATE_LIMIT,
    rate_limit_per_second: Annotated[
        int, typer.Option(min=1, help="Arize requests per second, across all runs.")
    ] = RATE_LIMIT_PER_SECOND,
    deploy: Annotated[
        bool, typer.Option("--deploy/--no-deploy", help="Deploy the runbooks (prefect.yaml).")
    ] = True,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; take flags and env only.")
    ] = False,
    skip_checks: Annotated[
        bool, typer.Option("--skip-checks", help="Save the Arize key without trying it first.")
    ] = False,
    output: Annotated[str, typer.Option(help="table or json (what changed, for scripts).")] = (
        "table"
    ),
) -> None:
    """Save the policy, register block types, create the work pool and rate limit, deploy."""
    from cli.progress import quiet_prefect_console

    quiet_prefect_console()
    answers = Answers(
        arize_api_key=arize_api_key, arize_region=arize_region, arize_base_url=arize_base_url,
        slack=slack, slack_bot_token=slack_bot_token, slack_channel=slack_channel,
        slack_base_url=slack_base_url, approver_emails=list(approver_email or []),
        approver_slack_ids=list(approver_slack_id or []), approver_group=approver_group,
        quorum=quorum, key_store_prefix=key_store_prefix, rate_limit=rate_limit,
    )
    interactive = not no_input and sys.stdin.isatty()
    if output not in {"table", "json"}:
        raise typer.BadParameter("use table or json", param_hint="--output")
    outcomes = asyncio.run(
        _setup(policy, answers, interactive, rate_limit_per_second, deploy=deploy,
               check_key=not skip_checks)
    )
    changed = [o for o in outcomes if o.result != "unchanged"]
    if output == "json":
        typer.echo(json.dumps({"changed": len(changed), "parts": [asdict(o) for o in outcomes]},
                              indent=2))
        return
    table = Table(title="arize-runbooks setup")
    for column in ("part", "result", "detail"):
        table.add_column(column, overflow="fold")
    style = {"created": "green", "updated": "yellow", "unchanged": "dim"}
    for o in outcomes:
        table.add_row(o.part, f"[{style.get(o.result, '')}]{o.result}[/]", o.detail)
    out.print(table)
    out.print(f"{len(changed)} part(s) changed; next: [bold]arize-runbooks doctor[/]")


async def _setup(
    name: str, answers: Answers, interactive: bool, per_second: int, *, deploy: bool,
    check_key: bool = True,
) -> list[Outcome]:
    from blocks import register_blocks
    from cli.preflight import load_policy, prefect_reachable

    await prefect_reachable()
    outcomes = [await _block_types(register_blocks)]
    try:
        existing = await load_policy(name)
    except CliError:
        existing = None
    if interactive:
        _prompt(answers, existing)
    new_policy = _build_policy(answers, existing)
    if check_key:
        await _check_arize_key(new_policy)
    outcomes.append(await _save_policy(name, new_policy, existing))
    outcomes.append(await _work_pool())
    outcomes.append(await ensure_rate_limit(answers.rate_limit, per_second))
    outcomes.append(await _crash_recovery())
    if deploy:
        outcomes.append(await asyncio.to_thread(_deploy))
    outcomes.append(_env_file(new_policy))
    return outcomes


async def _check_arize_key(policy: RunbookPolicy) -> None:
    """One read of Arize with the key about to be saved; a refusal saves nothing."""
    from arize_admin import APIConnectionError, AuthenticationError, PermissionDeniedError

    skip = "or pass --skip-checks to save it anyway"
    async with policy.credentials.get_client() as client:
        where = client.base_url
        try:
            async for _ in client.users.list(limit=1):
                break
            # Only an account admin reads the audit log; offboarding needs it.
            async for _ in client.audit_logs.list(limit=1):
                break
        except AuthenticationError:
            raise CliError(
                f"Arize refused the API key (401) at {where}; nothing was saved",
                fix="the key is wrong, revoked or expired, or belongs to another region: pass "
                f"a current account admin's key (--arize-api-key / ARIZE_API_KEY), {skip}",
            ) from None
        except PermissionDeniedError:
            raise CliError(
                f"the API key authenticates at {where} but may not read the audit log (403): it "
                "is not an account admin's key; nothing was saved",
                fix=f"create the key as an account admin (Settings → API keys), {skip}",
            ) from None
        except APIConnectionError as ex:
            raise CliError(
                f"Arize does not answer at {where} ({type(ex).__name__}); nothing was saved",
                fix=f"check --arize-region / --arize-base-url and the network, {skip}",
            ) from None


def _env_file(policy: RunbookPolicy) -> Outcome:
    """Write what ``serve`` and ``worker`` need to the env file; the service key only once."""
    import secrets

    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY, PREFECT_API_URL
    from pydantic import ValidationError

    from config.env_file import env_file_path, read_env_file, write_env_file
    from config.settings import env_name
    from webhooks.settings import Settings
    from webhooks.source import SourceSettings
    from webhooks.sources import SOURCES

    path = env_file_path()
    before = read_env_file(path)
    try:
        here = Settings()
    except ValidationError as ex:
        first = ex.errors()[0]
        raise CliError(
            f"{env_name(str(first['loc'][0]))}: {first['msg'].removeprefix('Value error, ')}",
            where="this shell's environment", fix="correct or unset it and run setup again",
        ) from None
    values = dict(before)
    # Every secret, each source's settings and the Slack host, where not left at the default.
    source_fields = (
        f for source in SOURCES.values() for f in source.settings.model_fields
        if f not in SourceSettings.model_fields  # the service's limits stay out of the file
    )
    for field in dict.fromkeys((*here.secret_fields(), *source_fields, "slack_base_url")):
        value = getattr(here, field)
        if value is None or value == Settings.model_fields[field].default:
            continue
        values[env_name(field)] = getattr(value, "get_secret_value", lambda v=value: v)()
    if policy.slack is not None:
        values[env_name("slack_bot_token")] = policy.slack.bot_token.get_secret_value()
        if policy.slack.base_url:
            values[env_name("slack_base_url")] = policy.slack.base_url
    key = env_name("service_key")
    values.setdefault(key, secrets.token_urlsafe(32))  # generated once, kept on every rerun
    for setting in (PREFECT_API_URL, PREFECT_API_AUTH_STRING, PREFECT_API_KEY):
        value = setting.value()
        value = getattr(value, "get_secret_value", lambda v=value: v)()
        if value:
            values[setting.name] = value
    if values == before and path.stat().st_mode & 0o777 == 0o600:
        return Outcome("env file", "unchanged", str(path))
    write_env_file(values, path)
    changed = sorted(k for k in values if before.get(k) != values[k])
    return Outcome("env file", "updated" if before else "created",
                   f"{path} (0600): {', '.join(changed) or 'mode'}")


async def _block_types(register: Any) -> Outcome:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from blocks import block_types

    missing = []
    async with get_client() as client:
        for block in block_types():
            try:
                await client.read_block_type_by_slug(block.get_block_type_slug())
            except ObjectNotFound:
                missing.append(block.get_block_type_slug())
    await register()  # idempotent; also refreshes schemas of types that exist
    if missing:
        return Outcome("block types", "created", ", ".join(missing))
    return Outcome("block types", "unchanged", f"{len(block_types())} registered")


def _prompt(answers: Answers, existing: RunbookPolicy | None) -> None:
    """Ask for what flags and env did not give; Enter keeps the saved value."""
    saved = existing.credentials if existing else None
    if answers.arize_api_key is None:
        keep = " (Enter keeps the saved key)" if saved else ""
        answers.arize_api_key = Prompt.ask(
            f"Arize admin API key{keep}", password=True, default="" if saved else ...
        ) or None
    if answers.arize_region is None and answers.arize_base_url is None and saved is None:
        where = Prompt.ask("Arize region, or a base URL (https://…)", default="us-east-1b")
        if where.startswith("http"):
            answers.arize_base_url = where
        else:
            answers.arize_region = where
    if answers.slack is None:
        answers.slack = Confirm.ask(
            "Ask for approvals in Slack?", default=bool(existing and existing.slack)
        )
    if answers.slack:
        had = existing.slack if existing else None
        if answers.slack_bot_token is None:
            answers.slack_bot_token = Prompt.ask(
                "Slack bot token (xoxb-…)" + (" (Enter keeps the saved one)" if had else ""),
                password=True, default="" if had else ...,
            ) or None
        if answers.slack_channel is None:
            answers.slack_channel = Prompt.ask(
                "Channel for approval requests", default=had.channel if had else "#arize-approvals"
            )
    if answers.quorum is None:
        answers.quorum = IntPrompt.ask(
            "Approvals a destructive run needs",
            default=existing.approval.quorum if existing else 1,
        )
    if not (answers.approver_emails or answers.approver_slack_ids or answers.approver_group):
        current = existing.approval.approver_emails if existing else []
        given = Prompt.ask("Approvers' e-mails, comma-separated", default=",".join(current))
        answers.approver_emails = [e.strip() for e in given.split(",") if e.strip()]


def _build_policy(answers: Answers, existing: RunbookPolicy | None) -> RunbookPolicy:
    """The policy to save: the saved one with what was given laid over it."""
    from pydantic import ValidationError

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals

    data: dict[str, Any] = (
        existing.model_dump(mode="json", context={"include_secrets": True}, exclude_none=False)
        if existing else {}
    )
    data.pop("block_type_slug", None)
    credentials = data.get("credentials") or {}
    if answers.arize_api_key:
        credentials["api_key"] = answers.arize_api_key
    if answers.arize_base_url:
        credentials.update(base_url=answers.arize_base_url, region=None)
    elif answers.arize_region:
        credentials.update(region=answers.arize_region, base_url=None)
    if not credentials.get("api_key"):
        raise CliError(
            "no Arize API key given and none saved",
            fix="pass --arize-api-key or set ARIZE_API_KEY (an account admin's key)",
        )
    region = credentials.get("region")
    from arize_admin import REGIONS

    if region and region not in REGIONS:
        raise CliError(f"--arize-region {region!r} is not an Arize region",
                       fix=f"use one of {', '.join(REGIONS)}, or --arize-base-url")
    approvals = data.get("slack")
    if answers.slack is False:
        approvals = None
    elif answers.slack or answers.slack_bot_token or answers.slack_channel:
        approvals = dict(approvals or {})
        for key, value in (("bot_token", answers.slack_bot_token),
                           ("channel", answers.slack_channel),
                           ("base_url", answers.slack_base_url)):
            if value:
                approvals[key] = value
        missing = [f for f in ("bot_token", "channel") if not approvals.get(f)]
        if missing:
            flags = {"bot_token": "--slack-bot-token (or SLACK_BOT_TOKEN)",
                     "channel": "--slack-channel"}
            raise CliError("Slack approvals need " + " and ".join(flags[m] for m in missing),
                           fix="give them, or pass --no-slack to approve in the UI and CLI only")
    approval = dict(data.get("approval") or {})
    if answers.approver_emails:
        approval["approver_emails"] = answers.approver_emails
    if answers.approver_slack_ids:
        approval["approver_slack_ids"] = answers.approver_slack_ids
    if answers.approver_group:
        approval["approver_group"] = answers.approver_group
    if answers.quorum:
        approval["quorum"] = answers.quorum
    key_store = dict(data.get("key_store") or {})
    if answers.key_store_prefix:
        key_store["prefix"] = answers.key_store_prefix
    for part in (credentials, approvals or {}, key_store):
        part.pop("block_type_slug", None)
    try:
        return RunbookPolicy(
            **{k: v for k, v in data.items()
               if k not in {"credentials", "slack", "key_store", "approval", "rate_limit"}},
            credentials=ArizeCredentials(**credentials),
            slack=SlackApprovals(**approvals) if approvals else None,
            key_store=ArizeKeyStore(**key_store),
            approval=approval,
            rate_limit=answers.rate_limit,
        )
    except ValidationError as ex:
        first = ex.errors()[0]
        raise CliError(
            f"policy.{'.'.join(map(str, first['loc']))}: {first['msg']}",
            fix="correct that option and run setup again; nothing was saved",
        ) from None


def _secret_dump(policy: RunbookPolicy) -> dict[str, Any]:
    return policy.model_dump(mode="json", context={"include_secrets": True})


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ (names only: values may be secrets)."""
    names = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


async def _save_policy(
    name: str, policy: RunbookPolicy, existing: RunbookPolicy | None
) -> Outcome:
    if existing is not None:
        changed = _differences(_secret_dump(existing), _secret_dump(policy))
        if not changed:
            return Outcome(f"policy {name!r}", "unchanged")
        await policy.asave(name, overwrite=True)
        return Outcome(f"policy {name!r}", "updated", ", ".join(changed))
    await policy.asave(name, overwrite=True)
    slack = "Slack approvals" if policy.slack else "approvals in the UI and CLI"
    return Outcome(f"policy {name!r}", "created", slack)


async def _work_pool() -> Outcome:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            pool = await client.read_work_pool(WORK_POOL)
            return Outcome("work pool", "unchanged", f"{pool.name} ({pool.type})")
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
            return Outcome("work pool", "created", f"{WORK_POOL} (process)")


async def ensure_rate_limit(name: str, per_second: int) -> Outcome:
    """Create or update the global concurrency limit ``name``: ``per_second`` slots, draining
    at ``per_second``."""
    from prefect import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    part = f"rate limit {name!r}"
    async with get_client() as client:
        try:
            limit = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=name, limit=per_second, slot_decay_per_second=per_second
                )
            )
            return Outcome(part, "created", f"{per_second}/s")
        if limit.limit == per_second and limit.slot_decay_per_second == per_second:
            return Outcome(part, "unchanged", f"{per_second}/s")
        await client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=per_second, slot_decay_per_second=per_second)
        )
        return Outcome(part, "updated", f"{limit.limit}/s → {per_second}/s")


async def _crash_recovery() -> Outcome:
    """The automations that resume a runbook run whose worker died, under the same run id."""
    from prefect import get_client

    from ops.crash_recovery import crash_recovery_automations, ensure_crash_recovery

    part = "crash-recovery automations"
    async with get_client() as client:
        before = {}
        for wanted in crash_recovery_automations():
            found = await client.read_automations_by_name(wanted.name)
            before[wanted.name] = (wanted, found[0] if found else None)
        await ensure_crash_recovery(client)
    if any(existing is None for _, existing in before.values()):
        return Outcome(part, "created", ", ".join(before))
    same = all(
        existing.trigger == wanted.trigger and existing.actions == wanted.actions
        for wanted, existing in before.values()
    )
    return Outcome(part, "unchanged" if same else "updated", ", ".join(before))


def _deploy() -> Outcome:
    """``prefect deploy`` for the runbooks whose deployment is missing or differs."""
    stale = asyncio.run(_stale_deployments())
    if not stale:
        return Outcome("deployments", "unchanged", "every runbook deployed as prefect.yaml says")
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy"]
    for name in stale:
        command += ["--name", name]
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "ARIZE_RUNBOOKS_HOME": str(ROOT)},
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise CliError("prefect deploy failed", details=tail,
                       fix=f"run `prefect deploy --all` in {ROOT} to see the whole output")
    return Outcome("deployments", "updated", ", ".join(stale))


async def _stale_deployments() -> list[str]:
    import yaml
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    wanted = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    stale = []
    async with get_client() as client:
        for entry in wanted:
            flow_name = entry["entrypoint"].rsplit(":", 1)[1].replace("_", "-")
            try:
                live = await client.read_deployment_by_name(f"{flow_name}/{entry['name']}")
            except ObjectNotFound:
                stale.append(entry["name"])
                continue
            if _fingerprint_yaml(entry) != _fingerprint_live(live):
                stale.append(entry["name"])
    return stale


def _fingerprint_yaml(entry: dict[str, Any]) -> tuple[Any, ...]:
    limit = (entry.get("concurrency_limit") or {}).get("limit")
    schedules = sorted(
        s["cron"] if "cron" in s else f"every {float(s['interval'])}s"
        for s in entry.get("schedules") or []
    )
    return (entry["entrypoint"], entry["work_pool"]["name"], sorted(entry.get("tags") or []),
            entry.get("description"), schedules, limit, entry.get("parameters") or {})


def _fingerprint_live(live: Any) -> tuple[Any, ...]:
    limit = live.global_concurrency_limit.limit if live.global_concurrency_limit else None
    schedules = sorted(_schedule_text(s.schedule) for s in live.schedules or [])
    return (live.entrypoint, live.work_pool_name, sorted(live.tags or []), live.description,
            schedules, limit, live.parameters or {})


def _schedule_text(schedule: Any) -> str:
    """A cron, or an interval as ``every <seconds>s``: how prefect.yaml says either."""
    cron = getattr(schedule, "cron", None)
    if cron:
        return cron
    interval = getattr(schedule, "interval", None)
    return f"every {interval.total_seconds()}s" if interval is not None else ""
