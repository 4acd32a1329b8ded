"""``arize-runbooks send-test-event SOURCE --email …``: a signed test event to a running service.

Each source gets the event its example routes (examples/routing.yaml) act on: a leaver for
Okta (user deactivated), BambooHR (terminated), ServiceNow (offboarding request) and the
generic source (``runbook.offboard-user``); a team-onboarding issue for Jira. It is signed
with the secret `serve` has (env file and environment), by the same code that verifies it
(webhooks/verify.py). Use ``--dry-run`` where the route allows it to plan without changing.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.errors import CliError

out = Console()
SOURCES = ("okta", "bamboohr", "jira", "servicenow", "generic")


def event_body(source: str, email: str, requested_by: str) -> dict[str, Any]:
    """The test event ``source`` would send about ``email``."""
    event_id = str(uuid.uuid4())
    if source == "okta":
        return {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "eventId": event_id,
            "data": {"events": [{
                "uuid": str(uuid.uuid4()),
                "eventType": "user.lifecycle.deactivate",
                "displayMessage": "Deactivate Okta user",
                "actor": {"type": "User", "alternateId": requested_by},
                "outcome": {"result": "SUCCESS"},
                "target": [{"type": "User", "alternateId": email, "displayName": email}],
            }]},
        }
    if source == "bamboohr":
        return {
            "employees": [{
                "id": event_id[:8],
                "action": "Updated",
                "changedFields": ["employmentHistoryStatus"],
                "fields": {"employmentHistoryStatus": {"value": "Terminated"},
                           "workEmail": {"value": email}},
            }],
            "fields": {"employmentHistoryStatus": "Employment Status", "workEmail": "Work Email"},
        }
    if source == "jira":
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "jira:issue_created",
            "issue": {"id": event_id[:8], "key": "TEST-1", "fields": {
                "summary": f"Onboard {email}",
                "issuetype": {"name": "Team Onboarding"},
                "reporter": {"emailAddress": requested_by},
                "customfield_10051": "fraud-detection",
                "customfield_10052": [{"displayName": email, "emailAddress": email}],
            }},
        }
    if source == "servicenow":
        return {"event_type": "catalog_request", "event_id": event_id, "number": "RITM0000001",
                "cat_item": "Arize offboarding", "opened_by": requested_by,
                "variables": {"user_email": email, "reason": "send-test-event"}}
    return {"type": "runbook.offboard-user",
            "data": {"spec": {"email": email, "reason": "send-test-event"},
                     "requested_by": requested_by}}


def signed_headers(source: str, body: bytes, settings: Any) -> dict[str, str]:
    """The headers ``source`` signs ``body`` with, from the service's settings.

    Raises:
        CliError: the source's secret is not set here, naming the variable.
    """
    from config.settings import SOURCES as SOURCE_INFO
    from webhooks.settings import decode_whsec
    from webhooks.verify import basic_credentials, sign_bamboohr, sign_hub, sign_standard

    if not settings.source_configured(source):
        variables = " or ".join(SOURCE_INFO[source].variables)
        raise CliError(f"no secret for the {source} source in this environment",
                       where="the environment and the env file",
                       fix=f"set {variables} to the value `arize-runbooks serve` has")
    headers = {"content-type": "application/json"}
    now = str(int(time.time()))
    if source == "okta":
        headers[settings.okta_auth_header] = settings.okta_secret.get_secret_value()
    elif source == "bamboohr":
        headers["x-bamboohr-timestamp"] = now
        headers["x-bamboohr-signature"] = sign_bamboohr(
            settings.bamboohr_secret.get_secret_value(), body, now)
    elif source == "jira":
        headers["x-hub-signature"] = sign_hub(settings.jira_secret.get_secret_value(), body)
    elif source == "servicenow":
        if settings.servicenow_token is not None:
            headers["authorization"] = f"Bearer {settings.servicenow_token.get_secret_value()}"
        else:
            headers["authorization"] = basic_credentials(
                settings.servicenow_username, settings.servicenow_password.get_secret_value())
    else:
        msg_id = f"msg_{uuid.uuid4().hex}"
        key = decode_whsec(settings.generic_secret.get_secret_value())
        headers.update({"webhook-id": msg_id, "webhook-timestamp": now,
                        "webhook-signature": sign_standard(key, msg_id, now, body)})
    return headers


def send_test_event(
    source: Annotated[str, typer.Argument(help="okta, bamboohr, jira, servicenow or generic.")],
    email: Annotated[str, typer.Option(help="The person the event is about.")],
    url: Annotated[
        str, typer.Option(help="Where `arize-runbooks serve` listens.")
    ] = "http://127.0.0.1:8787",
    requested_by: Annotated[
        str, typer.Option(help="Who the event says asked (may not approve the run).")
    ] = "send-test-event@arize-runbooks.invalid",
) -> None:
    """Send a correctly signed test event to a running webhook service; print its receipt."""
    import httpx

    from cli.serve import load_settings

    if source not in SOURCES:
        raise typer.BadParameter(f"use one of {', '.join(SOURCES)}", param_hint="SOURCE")
    settings = load_settings()
    body = json.dumps(event_body(source, email, requested_by)).encode()
    headers = signed_headers(source, body, settings)
    target = f"{url.rstrip('/')}/webhooks/{source}"
    try:
        response = httpx.post(target, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as ex:
        raise CliError(f"cannot reach {target}: {type(ex).__name__}",
                       fix="start `arize-runbooks serve`, or pass --url where it listens") from None
    if response.status_code >= 400:
        detail = response.json().get("detail") if response.headers.get(
            "content-type", "").startswith("application/json") else response.text[:200]
        raise CliError(f"{target} answered {response.status_code}: {detail}",
                       fix="401: the secret here differs from the service's; "
                       "404: set the source's secret for `serve`")
    out.print_json(response.text)
