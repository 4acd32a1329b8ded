"""update-user-profile, the runbook a SCIM displayName change starts: a real run against the
Arize emulator (Prefect test harness); no gate; a rerun changes nothing."""

from __future__ import annotations

import pytest

from flows.update_user_profile.changes import RenameUser
from flows.update_user_profile.flow import update_user_profile
from flows.update_user_profile.spec import UpdateUserProfileSpec
from flows.update_user_profile.steps import rename_user
from tasks.reporting.report import RunStatus
from tasks.steps.step import Outcome, StepContext
from tests.fixtures.runbooks import admin_client, mutation_count

pytestmark = pytest.mark.slow

DANA = "dana@acme.example"


async def test_rename_applies_once_and_a_rerun_is_already_done(arize, runbook_policy) -> None:
    spec = UpdateUserProfileSpec(email=DANA, name="  Dana Data-Reyes ")
    assert spec.name == "Dana Data-Reyes"
    first = await update_user_profile(spec=spec)
    assert first.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        user = await client.users.find_by_email(DANA)
    assert user is not None and user.name == "Dana Data-Reyes"

    before = mutation_count(arize)
    assert (await update_user_profile(spec=spec)).status is RunStatus.NO_CHANGES
    # The step itself, retried after its rename took effect: nothing written.
    context = StepContext(
        credentials=runbook_policy.credentials, key_store=runbook_policy.key_store
    )
    change = RenameUser(target=DANA, user_id=user.id, email=DANA, name="Dana Data-Reyes")
    assert (await rename_user.fn(context, change)).outcome is Outcome.ALREADY
    assert mutation_count(arize) == before


async def test_unknown_person_is_a_no_op(arize, runbook_policy) -> None:
    spec = UpdateUserProfileSpec(email="nobody@acme.example", name="No Body")
    outcome = await update_user_profile(spec=spec)
    assert outcome.status is RunStatus.NO_CHANGES


def test_blank_name_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"name\n.*at least 1 character"):
        UpdateUserProfileSpec(email=DANA, name="   ")
