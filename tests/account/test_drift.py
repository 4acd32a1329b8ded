"""A hand edit in Arize is drift: found by a plan, reverted by an apply, or adopted by the
patch that makes the files say what the account says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from arize_admin import PredefinedRole
from flows.account_as_code.drift import DriftSource, SourceUnavailable, adopt_patch, checkout
from flows.account_as_code.export import account_spec
from flows.account_as_code.live import read_live
from tests.account.conftest import Account, edit

FRAUD = "spaces/Acme/fraud-detection.yaml"


async def hand_edit(account: Account) -> None:
    """What someone does in the UI: Sam joins fraud-detection, a role gains a permission."""
    client = account.client
    fraud = await client.spaces.find_by_name("fraud-detection")
    sam = await client.users.find_by_email("sam@acme.example")
    await client.spaces.add_user(fraud.id, user_id=sam.id, role=PredefinedRole(name="ADMIN"))
    editor = await client.roles.find_by_name("Space Editor")
    await client.roles.update(
        editor.id, permissions=[*(p.value for p in editor.permissions), "USER_READ"]
    )


def run(*command: str, cwd: Path | None = None, stdin: str | None = None) -> None:
    """A git command, checked (sync: the tests' event loop has nothing else to do meanwhile)."""
    subprocess.run(command, input=stdin, text=True, cwd=cwd, check=True)


def authoritative_members(directory: Path) -> None:
    edit(directory / "account.yaml", lambda d: d["ownership"].update(space_members="authoritative"))


async def test_a_hand_edit_is_found_then_reverted(account: Account, exported: Path):
    authoritative_members(exported)
    await hand_edit(account)

    drift = await account.plan(exported)
    assert sorted(str(c.action) for c in drift.changes) == ["unbind-role", "update-role"]
    assert all(c.destructive for c in drift.changes), "reverting narrows access: gated"

    await account.apply(drift)
    assert (await account.plan(exported)).changes == []
    assert await account.client.roles.find_by_name("Space Editor") is not None


async def test_a_hand_edit_is_adopted_by_the_patch_to_the_files(account: Account, exported: Path):
    authoritative_members(exported)
    run("git", "init", "-q", str(exported))
    await hand_edit(account)

    patch = adopt_patch(exported, account_spec(await read_live(account.client)))

    assert "+    role: ADMIN" in patch and "sam@acme.example" in patch
    assert "+  - USER_READ" in patch
    assert "users.yaml" not in patch, "only files that differ are patched"
    run("git", "apply", "-", cwd=exported, stdin=patch)
    assert (await account.plan(exported)).changes == [], "adopted: the files match the account"


async def test_the_files_can_come_from_a_git_ref(exported: Path, tmp_path: Path):
    repo = tmp_path / "repo"
    run("git", "init", "-q", "-b", "main", str(repo))
    run("cp", "-r", str(exported), str(repo / "account"))
    git = ["git", "-C", str(repo), "-c", "user.email=t@example", "-c", "user.name=t"]
    run(*git, "add", "-A")
    run(*git, "commit", "-qm", "account")

    source = DriftSource(git_url=repo.as_uri(), ref="main", subdir="account")
    async with checkout(source) as directory:
        assert (directory / "roles.yaml").read_text() == (exported / "roles.yaml").read_text()


async def test_an_unknown_git_ref_is_a_clear_error(tmp_path: Path):
    run("git", "init", "-q", "-b", "main", str(tmp_path / "repo"))
    source = DriftSource(git_url=(tmp_path / "repo").as_uri(), ref="no-such-branch")
    with pytest.raises(SourceUnavailable, match="could not clone ref 'no-such-branch'"):
        async with checkout(source):
            pass
