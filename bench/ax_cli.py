"""Benchmark: the official ``ax`` CLI onboarding people one command at a time, vs the runbook.

The same onboarding (invite, add to the organization, add to the space) per member, as a
person would type it: one ``ax`` process per command, against the same emulator at the same
20 ms per request, in the same run as an onboard-team flow. Reports each side's cost per
member and their ratio. Needs the official CLI in .venv-fidelity (``make
.venv-fidelity/.installed``); writes bench/results/ax_cli.json. Asserts nothing.

    python -m bench.ax_cli --members 200 --ax-members 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from bench._emulator import EmulatorProcess, emulator_process
from bench._figures import save
from bench.onboard_team import LATENCY_MS, run_onboarding

ROOT = Path(__file__).resolve().parent.parent
AX = ROOT / ".venv-fidelity" / "bin" / "ax"
RESULTS = Path(__file__).parent / "results" / "ax_cli.json"


def _write_profile(home: Path, emulator: EmulatorProcess, admin_key: str) -> None:
    """An ``ax`` profile that routes every call to the emulator over plain HTTP."""
    port = emulator.base_url.rsplit(":", 1)[1]
    profiles = home / ".arize" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "bench.toml").write_text(
        textwrap.dedent(
            f"""\
            [profile]
            name = "bench"

            [auth]
            auth_method = "api-key"
            api_key = "{admin_key}"

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
    (home / ".arize" / ".active_profile").write_text("bench")


def _ax(home: Path, *args: str) -> Any:
    """Run the real ``ax`` executable once; fail loudly on a non-zero exit."""
    # A clean environment: the CLI would honour ARIZE_* settings and route loopback through
    # a proxy, and HOME selects the bench profile.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    proc = subprocess.run(
        [str(AX), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        command = " ".join(args[:2])
        raise RuntimeError(f"ax {command} exited {proc.returncode}: {proc.stderr[-500:]}")
    text = proc.stdout.strip()
    return json.loads(text) if text else None


def run_ax(emulator: EmulatorProcess, members: int) -> dict[str, Any]:
    """Onboard ``members`` people with the ``ax`` CLI, three commands each; return figures."""
    admin_key = emulator.reset("demo")
    with tempfile.TemporaryDirectory(prefix="ax-bench-") as tmp:
        home = Path(tmp)
        _write_profile(home, emulator, admin_key)
        # Looked up once, outside the timing: a person would know their org and space ids.
        org_id = _ax(home, "organizations", "get", "Acme")["id"]
        space_id = _ax(home, "spaces", "get", "ml-platform")["id"]
        control = httpx.Client(
            base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
        )
        control.put("/faults", json={"latency_ms": LATENCY_MS})
        control.delete("/requests")
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        for i in range(members):
            user = _ax(
                home, "users", "create", "--full-name", f"Ax User {i}",
                "--email", f"ax{i:05d}@acme.example", "--role", "MEMBER", "--invite-mode", "NONE",
            )
            _ax(home, "organizations", "add-user", org_id, "--user-id", user["id"],
                "--role", "MEMBER")
            _ax(home, "spaces", "add-user", space_id, "--user-id", user["id"], "--role", "MEMBER")
        wall = time.perf_counter() - started
        calls = control.get("/requests").json()["total"]
        control.delete("/faults")
        control.close()
    return {
        "members": members,
        "commands": 3 * members,
        "load_avg_1m_before": round(load_before, 2),
        "wall_seconds": round(wall, 2),
        "api_calls": calls,
        "ms_per_member": round(wall / members * 1000, 1),
        "ms_per_command": round(wall / (3 * members) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time the runbook and the CLI on one emulator process; write the figures and ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.ax_cli")
    parser.add_argument("--members", type=int, default=200, help="runbook team size")
    parser.add_argument("--ax-members", type=int, default=5, help="members onboarded with ax")
    args = parser.parse_args([] if argv is None else argv)
    if not AX.exists():
        raise SystemExit(f"{AX} is missing: run `make .venv-fidelity/.installed` first")

    from prefect.testing.utilities import prefect_test_harness

    with emulator_process() as emulator:
        cli = run_ax(emulator, args.ax_members)
        with prefect_test_harness(server_startup_timeout=120):
            runbook = asyncio.run(run_onboarding(emulator, args.members))
    figures = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        "latency_ms_per_request": LATENCY_MS,
        "ax_cli": cli,
        "runbook": runbook,
        "ratio_ax_to_runbook_per_member": round(cli["ms_per_member"] / runbook["ms_per_member"], 1),
    }
    return save(RESULTS, figures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
