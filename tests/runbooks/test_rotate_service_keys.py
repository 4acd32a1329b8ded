"""rotate-service-keys end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler

from arize_admin import (
    ApiKeyType,
    ArizeError,
    AsyncArizeAdmin,
    AuthenticationError,
    RoleBindingResourceType,
    ServiceKeyOrgAssignment,
    ServiceKeySpaceAssignment,
    is_transient,
)
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from core.keys import StoredKey
from core.planning.plan import SpecError
from flows.rotate_service_keys.flow import rotate_service_keys
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
from tasks.reporting.report import RunStatus
from tasks.steps.apply import ApplyFailed
from tests.fixtures.runbooks import (
    admin_client,
    clear_faults,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
    set_faults,
)

pytestmark = pytest.mark.slow

SPACE = "fraud-detection"
"""Where the keys this file creates live."""
SPACE_OF = {"probe-ci": SPACE, "ci-fraud-detection": SPACE, "etl-search-ranking": "search-ranking"}
"""Each key's space, whose key store entry holds its value."""



def example_spec(**changes) -> RotateServiceKeysSpec:
    return example(RotateServiceKeysSpec, "rotate-service-keys", **changes)


admin = admin_client


async def service_keys(arize) -> dict[str, list]:
    """Active service keys by name."""
    found: dict[str, list] = {}
    async with admin(arize) as client:
        async for key in client.api_keys.list(key_type=ApiKeyType.SERVICE):
            found.setdefault(key.name, []).append(key)
    return found


async def authenticates(arize, value) -> bool:
    async with AsyncArizeAdmin(api_key=value, base_url=arize.base_url, max_retries=0) as client:
        try:
            await client.spaces.list(limit=1)
        except AuthenticationError:
            return False
    return True


async def new_key(arize, name: str, *, expires_at: datetime | None = None):
    """A service key in fraud-detection created by the test, which therefore knows its value."""
    async with admin(arize) as client:
        org = await client.organizations.find_by_name("Acme")
        space = await client.spaces.find_by_name(SPACE, org_id=org.id)
        return await client.api_keys.create_service_key(
            name=name,
            expires_at=expires_at,
            organizations=[
                ServiceKeyOrgAssignment(
                    org_id=org.id, spaces=[ServiceKeySpaceAssignment(space_id=space.id)]
                )
            ],
        )


async def stored_old_key(arize, key_store: ArizeKeyStore, name: str, *, days_old: int = 100):
    """A key whose value consumers already read from the store, last rotated long ago."""
    created = await new_key(arize, name)
    await key_store.write_key(
        name,
        StoredKey(
            value=created.key,
            api_key_id=created.id,
            rotated_at=datetime.now(UTC) - timedelta(days=days_old),
        ),
        space=SPACE,
    )
    return created


async def expired_key(arize, name: str):
    """A key that has just expired (keys cannot be created in the past): poll until it has."""
    created = await new_key(arize, name, expires_at=datetime.now(UTC) + timedelta(seconds=1))
    for _ in range(150):  # a readiness poll with a deadline (30 s), not a timed assertion
        if not await authenticates(arize, created.key):
            return created
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{name} did not expire")


class Probe:
    """A consumer: loads the stored key and authenticates with it, over and over."""

    def __init__(self, arize, key_store: ArizeKeyStore, name: str):
        self.arize, self.key_store, self.name = arize, key_store, name
        self.failures: list[str] = []
        self.seen: set[str] = set()
        self.checks = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            stored = await self.key_store.read_key(self.name, space=SPACE)
            self.seen.add(stored.api_key_id or "")
            self.seen.add(stored.value.get_secret_value()[-6:])
            try:
                ok = await authenticates(self.arize, stored.value)
            except ArizeError as ex:
                if not is_transient(ex):
                    raise
                continue  # an injected fault, not a refused key
            if not ok:
                self.failures.append(f"stored key of {stored.api_key_id} refused")
            self.checks += 1

    async def __aenter__(self) -> Probe:
        self._task = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._stop.set()
        await self._task


