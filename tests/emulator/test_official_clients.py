"""The official clients against the emulator: the ``arize`` SDK 8.61 and the ``ax`` CLI 0.39.

They cannot live in the project venv (they pin cryptography 44 and rich 13, which would
downgrade Prefect's cryptography 50 and rich 15, and pull pandas/pyarrow/grpcio), so they
live in a separate venv, ``.venv-fidelity`` (``make fidelity``; override with
``FIDELITY_VENV``). Without it these tests skip, unless ``FIDELITY_REQUIRED=1`` makes that a
failure (CI). Each walkthrough script runs in that venv and prints one JSON line per step.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.arize import ArizeTarget

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = Path(os.environ.get("FIDELITY_VENV", ROOT / ".venv-fidelity"))
PYTHON = VENV / "bin" / "python"
AX = VENV / "bin" / "ax"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def fidelity_venv() -> Path:
    """The venv holding arize==8.61.0 and arize-ax-cli==0.39.0."""
    if not (PYTHON.exists() and AX.exists()):
        message = f"official clients not installed in {VENV} (run `make fidelity`)"
        if os.environ.get("FIDELITY_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return VENV


def _env(home: Path, **extra: str) -> dict[str, str]:
    # A clean environment: no ARIZE_* settings, no proxies (the SDK would route loopback
    # through HTTPS_PROXY), and HOME pointing at the test's profile.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    } | extra


def _profile(home: Path, arize: ArizeTarget) -> None:
    port = arize.base_url.rsplit(":", 1)[1]
    profiles = home / ".arize" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "test.toml").write_text(
        textwrap.dedent(
            f"""\
            [profile]
            name = "test"

            [auth]
            auth_method = "api-key"
            api_key = "{arize.admin_key}"

            [routing]
            single_host = "127.0.0.1"
            single_port = "{port}"
            api_scheme = "http"

            [output]
            format = "json"

            [update]
            enabled = false
            """
        )
    )
    (home / ".arize" / ".active_profile").write_text("test")


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_sdk_every_admin_method(fidelity_venv: Path, arize: ArizeTarget, tmp_path: Path) -> None:
    port = arize.base_url.rsplit(":", 1)[1]
    proc = subprocess.run(
        [str(PYTHON), str(HERE / "sdk_walkthrough.py")],
        env=_env(tmp_path, EMULATOR_PORT=port, EMULATOR_ADMIN_KEY=arize.admin_key),
        capture_output=True,
        text=True,
        timeout=300,
    )
    steps = _json_lines(proc.stdout)
    assert proc.returncode == 0, (steps, proc.stderr[-3000:])
    assert [s["step"] for s in steps] == [
        "users",
        "organizations",
        "spaces",
        "projects",
        "roles_and_bindings",
        "resource_restrictions",
        "api_keys",
        "audit_logs",
    ]
    assert all(s["ok"] for s in steps)
    routes = arize.requests()["by_route"]
    # Every admin endpoint was exercised by the SDK.
    assert len(routes) >= 40, sorted(routes)


def test_sdk_errors_and_retry_after(
    fidelity_venv: Path, arize: ArizeTarget, tmp_path: Path
) -> None:
    port = arize.base_url.rsplit(":", 1)[1]
    script = textwrap.dedent(
        f"""
        import json
        from arize import ArizeClient
        where = dict(api_host="127.0.0.1", api_port={port}, api_scheme="http")
        ok = ArizeClient(api_key={arize.admin_key!r}, **where)
        bad = ArizeClient(api_key="ak-wrong", **where)
        out = {{}}
        try:
            bad.users.list()
        except Exception as exc:
            out["unauthorized"] = [type(exc).__name__, exc.status, json.loads(exc.body)["title"]]
        try:
            ok.users.get(user="VXNlcjo5OTk6YWJjZA==")
        except Exception as exc:
            out["not_found"] = [type(exc).__name__, exc.status]
        out["after_429s"] = len(ok.roles.list().roles)
        print(json.dumps(out))
        """
    )
    # urllib3 retries a GET on 429 when Retry-After is present.
    arize.set_faults(rate_limit_rate=1.0, retry_after_s=1, max_faults=2, path_prefix="/v2/roles")
    proc = subprocess.run(
        [str(PYTHON), "-c", script], env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["unauthorized"] == ["UnauthorizedException", 401, "Unauthorized"]
    assert out["not_found"] == ["NotFoundException", 404]
    assert out["after_429s"] == 6
    assert arize.requests()["by_route"]["GET /v2/roles"] == 3


def test_ax_every_admin_command(fidelity_venv: Path, arize: ArizeTarget, tmp_path: Path) -> None:
    _profile(tmp_path, arize)
    proc = subprocess.run(
        [str(PYTHON), str(HERE / "ax_walkthrough.py")],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=500,
    )
    lines = _json_lines(proc.stdout)
    assert proc.returncode == 0, (lines[-3:], proc.stderr[-3000:])
    assert lines[-1] == {"commands": 78}
    assert all(line["ok"] for line in lines[:-1])
    exits = {line["exit"] for line in lines[:-1]}
    assert exits == {0, 2, 4}  # success, bad argument, API error


def test_ax_executable(fidelity_venv: Path, arize: ArizeTarget, tmp_path: Path) -> None:
    """The installed ``ax`` script itself: JSON on stdout, exit 4 on API errors."""
    _profile(tmp_path, arize)

    def ax(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AX), *args], env=_env(tmp_path), capture_output=True, text=True, timeout=120
        )

    listed = ax("users", "list")
    assert listed.returncode == 0, listed.stderr
    assert {u["email"] for u in json.loads(listed.stdout)["users"]} >= {"dana@acme.example"}
    missing = ax("spaces", "get", "no-such-space")
    assert missing.returncode == 4
    conflict = ax("organizations", "create", "--name", "Acme")
    assert conflict.returncode == 4
    assert "409" in conflict.stdout + conflict.stderr
