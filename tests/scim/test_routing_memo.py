"""The SCIM service's routing is scim2-server's, remembered by method and path: the same
targets and errors as the library's, each short path matched once, and a long path matched
every time without being kept (matching runs before the token check)."""

from __future__ import annotations

import pytest
from scim2_models import NotFoundException
from scim2_server.requests import ScimRequest
from scim2_server.routing import match

from webhooks.scim import provider
from webhooks.scim.provider import Service


def _request(method: str, path: str) -> ScimRequest:
    return ScimRequest(method=method, base_url="http://scim.test/scim/v2", path=path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Users"),
        ("post", "/Users"),
        ("PATCH", "/Groups/9f1c0a6e-2b1d-4c55-9a53-1f1e1c9d2a10"),
        ("GET", "/ServiceProviderConfig"),
        ("POST", "/.search"),
    ],
)
def test_the_same_target_as_the_library(method: str, path: str) -> None:
    assert Service.match(_request(method, path)) == match(method.upper(), path)


def test_a_short_path_is_matched_once_and_a_long_one_every_time() -> None:
    provider._target.cache_clear()
    path = "/Users/9f1c0a6e-2b1d-4c55-9a53-1f1e1c9d2a10"
    first = Service.match(_request("GET", path))
    assert Service.match(_request("get", path)) is first
    assert provider._target.cache_info().hits == 1

    long_path = "/Users/" + "x" * 300
    target = Service.match(_request("GET", long_path))
    assert target == match("GET", long_path) and target.resource_id == "x" * 300
    assert provider._target.cache_info().currsize == 1


def test_an_unknown_path_is_the_library_error_and_is_not_kept() -> None:
    provider._target.cache_clear()
    with pytest.raises(NotFoundException):
        Service.match(_request("GET", "/Nothing/here/at/all"))
    assert provider._target.cache_info().currsize == 0
