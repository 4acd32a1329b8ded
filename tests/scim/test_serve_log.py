"""The log of ``arize-runbooks serve``, as shipped, keeps no SCIM filter: uvicorn's access log
printed each request's query, so every Okta lookup wrote the person's e-mail to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx

from tests.webhooks.backends import free_port

ROOT = Path(__file__).resolve().parents[2]
PERSON = "ann.leaver@acme.example"
GROUP = "Fraud Analysts (EMEA)"


def _cli(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, text=True, **kwargs
    )


def test_the_access_log_keeps_each_request_but_no_query(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ARIZE_RUNBOOKS_INBOX_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        "ARIZE_RUNBOOKS_ROUTING_CONFIG": str(ROOT / "examples" / "routing-scim.yaml"),
        # Nothing is forwarded, and no Prefect is needed: the subject is the log, not the runs.
        "ARIZE_RUNBOOKS_FORWARDER_ENABLED": "false",
        "ARIZE_RUNBOOKS_PREFECT_API_URL": "http://127.0.0.1:9/api",
        "COLUMNS": "300",
    }
    created = _cli("scim", "token", "create", "okta", env=env, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    out, err = created.communicate(timeout=120)
    assert created.returncode == 0, err
    token = out.strip().splitlines()[-1]

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serve = _cli("serve", "--port", str(port), env=env, stdout=sink,
                     stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert serve.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        # Okta's lookup of a person, and Entra's of a group, as their guides give them.
        people = httpx.get(
            f"{base}/scim/v2/Users", headers=headers,
            params={"filter": f'userName eq "{PERSON}"', "startIndex": 1, "count": 100},
        )
        groups = httpx.get(
            f"{base}/scim/v2/Groups", headers=headers,
            params={"excludedAttributes": "members", "filter": f'displayName eq "{GROUP}"'},
        )
        assert (people.status_code, groups.status_code) == (200, 200)
        assert people.json()["totalResults"] == groups.json()["totalResults"] == 0
    finally:
        serve.terminate()
        serve.wait(timeout=60)

    text = log.read_text()
    # Each request is still there, with its method, path and status.
    assert '"GET /scim/v2/Users HTTP/1.1" 200' in text, text
    assert '"GET /scim/v2/Groups HTTP/1.1" 200' in text, text
    # Neither filter, however uvicorn would have spelled it.
    for value in (PERSON, GROUP):
        for spelled in (value, quote(value), quote_plus(value), quote(value, safe="")):
            assert spelled not in text
    assert "filter" not in text and "?" not in text
    assert token not in text
