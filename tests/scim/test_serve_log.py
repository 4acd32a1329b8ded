"""The log of ``arize-runbooks serve``, as shipped, keeps no SCIM filter: uvicorn's access log
printed each request's query, so every Okta lookup wrote the person's e-mail to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx

from tests.webhooks.backends import ROOT, ServiceProcess

PERSON = "ann.leaver@acme.example"
GROUP = "Fraud Analysts (EMEA)"


def test_the_access_log_keeps_each_request_but_no_query(tmp_path: Path) -> None:
    inbox_url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    service = ServiceProcess(
        inbox_url=inbox_url,
        # Nothing is forwarded, and no Prefect is needed: the subject is the log, not the runs.
        prefect_api_url="http://127.0.0.1:9/api",
        forwarder_enabled=False,
        routing_config=str(ROOT / "examples" / "routing-scim.yaml"),
        log=tmp_path / "serve.log",
    )
    created = subprocess.run(
        [sys.executable, "-m", "cli.main", "scim", "token", "create", "okta"],
        cwd=ROOT, env=service.env, capture_output=True, text=True, timeout=120,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    with service:
        headers = {"Authorization": f"Bearer {token}"}
        # Okta's lookup of a person, and Entra's of a group, as their guides give them.
        people = httpx.get(
            f"{service.base_url}/scim/v2/Users", headers=headers,
            params={"filter": f'userName eq "{PERSON}"', "startIndex": 1, "count": 100},
        )
        groups = httpx.get(
            f"{service.base_url}/scim/v2/Groups", headers=headers,
            params={"excludedAttributes": "members", "filter": f'displayName eq "{GROUP}"'},
        )
        assert (people.status_code, groups.status_code) == (200, 200)
        assert people.json()["totalResults"] == groups.json()["totalResults"] == 0

    text = service.log.read_text()
    # Each request is still there, with its method, path and status.
    assert '"GET /scim/v2/Users HTTP/1.1" 200' in text, text
    assert '"GET /scim/v2/Groups HTTP/1.1" 200' in text, text
    # Neither filter, however uvicorn would have spelled it.
    for value in (PERSON, GROUP):
        for spelled in (value, quote(value), quote_plus(value), quote(value, safe="")):
            assert spelled not in text
    assert "filter" not in text and "?" not in text
    assert token not in text
