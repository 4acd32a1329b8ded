"""SCIM requests counted by operation and status on /metrics; a disabled endpoint is 404."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.scim.conftest import SCIM, Scim, running, user_body


async def test_requests_by_op_and_status(scim: Scim) -> None:
    await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
    await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))  # 409
    await scim.http.get(f"{SCIM}/Users", params={"filter": 'userName eq "x'})  # 400
    await scim.http.get(f"{SCIM}/ServiceProviderConfig")
    await scim.http.get(f"{SCIM}/Users", headers={"Authorization": "Bearer wrong"})  # 401
    text = (await scim.http.get("/metrics")).text
    counts = {
        (sample.labels["op"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "arize_scim_requests"
        for sample in family.samples
        if sample.name == "arize_scim_requests_total"
    }
    assert counts == {
        ("create", "201"): 1,
        ("create", "409"): 1,
        ("search", "400"): 1,
        ("discovery", "200"): 1,
        ("search", "401"): 1,
    }
    assert "ada@acme.example" not in text


async def test_disabled_endpoint_is_404(tmp_path: Path) -> None:
    async with running(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", enabled=False) as scim:
        response = await scim.http.get(f"{SCIM}/ServiceProviderConfig")
    assert response.status_code == 404
