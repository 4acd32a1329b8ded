"""What this SCIM service provider announces and tolerates: its resource types, its
ServiceProviderConfig, and the policy that accepts Microsoft Entra's non-compliant PATCHes."""

from __future__ import annotations

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

#: Most resources one page of a search returns (a larger ``count`` is lowered to it).
MAX_RESULTS = 200


def build_provider() -> ScimProvider:
    """Users (with the enterprise extension) and Groups; PATCH, filters and ETags; no bulk,
    sort or password change.

    The policy: Entra removes ``members`` with a ``value`` list (applied as a selector), and
    adds to a filtered path that matches nothing (the entry is created); capitalised ops and
    ``"False"`` strings are accepted by scim2-models under any policy.
    """
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A token from `arize-runbooks scim token create`.",
                primary=True,
            )
        ],
    )
    policy = ScimPolicy(
        remove_value_as_filter=ScimPolicy.RemoveValue.apply,
        unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    )
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser]),
            ResourceType.from_resource(Group),
        ],
        config=config,
        policy=policy,
    )
