"""State across restarts (SQLite), the threaded server, the CLI command, and exports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import emulator.arize
from emulator.arize import ArizeEmulatorServer, create_app

KEY = "ak-persist-test"


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "arize.db")
    with ArizeEmulatorServer(db_path=db, admin_key=KEY) as server:
        org = httpx.post(
            f"{server.base_url}/v2/organizations",
            json={"name": "Durable"},
            headers=_headers(KEY),
            trust_env=False,
        ).json()
        key = httpx.post(
            f"{server.base_url}/v2/api-keys",
            json={"key_type": "USER", "name": "k"},
            headers=_headers(KEY),
            trust_env=False,
        ).json()["key"]
    # Restart with another seed: the stored account wins; the old admin key still works.
    with ArizeEmulatorServer(db_path=db, admin_key=KEY, seed="empty") as server:
        got = httpx.get(
            f"{server.base_url}/v2/organizations/{org['id']}",
            headers=_headers(KEY),
            trust_env=False,
        )
        assert got.status_code == 200 and got.json() == org
        assert (
            httpx.get(
                f"{server.base_url}/v2/users", headers=_headers(key), trust_env=False
            ).status_code
            == 200
        )
        logs = httpx.get(
            f"{server.base_url}/v2/audit-logs", headers=_headers(KEY), trust_env=False
        ).json()
        assert [log["operation_name"] for log in logs["logs"]] == [
            "createUserApiKey",
            "createOrganization",
        ]
        projects = httpx.get(
            f"{server.base_url}/v2/projects", headers=_headers(KEY), trust_env=False
        ).json()
        assert len(projects["projects"]) == 5  # the demo seed from the first start
    # Without --admin-key a fresh admin key is issued for the stored admin.
    app = create_app(db_path=db)
    assert app.state.emulator.admin_key_generated
    assert (
        app.state.emulator.state.authenticate(app.state.emulator.admin_key).user.email
        == "admin@acme.example"
    )


def test_reset_rebuilds_the_account(tmp_path: Path) -> None:
    with ArizeEmulatorServer(admin_key=KEY) as server:
        httpx.post(
            f"{server.base_url}/v2/organizations",
            json={"name": "Gone"},
            headers=_headers(KEY),
            trust_env=False,
        )
        new_key = server.reset("empty")
        assert new_key != KEY
        orgs = httpx.get(
            f"{server.base_url}/v2/organizations", headers=_headers(new_key), trust_env=False
        ).json()
        assert [o["name"] for o in orgs["organizations"]] == ["Acme"]
        users = httpx.get(
            f"{server.base_url}/v2/users", headers=_headers(new_key), trust_env=False
        ).json()
        assert [u["email"] for u in users["users"]] == ["admin@acme.example"]
        assert (
            httpx.get(
                f"{server.base_url}/v2/users", headers=_headers(KEY), trust_env=False
            ).status_code
            == 401
        )


def test_server_binds_loopback_on_a_free_port() -> None:
    with ArizeEmulatorServer() as first, ArizeEmulatorServer() as second:
        assert first.port != second.port
        assert first.get_host_and_port() == ("127.0.0.1", first.port)
        assert first.base_url == f"http://127.0.0.1:{first.port}"
        assert first.admin_key.startswith("ak-") and first.admin_key != second.admin_key
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{first.base_url}/_emulator/health", trust_env=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(60)
def test_cli_serves_in_the_foreground(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIZE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "emulator",
            "--port",
            str(port),
            "--seed",
            "empty",
            "--faults",
            "latency_ms=1,methods=GET",
            "--db",
            str(tmp_path / "cli.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ARIZE_API_KEY=ak-")
        key = line.strip().split("=", 1)[1]
        deadline = time.monotonic() + 30
        while True:
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/_emulator/health", trust_env=False
                    ).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        faults = httpx.get(f"http://127.0.0.1:{port}/_emulator/faults", trust_env=False).json()
        assert faults["latency_ms"] == 1 and faults["methods"] == ["GET"]
        orgs = httpx.get(
            f"http://127.0.0.1:{port}/v2/organizations", headers=_headers(key), trust_env=False
        )
        assert [o["name"] for o in orgs.json()["organizations"]] == ["Acme"]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert (tmp_path / "cli.db").exists()


def test_cli_rejects_bad_faults() -> None:
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["emulator", "--faults", "error_rate=7"])
    assert result.exit_code == 2


def test_exports_are_sorted_and_complete() -> None:
    exported = emulator.arize.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(emulator.arize, name)