async def test_first_run_rotates_and_replaces_and_second_run_changes_nothing(arize, runbook_policy):
    before = await service_keys(arize)

    first = await rotate_service_keys(spec=example_spec())

    assert first.status is RunStatus.COMPLETED
    # ci-fraud-detection: 120 days old → refreshed; etl-search-ranking: expires in 5 days →
    # replaced; lee-etl: 45 days old → not due.
    assert first.planned == first.applied == 2
    after = await service_keys(arize)
    store = runbook_policy.key_store

    ci = await store.read_key("ci-fraud-detection", space="fraud-detection")
    assert ci.api_key_id == before["ci-fraud-detection"][0].id  # same identity, new secret
    assert (
        after["ci-fraud-detection"][0].redacted_key != before["ci-fraud-detection"][0].redacted_key
    )
    assert await authenticates(arize, ci.value)

    old_etl = before["etl-search-ranking"][0]
    etl = await store.read_key("etl-search-ranking", space="search-ranking")
    assert etl.api_key_id != old_etl.id
    assert await authenticates(arize, etl.value)
    assert sorted(k.id for k in after["etl-search-ranking"]) == sorted([old_etl.id, etl.api_key_id])
    replacement = next(k for k in after["etl-search-ranking"] if k.id == etl.api_key_id)
    assert replacement.expires_at - old_etl.expires_at > timedelta(days=9)
    assert replacement.bot_user.organizations == old_etl.bot_user.organizations
    async with admin(arize) as client:
        for resource_type in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT):
            old = {
                (b.resource_id, b.role_id)
                async for b in client.role_bindings.list(
                    resource_type=resource_type, user_id=old_etl.bot_user.id
                )
            }
            new = {
                (b.resource_id, b.role_id)
                async for b in client.role_bindings.list(
                    resource_type=resource_type, user_id=replacement.bot_user.id
                )
            }
            assert old == new
    assert await store.read_key("lee-etl", space="search-ranking") is None
    assert set(after) == set(before)

    before_count = mutation_count(arize)
    state = emulator_state(arize)
    second = await rotate_service_keys(spec=example_spec())
    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert mutation_count(arize) == before_count
    assert emulator_state(arize) == state


async def test_replacement_copies_extra_role_bindings(arize, runbook_policy):
    async with admin(arize) as client:
        viewer = await client.roles.find_by_name("Project Viewer")
        org = await client.organizations.find_by_name("Acme")
        search = await client.spaces.find_by_name("search-ranking", org_id=org.id)
        ranking = await client.projects.find_by_name("ranking-v2", space_id=search.id)
        etl = (await service_keys(arize))["etl-search-ranking"][0]
        await client.role_bindings.create(
            user_id=etl.bot_user.id,
            role_id=viewer.id,
            resource_type=RoleBindingResourceType.PROJECT,
            resource_id=ranking.id,
        )

    outcome = await rotate_service_keys(spec=example_spec(name_pattern="etl-*"))

    assert outcome.status is RunStatus.COMPLETED
    stored = await runbook_policy.key_store.read_key("etl-search-ranking", space="search-ranking")
    new = next(
        k for k in (await service_keys(arize))["etl-search-ranking"] if k.id == stored.api_key_id
    )
    async with admin(arize) as client:
        bindings = [
            (b.resource_id, b.role_id)
            async for b in client.role_bindings.list(
                resource_type=RoleBindingResourceType.PROJECT, user_id=new.bot_user.id
            )
        ]
    assert bindings == [(ranking.id, viewer.id)]


async def test_space_and_pattern_select_keys(arize, runbook_policy):
    in_space = await rotate_service_keys(
        spec=example_spec(space="search-ranking", max_age_days=30), dry_run=True
    )
    # search-ranking: lee-etl (45 days) rotates, etl-search-ranking is replaced.
    assert in_space.planned == 2
    only_ci = await rotate_service_keys(spec=example_spec(name_pattern="ci-*"), dry_run=True)
    assert only_ci.planned == 1

    with pytest.raises(SpecError) as caught:
        await rotate_service_keys(spec=example_spec(space="no-such-space"), dry_run=True)
    assert str(caught.value).startswith("spec.space = 'no-such-space'")


