"""What this SCIM service provider announces and tolerates: its resource types, its
ServiceProviderConfig, and the policy that accepts Microsoft Entra's non-compliant PATCHes;
and the service that serves them (:class:`Service`)."""

from __future__ import annotations

import functools
from typing import Any, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    Path,
    Reference,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_server.requests import ScimRequest
from scim2_server.routing import Target, match
from scim2_server.service import ScimService
from scim2_server.utils import parametrize

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


#: How a resource's references to other resources are found: for each reference attribute,
#: the model that holds it (the resource's own, or an extension's), its field there, and for
#: a reference inside a complex attribute (``members.$ref``) the sub-attribute's field.
_ReferencePlan = tuple[tuple[type[Any], str, str | None], ...]


class Service(ScimService):
    """scim2-server's service, publishing resources without two per-request costs.

    :meth:`ScimService.publish` deep-copies the resource it answers with, then finds the
    model's reference attributes by walking and resolving its paths. Here every resource it
    is given was built for the one request (validated from its body, or read from a row) and
    is used by nothing after the answer: it is published in place. And the reference paths
    of a model never change: they are resolved once per model, to the field that holds each,
    and read and written there (a path walk cost about 16 µs, three a User). Together they
    were about a third of the CPU of a create (a deep copy and path walks per answer). The
    locations, versions and reference URLs are the library's: the same methods make them.
    """

    def __init__(self, provider: ScimProvider) -> None:
        super().__init__(provider)
        self._own = {provider.model_for(rt.name) for rt in provider.resource_types}
        self._plans: dict[type[Resource[Any]], _ReferencePlan] = {}

    @staticmethod
    def match(request: ScimRequest) -> Target:
        """The library's routing, remembered by method and path: each request is matched
        three times (for its metric label, by the handler, by the operation), and an IdP
        sends a few paths (``/Users``, ``/Groups``, one resource's) over and over. A long
        path is matched afresh: matching runs before the token check, and nobody may fill
        the process's memory with paths."""
        if len(request.path) > _LONGEST_REMEMBERED_PATH:
            return match(request.method.upper(), request.path)
        return _target(request.method.upper(), request.path)

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        if type(resource) not in self._own:  # not one of ours: the library's own way
            return super().publish(base_url, resource)
        assert resource.meta is not None and resource.id is not None
        update: dict[str, Any] = {
            "location": self.resource_location(
                base_url, self.get_resource_type_of(resource), resource.id
            )
        }
        if not self.etag_supported:
            update["version"] = None
        resource.meta = resource.meta.model_copy(update=update)
        self._publish_references(base_url, resource)
        return resource

    def get_model(self, resource_type: ResourceType) -> type[Resource[Any]]:
        # The library's, without its ``cast(type[Resource[Any]], ...)``: subscribing
        # ``Resource`` at run time looks a class up on every call (about 1 % of the service's
        # CPU on an import: every search answer asks for every model).
        return self.provider.model_for(resource_type)  # type: ignore[return-value]

    def _reference_plan(self, model: type[Resource[Any]]) -> _ReferencePlan:
        """The reference attributes :meth:`ScimService._publish_references` rewrites, as it
        selects them (references to resources, not external or URI ones), each bound once
        to the model and field holding it."""
        plan = self._plans.get(model)
        if plan is not None:
            return plan
        found: list[tuple[type[Any], str, str | None]] = []
        for path in parametrize(Path, model).iter_paths(target_type=[Reference]):
            binding = path.resolve()
            assert binding is not None
            target_type = cast(type[Reference[Any]], binding.target_type)
            reference_types = set(target_type.__reference_types__)
            if not reference_types or reference_types & {"external", "uri"}:
                continue
            found.append((binding.model, binding.field_name, binding.sub_field_name))
        plan = self._plans[model] = tuple(found)
        return plan

    def _publish_references(self, base_url: str, resource: Resource[Any]) -> None:
        def locate(reference: Any) -> Any:
            if isinstance(reference, list):
                return [locate(item) for item in reference]
            if reference is None:
                return None
            return self.reference_location(base_url, reference)

        for holder, field_name, sub_field_name in self._reference_plan(type(resource)):
            # An extension's attribute is held by the extension (``user[EnterpriseUser]``).
            host = resource if isinstance(resource, holder) else resource[holder]
            value = None if host is None else getattr(host, field_name)
            if value is None:
                continue
            if sub_field_name is None:
                setattr(host, field_name, locate(value))
                continue
            for entry in value if isinstance(value, list) else [value]:
                if entry is not None:
                    setattr(entry, sub_field_name, locate(getattr(entry, sub_field_name)))


#: The paths of our resources, ``/Users/<uuid>`` and ``/Groups/<uuid>``, are well under it.
_LONGEST_REMEMBERED_PATH = 128


@functools.lru_cache(maxsize=1024)
def _target(method: str, path: str) -> Target:
    # A Target is frozen, so one can be handed to every request with its method and path.
    return match(method, path)
