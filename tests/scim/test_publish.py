"""The service publishes a resource in place, with each model's reference paths resolved
once, and answers exactly what scim2-server's own publication answers: the same body
(locations, versions, reference URLs), headers and status, for every resource type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scim2_models import Meta, Resource
from scim2_server.service import ScimService

from webhooks.scim.provider import Service, build_provider

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE = "https://idp.example/scim/v2"

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "userName": "ada@acme.example",
    "profileUrl": "https://acme.example/ada",
    "photos": [{"value": "https://acme.example/ada.png"}],
    "groups": [{"value": "g1", "$ref": "Groups/g1", "display": "team"}],
    ENTERPRISE: {"manager": {"value": "m1", "$ref": "Users/m1"}},
}
GROUP = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "team",
    "members": [
        {"value": "u1", "$ref": "Users/u1"},
        {"value": "g2", "$ref": "Groups/g2"},
        {"value": "u3"},
        {"value": "u4", "$ref": "https://elsewhere.example/Users/u4"},
    ],
}


def _resource(model: type[Resource[Any]], body: dict[str, Any], kind: str) -> Resource[Any]:
    resource = model.model_validate(body)
    resource.id = "r1"
    at = datetime(2026, 1, 2, tzinfo=UTC)
    resource.meta = Meta(resource_type=kind, created=at, last_modified=at, version='W/"3"')
    return resource


@pytest.mark.parametrize(("kind", "body"), [("User", USER), ("Group", GROUP)])
def test_same_answer_as_the_library(kind: str, body: dict[str, Any]) -> None:
    provider = build_provider()
    library, ours = ScimService(provider), Service(provider)
    model = provider.model_for(kind)
    for _ in range(2):  # the second time from the cached reference plan
        expected = library.creation_response(BASE, _resource(model, body, kind))
        given = _resource(model, body, kind)
        answered = ours.creation_response(BASE, given)
        assert (answered.status, answered.headers, answered.body) == (
            expected.status,
            expected.headers,
            expected.body,
        )
    # In place: the resource the answer was made from now carries its location.
    assert given.meta is not None and given.meta.location == f"{BASE}/{kind}s/r1"