async def test_replacement_off_reports_needs_replacement(arize, runbook_policy):
    outcome = await rotate_service_keys(
        spec=example_spec(name_pattern="etl-*", replace_expiring=False)
    )

    assert outcome.status is RunStatus.NO_CHANGES
    assert any("needs replacement" in note for note in outcome.notes)


async def test_expired_key_is_revoked_when_approved(arize, runbook_policy):
    await expired_key(arize, "short-lived")
    spec = example_spec(name_pattern="short-*", revoke_expired=True)
    without = await rotate_service_keys(spec=example_spec(name_pattern="short-*"))
    assert without.status is RunStatus.NO_CHANGES
    assert any("expired" in note for note in without.notes)

    outcome = await run_with_answer(
        rotate_service_keys(spec=spec), "rotate-service-keys", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED and outcome.applied == 1
    assert "short-lived" not in await service_keys(arize)
    assert (await rotate_service_keys(spec=spec)).status is RunStatus.NO_CHANGES


async def test_probe_never_fails_during_rotation(arize, runbook_policy):
    store = runbook_policy.key_store
    original = await stored_old_key(arize, store, "probe-ci")
    spec = example_spec(name_pattern="probe-*")

    async with Probe(arize, store, "probe-ci") as probe:
        outcome = await rotate_service_keys(spec=spec)

    assert outcome.status is RunStatus.COMPLETED and outcome.applied == 1
    assert probe.failures == []
    assert probe.checks > 1
    rotated = await store.read_key("probe-ci", space="fraud-detection")
    assert rotated.value.get_secret_value()[-6:] in probe.seen  # the probe saw the new key
    assert await authenticates(arize, original.key)  # the old one, during its grace period


class CrashingKeyStore(ArizeKeyStore):
    """The key store, except that its next write dies: a crash between refresh and store."""

    _block_type_name = "Test Crashing Key Store"
    _block_type_slug = "test-crashing-key-store"
    crashes_left: ClassVar[int] = 0

    async def write_key(self, key_name: str, stored: StoredKey, space: str | None = None) -> str:
        if CrashingKeyStore.crashes_left > 0:
            CrashingKeyStore.crashes_left -= 1
            raise RuntimeError("simulated crash after the refresh, before the store write")
        return await super().write_key(key_name, stored, space)


async def crashing_policy(policy: RunbookPolicy) -> str:
    """Save ``policy`` with a crashing key store (same secrets) under a new name; return it."""
    name = f"crashing-{uuid.uuid4().hex[:8]}"
    crashing = RunbookPolicy(
        credentials=policy.credentials.model_copy(),
        key_store=CrashingKeyStore(prefix=policy.key_store.prefix),
        approval=policy.approval,
        poll_interval_seconds=policy.poll_interval_seconds,
        rate_limit=None,
    )
    await crashing.asave(name)
    return name


async def test_crash_between_refresh_and_store_then_rerun_converges(
    arize, runbook_policy: RunbookPolicy
):
    store = runbook_policy.key_store
    original = await stored_old_key(arize, store, "probe-ci")
    crashing = await crashing_policy(runbook_policy)
    CrashingKeyStore.crashes_left = 1
    spec = example_spec(name_pattern="probe-*")

    async with Probe(arize, store, "probe-ci") as probe:
        with pytest.raises(ApplyFailed, match="simulated crash"):
            await rotate_service_keys(spec=spec, policy=crashing)
        refreshes = arize.requests()["by_route"].get("POST /v2/api-keys/{api_key_id}/refresh")
        assert refreshes == 1  # the refresh happened; its value was lost
        assert (await store.read_key("probe-ci", space="fraud-detection")).api_key_id == original.id
        rerun = await rotate_service_keys(spec=spec, policy=crashing)

    assert rerun.status is RunStatus.COMPLETED
    assert probe.failures == []
    stored = await store.read_key("probe-ci", space="fraud-detection")
    assert stored.rotated_at > datetime.now(UTC) - timedelta(minutes=5)
    assert await authenticates(arize, stored.value)
    assert [k.id for k in (await service_keys(arize))["probe-ci"]] == [original.id]
    assert (await rotate_service_keys(spec=spec)).status is RunStatus.NO_CHANGES


async def test_crash_between_create_and_store_of_a_replacement_adopts_it(
    arize, runbook_policy: RunbookPolicy
):
    store = runbook_policy.key_store
    crashing = await crashing_policy(runbook_policy)
    CrashingKeyStore.crashes_left = 1
    spec = example_spec(name_pattern="etl-*")
    [old] = (await service_keys(arize))["etl-search-ranking"]

    with pytest.raises(ApplyFailed, match="simulated crash"):
        await rotate_service_keys(spec=spec, policy=crashing)
    assert len((await service_keys(arize))["etl-search-ranking"]) == 2  # created, not stored
    assert await store.read_key("etl-search-ranking", space="search-ranking") is None

    rerun = await rotate_service_keys(spec=spec, policy=crashing)

    assert rerun.status is RunStatus.COMPLETED
    keys = (await service_keys(arize))["etl-search-ranking"]
    assert len(keys) == 2  # the orphan was adopted, not duplicated
    stored = await store.read_key("etl-search-ranking", space="search-ranking")
    assert stored.api_key_id in {k.id for k in keys} - {old.id}
    assert await authenticates(arize, stored.value)
    assert (await rotate_service_keys(spec=spec)).status is RunStatus.NO_CHANGES


KILLED_RUN = """
import asyncio
from flows.rotate_service_keys.flow import rotate_service_keys
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
asyncio.run(rotate_service_keys(spec=RotateServiceKeysSpec(name_pattern="probe-*")))
"""
REFRESH = "POST /v2/api-keys/{api_key_id}/refresh"


async def test_process_killed_after_refresh_then_rerun_converges(arize, runbook_policy):
    store = runbook_policy.key_store
    original = await stored_old_key(arize, store, "probe-ci")
    # Every refresh is applied but its answer lost, so the runner never gets to store a value;
    # it is killed once Arize has applied one: the new secret dies with the process.
    set_faults(arize, lost_response_rate=1.0, methods=["POST"], path_prefix="/v2/api-keys/")
    async with Probe(arize, store, "probe-ci") as probe:
        runner = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            KILLED_RUN,
            cwd=str(Path(__file__).parents[2]),
            env=os.environ.copy(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            # Readiness poll with a 60 s deadline: wait until Arize has *applied* a refresh
            # (the journal counts a request when it arrives, before it commits).
            for _ in range(1200):
                live = (await service_keys(arize)).get("probe-ci", [])
                if any(k.redacted_key != original.redacted_key for k in live):
                    break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError("the runner never reached the refresh")
        finally:
            runner.kill()
            await runner.wait()
        clear_faults(arize)
        [live] = (await service_keys(arize))["probe-ci"]
        assert live.redacted_key != original.redacted_key  # Arize has a secret nobody stored
        stored = await store.read_key("probe-ci", space="fraud-detection")
        assert stored.api_key_id == original.id
        assert stored.value.get_secret_value() == original.key.get_secret_value()

        rerun = await rotate_service_keys(spec=example_spec(name_pattern="probe-*"))

    assert rerun.status is RunStatus.COMPLETED
    assert probe.failures == []
    stored = await store.read_key("probe-ci", space="fraud-detection")
    assert stored.rotated_at > datetime.now(UTC) - timedelta(minutes=5)
    assert await authenticates(arize, stored.value)
    assert [k.id for k in (await service_keys(arize))["probe-ci"]] == [original.id]
    assert arize.requests()["by_route"][REFRESH] >= 2  # the killed run's, and the rerun's


async def test_converges_under_faults_without_duplicates(arize, runbook_policy):
    store = runbook_policy.key_store
    await stored_old_key(arize, store, "probe-ci")
    before = await service_keys(arize)
    set_faults(
        arize,
        error_rate=0.2,
        error_statuses=[503],
        rate_limit_rate=0.15,
        retry_after_s=0.2,
        lost_response_rate=0.15,
        seed=5,
        # The runbook's writes only. Each goes to one key's path (its refresh, or the one
        # replacement's creation and bindings), made by that key's task alone, so under the
        # seed each task meets the same faults however the tasks interleave. Faults on reads
        # depended on that interleaving, and on the probe's GET /v2/spaces in its loop: after
        # five faults on one key's refresh, that task's sixth try met a 503 on GET /v2/spaces,
        # one fault more than its retries.
        methods=["POST", "PUT", "PATCH", "DELETE"],
    )
    try:
        async with Probe(arize, store, "probe-ci") as probe:
            outcome = await rotate_service_keys(spec=example_spec())
        injected = arize.control("GET", "faults")["injected"]
    finally:
        clear_faults(arize)

    assert injected > 0  # the writes did meet faults

    assert outcome.status is RunStatus.COMPLETED
    assert probe.failures == []  # transient faults skipped; a 401 would be a failure
    assert (await rotate_service_keys(spec=example_spec())).status is RunStatus.NO_CHANGES
    after = await service_keys(arize)
    assert {name: len(keys) for name, keys in after.items()} == {
        **{name: len(keys) for name, keys in before.items()},
        "etl-search-ranking": 2,  # the old key (lapsing at its expiry) and one replacement
    }
    for name in ("probe-ci", "ci-fraud-detection", "etl-search-ranking"):
        stored = await store.read_key(name, space=SPACE_OF[name])
        assert stored.api_key_id in {k.id for k in after[name]}
        assert await authenticates(arize, stored.value)


async def test_no_key_value_in_logs_artifacts_results_or_exceptions(
    arize, runbook_policy, debug_logs
):
    store = runbook_policy.key_store
    original = await stored_old_key(arize, store, "probe-ci")

    state = await rotate_service_keys(spec=example_spec(), return_state=True)
    outcome = await state.aresult()
    assert outcome.status is RunStatus.COMPLETED

    secrets = [original.key.get_secret_value()]
    for name in ("probe-ci", "ci-fraud-detection", "etl-search-ranking"):
        secrets.append((await store.read_key(name, space=SPACE_OF[name])).value.get_secret_value())
    texts = [debug_logs.text, outcome.model_dump_json(), repr(outcome)]
    flow_run_id = state.state_details.flow_run_id
    # Logs reach the API in the background; deliver them before reading them back.
    await APILogHandler.aflush()
    async with get_client() as client:
        artifacts = await client.read_artifacts()
        texts += [f"{a.key} {a.description} {a.data}" for a in artifacts]
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        texts += [log.message for log in logs]
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        for task_run in task_runs:
            texts.append(f"{task_run.name} {task_run.state.message}")
            try:
                result = await task_run.state.aresult(raise_on_failure=False)
            except Exception as ex:
                texts.append(repr(ex))
            else:
                texts.append(repr(result))
    assert len(logs) > 0 and len(task_runs) > 0
    assert any("rotation-" in (a.key or "") for a in artifacts)

    # A failing run's exception too: the crash path.
    crashing = await crashing_policy(runbook_policy)
    CrashingKeyStore.crashes_left = 1
    other = await stored_old_key(arize, store, "probe-2")
    secrets.append(other.key.get_secret_value())
    with pytest.raises(ApplyFailed) as caught:
        await rotate_service_keys(spec=example_spec(name_pattern="probe-2"), policy=crashing)
    texts += [str(caught.value), repr(caught.value)]

    for secret in secrets:
        assert not any(secret in text for text in texts)
