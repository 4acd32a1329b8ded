"""The one signature every planner has: ``planner(client, spec, context) -> plan``.

A planner reads the live account through the ``AsyncArizeAdmin`` it is given and changes
nothing. Whatever else a runbook's planner may read comes in :class:`PlanContext`, so every
planner is called the same way: by the Prefect task that opens the client from its block
(``tasks.planner``), and by tests that hand it a client on the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from arize_admin import AsyncArizeAdmin
from core.keys import KeyReader

SpecT = TypeVar("SpecT", contravariant=True)
PlanT = TypeVar("PlanT", covariant=True)


@dataclass(frozen=True)
class PlanContext:
    """What a planner may read besides the Arize account; each runbook uses what it needs."""

    keys: KeyReader | None = None
    """The key store (onboard-team, rotate-service-keys): which key values are stored."""
    last_mapping: Mapping[str, str] = field(default_factory=dict)
    """saml-role-mapping: group → role id as the last run published it."""
    review_id: str | None = None
    """access-review: the review this plan belongs to (default: the spec's)."""
    access_snapshot: Mapping[str, Any] | None = None
    """restore-user: what offboard-user saved of the person before taking it away (JSON)."""
    gate_restores: bool = True
    """restore-user: the approval policy's ``gate_restores`` (whether giving access back waits
    at the gate whatever the spec says)."""

    def key_reader(self, runbook: str) -> KeyReader:
        """The key store, for a planner that cannot plan without it.

        Raises:
            ValueError: no key store was given; names what to pass.
        """
        if self.keys is None:
            raise ValueError(f"{runbook}'s planner reads the key store: pass PlanContext(keys=...)")
        return self.keys


class Planner(Protocol[SpecT, PlanT]):
    """A read-only planner: live state of ``client`` against ``spec``, as a plan."""

    async def __call__(
        self, client: AsyncArizeAdmin, spec: SpecT, context: PlanContext = ...
    ) -> PlanT: ...


#: The planners' parameter names, in order; the registry test holds every planner to them.
PLANNER_PARAMETERS = ("client", "spec", "context")
