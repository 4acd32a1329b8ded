"""What a webhook source declares, in one module of ``webhooks/sources/``.

A source is a subclass of :class:`WebhookSource` plus a pydantic model of its settings. The
rest of the service derives from the list of sources (``webhooks.sources.SOURCES``): the
``/webhooks/<name>`` route and its OpenAPI entry, the settings fields and their
``ARIZE_RUNBOOKS_<FIELD>`` variables, the placeholder check on its secrets, the 404 naming the
variable to set, the routing file's accepted ``source`` values, the metrics label, what
``doctor``, ``setup`` and ``/readyz`` name, and ``send-test-event``'s signed test event.

This module knows nothing of the app, its settings class or its dependencies, so that the
settings class can be built from the sources without an import cycle.
"""

from __future__ import annotations

import functools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field, SecretStr
from starlette.requests import Request

from webhooks.errors import InvalidSignature, MalformedRequest, SourceNotConfigured
from webhooks.receiver import EventDraft
from webhooks.verify import read_body

logger = logging.getLogger("webhooks.verify")

#: Request headers every source keeps with its events; each adds its own (``kept_headers``).
_COMMON_HEADERS = frozenset({"content-type", "user-agent"})


@dataclass(frozen=True)
class VerifiedEvent:
    """A delivery whose signature checked out, with its body parsed.

    Attributes:
        source: The source name (``okta``, ``bamboohr``, ...).
        body: The raw bytes the signature covered.
        payload: The parsed JSON body.
        headers: The request headers worth keeping (lower-case names, no credentials).
    """

    source: str
    # Payloads never reach a repr (a log line, a traceback's locals): the source name does.
    body: bytes = field(repr=False)
    payload: Any = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def header(self, name: str) -> str | None:
        """A kept header by (case-insensitive) name."""
        return self.headers.get(name.lower())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Built once: ``json.loads`` with ``parse_constant`` builds a new decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body strictly (no NaN/Infinity).

    Raises:
        MalformedRequest: empty, not UTF-8, not JSON, or nested too deep.
    """
    if not body.strip():
        raise MalformedRequest("empty body; expected JSON")
    try:
        # What json.loads does with bytes (UTF-8, -16 or -32 by the first bytes).
        return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:
        raise MalformedRequest("JSON nested too deeply") from None
    except ValueError as exc:
        raise MalformedRequest(f"body is not JSON: {exc}") from None


def env_variable(field_name: str) -> str:
    """The variable of a settings field: ``okta_secret`` → ``ARIZE_RUNBOOKS_OKTA_SECRET``."""
    # Imported here: config is the floor below, and this keeps one spelling of the prefix.
    from config.settings import env_name

    return env_name(field_name)


class SourceSettings(BaseModel):
    """What every source's settings model extends: the limits the signing schemes share."""

    replay_window_seconds: int = Field(
        default=300, gt=0, description="Signed timestamps further than this from now are refused."
    )


SettingsT = TypeVar("SettingsT", bound=SourceSettings)


class WebhookSource(ABC, Generic[SettingsT]):
    """One sender of webhooks: its name, settings, signing scheme, event mapping and test event.

    Subclasses set the class attributes and implement :meth:`check`, :meth:`events`,
    :meth:`test_event` and :meth:`sign`; ``webhooks/sources/<name>.py`` holds one instance as
    ``SOURCE``.
    """

    #: The URL segment (``/webhooks/<name>``), the routing file's ``source`` and the trigger's.
    name: ClassVar[str]
    #: The pydantic model of this source's settings; the service's ``Settings`` inherits it,
    #: so field ``okta_secret`` is read from ``ARIZE_RUNBOOKS_OKTA_SECRET``.
    settings: ClassVar[type[SourceSettings]]
    #: The secret fields of ``settings``; any one of them set switches the source on.
    secret_fields: ClassVar[tuple[str, ...]]
    #: How deliveries are signed, in one line (``doctor`` shows it beside the secret).
    scheme: ClassVar[str]
    #: OpenAPI: the route's summary, the body's documented shape and the headers it reads.
    summary: ClassVar[str]
    body_model: ClassVar[type[BaseModel]]
    header_docs: ClassVar[Mapping[str, str]] = {}
    #: Request headers stored with each event besides content-type and user-agent (lower
    #: case): its id or timestamp headers, never credentials or signatures.
    kept_headers: ClassVar[frozenset[str]] = frozenset()
    #: The status of an accepted delivery (a pure duplicate is always 200).
    accepted_status: ClassVar[int] = 202
    #: What ``send-test-event`` sends, in words (its list of sources shows it).
    test_event_summary: ClassVar[str] = "a test event"

    @functools.cached_property
    def _kept(self) -> frozenset[str]:
        return _COMMON_HEADERS | self.kept_headers

    @property
    def path(self) -> str:
        """Where deliveries are posted."""
        return f"/webhooks/{self.name}"

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables that switch the source on (any one of them)."""
        return tuple(env_variable(f) for f in self.secret_fields)

    def configured(self, settings: Any) -> bool:
        """Whether ``settings`` hold a secret of this source."""
        return any(getattr(settings, f, None) is not None for f in self.secret_fields)

    def not_configured(self) -> SourceNotConfigured:
        """The 404 of a switched-off source, naming the variable to set."""
        return SourceNotConfigured.naming(self.name, " or ".join(self.variables))

    @abstractmethod
    def check(self, settings: SettingsT, headers: Mapping[str, str], body: bytes) -> None:
        """Verify a delivery over its raw ``body``.

        Raises:
            InvalidSignature: with the reason for the service's log (the sender sees a 401).
        """

    @abstractmethod
    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        """Cut a verified delivery into the events the routing sees (each with its dedupe id).

        Raises:
            MalformedRequest, UnprocessablePayload: the delivery is not of the sender's shape.
        """

    @abstractmethod
    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        """The body this sender would send about ``email`` (``send-test-event``)."""

    @abstractmethod
    def sign(self, settings: SettingsT, body: bytes, now: int) -> dict[str, str]:
        """The headers this sender would sign ``body`` with at ``now`` (Unix seconds).

        Only called when :meth:`configured` is true.
        """

    def add_routes(self, router: Any) -> None:
        """Add routes besides the delivery ``POST`` (Okta's ``GET`` challenge); none by default."""

    async def verify(self, request: Request, settings: SettingsT, max_bytes: int) -> VerifiedEvent:
        """Read the capped raw body, check its signature, then parse it.

        Raises:
            SourceNotConfigured: this source has no secret here (404, naming the variable).
            InvalidSignature: the check failed (logged with the reason and the client only:
                never the body or the signature).
        """
        if not self.configured(settings):
            raise self.not_configured()
        body = await read_body(request, max_bytes)
        headers = request.headers
        try:
            self.check(settings, headers, body)
        except InvalidSignature as exc:
            client = request.client.host if request.client else "?"
            logger.warning("rejected %s delivery from %s: %s", self.name, client, exc.reason)
            raise
        wanted = self._kept
        kept = {k: v[:512] for k, v in headers.items() if k in wanted}
        return VerifiedEvent(source=self.name, body=body, payload=parse_json(body), headers=kept)


def required(value: SecretStr | None) -> SecretStr:
    """A secret of a configured source (:meth:`~WebhookSource.check` and ``sign`` are only
    called on one, but a source with two secrets may hold either)."""
    if value is None:
        raise InvalidSignature("the source's secret is not set")
    return value
