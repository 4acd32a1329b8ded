"""Fault injection and the request journal (control plane ``/_emulator``)."""

from __future__ import annotations

import time

import httpx
import pytest

from emulator.arize import FaultConfig
from tests.emulator.conftest import assert_problem
from tests.fixtures.arize import ArizeTarget


def test_latency(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(latency_ms=150)
    start = time.perf_counter()
    assert admin.get("/v2/users").status_code == 200
    assert time.perf_counter() - start >= 0.15  # a lower bound only: never a timing ceiling


def test_control_plane_is_never_faulted(arize: ArizeTarget) -> None:
    arize.set_faults(error_rate=1.0, rate_limit_rate=1.0, lost_response_rate=1.0)
    assert httpx.get(f"{arize.base_url}/_emulator/health", trust_env=False).status_code == 200
    assert arize.requests()["total"] == 0


def test_error_burst_then_recovery(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(error_rate=1.0, error_statuses=[503], max_faults=2)
    statuses = [admin.get("/v2/users").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert arize.control("GET", "faults")["injected"] == 2


def test_injected_errors_are_problems(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(error_rate=1.0, error_statuses=[502])
    assert_problem(admin.get("/v2/users"), 502)


def test_rate_limit_with_retry_after(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(rate_limit_rate=1.0, retry_after_s=2)
    response = admin.get("/v2/users")
    assert_problem(response, 429)
    assert response.headers["retry-after"] == "2"
    arize.set_faults(rate_limit_rate=1.0, retry_after_s=0.25)
    assert admin.get("/v2/users").headers["retry-after"] == "0.25"


def test_max_rps(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(max_rps=3)
    statuses = [admin.get("/v2/users").status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]
    time.sleep(1.05)
    assert admin.get("/v2/users").status_code == 200


def test_lost_response_commits_then_drops(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(lost_response_rate=1.0, methods=["POST"])
    with pytest.raises(httpx.RemoteProtocolError):
        admin.post("/v2/organizations", json={"name": "Ghost"})
    assert admin.get("/v2/organizations", params={"name": "Ghost"}).json()["organizations"]
    with pytest.raises(httpx.RemoteProtocolError):  # a 204 is dropped too
        admin.post(f"/v2/users/{arize.user_id('dana@acme.example')}/reset-password")
    arize.clear_faults()
    assert admin.post("/v2/organizations", json={"name": "Ghost"}).status_code == 409


def test_filters_by_method_and_path(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.set_faults(
        error_rate=1.0, error_statuses=[500], methods=["DELETE"], path_prefix="/v2/roles"
    )
    assert admin.get("/v2/roles").status_code == 200
    role = admin.post("/v2/roles", json={"name": "Doomed", "permissions": ["USER_READ"]}).json()
    assert admin.delete(f"/v2/roles/{role['id']}").status_code == 500
    assert admin.delete("/v2/users/VXNlcjo5OTk6YWJjZA==").status_code == 404


def test_faults_are_deterministic_under_a_seed(arize: ArizeTarget, admin: httpx.Client) -> None:
    def run() -> list[int]:
        arize.set_faults(error_rate=0.3, rate_limit_rate=0.2, seed=42)
        return [admin.get("/v2/roles").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 429} <= set(first) and set(first) - {200, 429}


def test_request_journal(arize: ArizeTarget, admin: httpx.Client) -> None:
    user_id = arize.user_id("dana@acme.example")
    arize.clear_requests()
    admin.get(f"/v2/users/{user_id}")
    admin.get(f"/v2/users/{user_id}")
    admin.get("/v2/users")
    admin.post("/v2/organizations", json={"name": "Counted"})
    arize.set_faults(error_rate=1.0, error_statuses=[503])
    admin.get("/v2/spaces")  # faulted requests are counted too: they reached the server
    counts = arize.requests()
    assert counts["total"] == 5
    assert counts["by_route"] == {
        "GET /v2/users/{user_id}": 2,
        "GET /v2/users": 1,
        "POST /v2/organizations": 1,
        "GET /v2/spaces": 1,
    }
    assert counts["by_method"] == {"GET": 4, "POST": 1}
    arize.clear_requests()
    assert arize.requests() == {"total": 0, "by_route": {}, "by_method": {}}


def test_fault_config_validation_and_cli_parsing(arize: ArizeTarget) -> None:
    response = httpx.put(
        f"{arize.base_url}/_emulator/faults", json={"error_rate": 2}, trust_env=False
    )
    assert response.status_code == 422
    parsed = FaultConfig.parse_cli("latency_ms=50,error_rate=0.1,methods=GET|PUT,seed=7")
    assert parsed == FaultConfig(latency_ms=50, error_rate=0.1, methods=["GET", "PUT"], seed=7)
    assert FaultConfig.parse_cli('{"max_rps": 5}') == FaultConfig(max_rps=5)
    assert FaultConfig.parse_cli("") is None


def test_a_seeded_path_meets_the_same_faults_however_other_paths_interleave(
    arize: ArizeTarget, admin: httpx.Client
) -> None:
    """Concurrent tasks reach the server in no fixed order: the tries of one path must meet
    the same faults whether other paths' requests come before, between or after them."""

    def run(order: str) -> dict[str, list[int]]:
        arize.set_faults(error_rate=0.3, rate_limit_rate=0.2, seed=42)
        paths = {"r": "/v2/roles", "s": "/v2/spaces"}
        statuses: dict[str, list[int]] = {"r": [], "s": []}
        for which in order:
            statuses[which].append(admin.get(paths[which]).status_code)
        return statuses

    one_after_the_other = run("r" * 12 + "s" * 12)
    interleaved = run("rs" * 12)
    other_first = run("s" * 12 + "r" * 12)
    assert one_after_the_other == interleaved == other_first
    # Each path meets faults and successes, and not the same sequence as the other.
    for statuses in one_after_the_other.values():
        assert 200 in statuses and set(statuses) - {200}
    assert one_after_the_other["r"] != one_after_the_other["s"]
