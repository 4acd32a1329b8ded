"""Plan rotate-service-keys: which service keys are due, and what each one needs.

A key's secret age is counted from its last rotation as the key store recorded it (when the
stored secret belongs to that key id), else from the key's creation. Per selected key:

- older than ``max_age_days`` → ROTATE_KEY: refresh with a grace period, keeping the expiry;
- expires within ``expiring_within_days`` → REPLACE_KEY: a refresh cannot extend an expiry
 , so a rotated key would still die on the same day and the next run would
  rotate it again, forever. A new key of the same name, roles and bindings is created instead,
  stored under the same secret, and the old key lapses at its own expiry (its remaining days
  are the consumers' grace period);
- already expired → REVOKE_KEY when ``revoke_expired`` (destructive), else a note. Expired keys
  are not replaced: one left to expire may have been left on purpose;
- the store keeps one secret per key name, so of several keys sharing a name only one is
  ever renewed: a key older than the one the store serves is superseded (a replaced key,
  lapsing at its expiry); one newer than it is a replacement whose value never reached the
  store, which the replacement step adopts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from prefect import task
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

from arize_admin import ApiKeyType, AsyncArizeAdmin, ServiceApiKey, ServiceKeyOrgAssignment
from core.keys import KeyReader, StoredKey
from core.naming import slug
from core.planning.changes import Change, ReplaceKey, RevokeKey, RotateKey
from core.planning.context import PlanContext
from core.planning.names import listed
from core.planning.plan import Plan, SpecError
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
from tasks.steps.step import StepResult

RUNBOOK = "rotate-service-keys"

# Stages: new secrets first; revoking dead keys (destructive) only once those succeeded.
RENEW, REVOKE = range(2)


class KeyRow(BaseModel):
    """One selected key in the report: age, expiry, action, where its secret lives."""

    name: str
    api_key_id: str
    spaces: list[str] = Field(default_factory=list)
    age_days: int = Field(description="Days since the secret was issued or last rotated.")
    age_from: str = Field(description="'last rotation' (key store) or 'creation'.")
    expires_at: datetime | None = None
    action: str = Field(description="rotate, replace, revoke, or why nothing is done.")
    secret: str = Field(description="Name of the Secret block holding the key's value.")
    created_at: datetime
    change_key: str | None = None


class RotationPlan(Plan):
    """A rotation plan, with one report row per selected key (rows are not hashed)."""

    key_rows: list[KeyRow] = Field(default_factory=list)


async def plan_rotate_service_keys(
    client: AsyncArizeAdmin, spec: RotateServiceKeysSpec, context: PlanContext = PlanContext()
) -> RotationPlan:
    """Read the service keys and the key store; list the keys to rotate, replace or revoke.

    Example:
        ```python
        @flow
        async def preview(policy: RunbookPolicy):
            spec = RotateServiceKeysSpec(name_pattern="ci-*", max_age_days=90)
            async with policy.credentials.get_client() as client:
                context = PlanContext(keys=policy.key_store)
                plan = await plan_rotate_service_keys(client, spec, context)
            print(plan.render_text())
        ```

    Raises:
        SpecError: the space does not exist, or its name is ambiguous across organizations.
    """
    before = client.request_count
    plan = await _plan(client, context.key_reader(RUNBOOK), spec, datetime.now(UTC))
    plan.api_calls = client.request_count - before
    return plan


async def _plan(
    client: AsyncArizeAdmin, key_store: KeyReader, spec: RotateServiceKeysSpec, now: datetime
) -> RotationPlan:
    plan = RotationPlan(
        runbook=RUNBOOK, subject=f"{spec.space or 'all spaces'}/{spec.name_pattern}"
    )
    spaces = {s.id: s.name async for s in client.spaces.list()}
    # Unfiltered: only a list without space_id carries each bot user's org and space roles,
    # which a replacement key needs.
    keys = [k async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)]
    in_space = None
    if spec.space is not None:
        matches = [sid for sid, name in spaces.items() if name == spec.space]
        if not matches:
            raise SpecError(
                "space", spec.space,
                f"no space of that name (names are exact); spaces: {listed(spaces.values())}",
            )
        if len(matches) > 1:
            raise SpecError("space", spec.space, "several organizations have a space of that name")
        in_space = {
            k.id
            async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE, space_id=matches[0])
        }
    selected = [
        k
        for k in keys
        if fnmatchcase(k.name, spec.name_pattern) and (in_space is None or k.id in in_space)
    ]
    # Keys of one name in one space share a secret; the same name in another space does not.
    by_slot: dict[tuple[str | None, str], list[ServiceApiKey]] = defaultdict(list)
    for key in keys:
        by_slot[(key_space(key, spaces), key.name)].append(key)
    stored_by_slot = {
        (space, name): await key_store.read_key(
            name, space, api_key_ids=[k.id for k in by_slot[(space, name)]]
        )
        for space, name in {(key_space(k, spaces), k.name) for k in selected}
    }
    for key in selected:
        slot = (key_space(key, spaces), key.name)
        _plan_key(plan, spec, key, stored_by_slot[slot], by_slot[slot], spaces, key_store, now)
    _one_change_per_secret(plan)
    if not selected:
        plan.notes.append(f"no active service key matches {spec.name_pattern!r}")
    return plan


def key_space(key: ServiceApiKey, spaces: dict[str, str]) -> str | None:
    """The space whose key store entry holds ``key``'s value: its space, the first by name
    when it has several; none when its bot user has no space (the secret is account-wide)."""
    names = sorted(
        spaces.get(s.space_id, s.space_id) for org in key.bot_user.organizations for s in org.spaces
    )
    return names[0] if names else None


def _served_of(same_name: list[ServiceApiKey], stored: StoredKey | None) -> ServiceApiKey | None:
    """The key of a name whose secret the store holds, if any."""
    for key in same_name:
        if stored is not None and stored.api_key_id == key.id:
            return key
    return None


def _one_change_per_secret(plan: RotationPlan) -> None:
    """Keys of one name in one space share a secret: two changes to it would overwrite each
    other.

    Only when the store serves none of them can two be due; the newest key's change is kept.
    """
    renewed = [row for row in plan.key_rows if row.action in ("rotate", "replace")]
    newest: dict[str, KeyRow] = {}
    for row in renewed:
        if row.secret not in newest or row.created_at > newest[row.secret].created_at:
            newest[row.secret] = row
    for row in renewed:
        if newest[row.secret] is not row:
            plan.changes = [c for c in plan.changes if c.key != row.change_key]
            row.action = "none: another key of this name is renewed (one secret per name)"
            row.change_key = None


def _plan_key(
    plan: RotationPlan,
    spec: RotateServiceKeysSpec,
    key: ServiceApiKey,
    stored: StoredKey | None,
    same_name: list[ServiceApiKey],
    spaces: dict[str, str],
    key_store: KeyReader,
    now: datetime,
) -> None:
    mine = stored is not None and stored.api_key_id == key.id and stored.rotated_at is not None
    issued = stored.rotated_at if mine else key.created_at
    expires = key.expires_at
    row = KeyRow(
        name=key.name,
        api_key_id=key.id,
        spaces=sorted(
            spaces.get(s.space_id, s.space_id)
            for org in key.bot_user.organizations
            for s in org.spaces
        ),
        age_days=(now - issued).days,
        age_from="last rotation" if mine else "creation",
        expires_at=expires,
        action="none: not due",
        secret=key_store.secret_name(key.name, key_space(key, spaces)),
        created_at=key.created_at,
    )
    plan.key_rows.append(row)
    expired = expires is not None and expires <= now
    served = _served_of(same_name, stored)

    if expired:
        if spec.revoke_expired:
            change = RevokeKey(
                target=f"service key {key.name} ({key.redacted_key})",
                api_key_id=key.id,
                name=key.name,
                key_type="SERVICE",
                destructive=True,
                stage=REVOKE,
                reason=f"expired {_when(expires)}",
            )
            _add(plan, row, change, "revoke")
        else:
            row.action = "none: expired (revoke_expired is off)"
            plan.notes.append(
                f"service key {key.name} ({key.redacted_key}) expired {_when(expires)}; "
                "set revoke_expired to revoke it"
            )
        return
    if served is not None and served.id != key.id:
        if served.created_at > key.created_at:
            row.action = f"none: superseded by a newer key of this name; lapses {_when(expires)}"
            plan.in_place.append(f"service key {key.name} ({key.redacted_key}) superseded")
        else:
            # Newer than the key the store serves: a replacement whose value never reached the
            # store; renewing the served key adopts it (tasks.steps.replacement).
            row.action = "none: the key store serves an older key of this name"
            plan.notes.append(
                f"service key {key.name} ({key.redacted_key}): its value is not in the key "
                "store, which serves an older key of this name"
            )
        return
    if expires is not None and expires - now <= timedelta(days=spec.expiring_within_days):
        _plan_replacement(plan, spec, key, row, key_space(key, spaces))
        return
    if now - issued > timedelta(days=spec.max_age_days):
        change = RotateKey(
            target=key.name,
            api_key_id=key.id,
            name=key.name,
            space=key_space(key, spaces),
            grace_period_seconds=spec.grace_period_seconds,
            expires_at=expires,
            stored_rotated_at=stored.rotated_at if mine else None,
            stage=RENEW,
            reason=f"secret older than {spec.max_age_days} days",
        )
        _add(plan, row, change, "rotate")
        return
    plan.in_place.append(f"service key {key.name}: secret {row.age_days} day(s) old")
    if stored is None or stored.api_key_id != key.id:
        plan.notes.append(
            f"service key {key.name}: its value is not in the key store; the next rotation "
            "captures one"
        )


def _plan_replacement(
    plan: RotationPlan,
    spec: RotateServiceKeysSpec,
    key: ServiceApiKey,
    row: KeyRow,
    space: str | None,
) -> None:
    expires = key.expires_at
    lifetime = (
        timedelta(days=spec.replacement_lifetime_days)
        if spec.replacement_lifetime_days
        else expires - key.created_at
    )
    why = None
    if not spec.replace_expiring:
        why = "replace_expiring is off"
    elif not key.bot_user.name or not key.bot_user.organizations:
        why = "its bot user's roles cannot be read"
    elif lifetime <= timedelta(days=spec.expiring_within_days):
        why = (
            f"a replacement living {lifetime.days} day(s) would itself expire within "
            f"{spec.expiring_within_days} days; set replacement_lifetime_days"
        )
    if why is not None:
        row.action = "needs replacement"
        plan.notes.append(
            f"service key {key.name} expires {_when(expires)} and a refresh cannot extend "
            f"an expiry; it needs replacement ({why})"
        )
        return
    change = ReplaceKey(
        target=key.name,
        api_key_id=key.id,
        name=key.name,
        space=space,
        description=key.description,
        created_at=key.created_at,
        bot_user_id=key.bot_user.id,
        account_role=getattr(key.bot_user.account_role, "name", None) or "MEMBER",
        organizations=[
            ServiceKeyOrgAssignment.model_validate(o.model_dump(mode="json"))
            for o in key.bot_user.organizations
        ],
        lifetime_seconds=int(lifetime.total_seconds()),
        stage=RENEW,
        reason=f"expires {_when(expires)}; a refresh cannot extend an expiry",
    )
    _add(plan, row, change, "replace")


def _add(plan: RotationPlan, row: KeyRow, change: Change, action: str) -> None:
    plan.changes.append(change)
    row.action = action
    row.change_key = change.key


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@task(name="Publish key report", task_run_name="key report {plan.subject}")
async def publish_key_report(plan: RotationPlan, results: list[StepResult]) -> None:
    """Save one table row per selected key: age, expiry, action, outcome, secret name."""
    outcomes = {r.change_key: r.outcome.value for r in results}
    rows = [
        {
            "key": row.name,
            "spaces": ", ".join(row.spaces),
            "age (days)": row.age_days,
            "age from": row.age_from,
            "expires": _when(row.expires_at),
            "action": row.action,
            "outcome": outcomes.get(row.change_key or "", "—"),
            "secret": row.secret,
        }
        for row in plan.key_rows
    ]
    await acreate_table_artifact(
        table=rows,
        key=f"rotation-{slug(plan.subject)}"[:100] or "rotation",
        description=f"Service keys of {plan.subject}: age, expiry, action, secret",
    )
