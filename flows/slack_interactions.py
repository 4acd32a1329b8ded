"""One shape for every Slack interaction: parse → decide → catch → tell → log.

The webhook service's ``POST /slack/interactions`` verifies Slack's signature, acknowledges at
once and offers the parsed payload to each handler in turn. Handlers live with their feature
(approvals in the service, review clicks in ``flows/access_review``, access requests in
``flows/time_bound_access``); this module is below all of them. A handler is a
:class:`SlackInteraction`: it says whether the payload is its own (:meth:`~SlackInteraction.
parse`), decides (authorizing the person first, from Slack's ``users.info``, never from the
payload), and tells the person the outcome. The base runs those steps in order and keeps the
two promises every interaction makes: whatever fails while deciding (Prefect down, the inbox
down, a bug) is caught and the person is still told, and one log line records who did what
with which outcome (never a payload, a token or a form's contents).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from prefect.client.orchestration import PrefectClient, get_client
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import slack_web_client

logger = logging.getLogger("flows.slack_interactions")

@dataclass(frozen=True)
class RunRequest:
    """A flow run a Slack interaction asks for, created once by the webhook service's inbox.

    Attributes:
        source: Where it came from (``slack``).
        event_id: Its dedupe key within ``source``: the same request twice is one run.
        event_type: What kind of request, for the inbox's listing.
        deployment: ``<flow>/<deployment>`` to run.
        parameters: The run's parameters.
        payload: What the inbox shows of the request (never a signed trigger or a secret).
    """

    source: str
    event_id: str
    event_type: str
    deployment: str
    parameters: dict[str, Any]
    payload: dict[str, Any]


class RunQueue(Protocol):
    """Stores a :class:`RunRequest` durably; the inbox id and whether it is new."""

    async def __call__(self, request: RunRequest) -> tuple[int, bool]: ...


@dataclass(frozen=True)
class InteractionContext:
    """What a handler factory may build a handler from: the service's settings, its shared
    Prefect client factory, and its durable run queue (``None`` before the lifespan ran)."""

    settings: Any
    prefect_client: Callable[[], PrefectClient]
    queue: RunQueue | None = None


ActionT = TypeVar("ActionT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class SlackPerson:
    """Who clicked or submitted, as Slack's directory knows them."""

    id: str
    email: str | None
    is_restricted: bool


async def look_up(slack: AsyncWebClient, user_id: str) -> SlackPerson | None:
    """The Slack user ``user_id``; ``None`` when Slack does not know them, or they are
    deactivated or a bot (none of whom may decide anything)."""
    try:
        user = (await slack.users_info(user=user_id))["user"]
    except SlackApiError as ex:
        if ex.response.get("error") == "user_not_found":
            return None
        raise
    if user.get("deleted") or user.get("is_bot"):
        return None
    email = ((user.get("profile") or {}).get("email") or "").lower() or None
    return SlackPerson(id=user_id, email=email, is_restricted=bool(user.get("is_restricted")))


async def tell_ephemeral(slack: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    """Answer ``user`` where they clicked, visible to them only; a Slack failure is logged."""
    if not channel:
        return
    try:
        await slack.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as ex:
        logger.warning("Could not answer %s: %s", user, ex.response.get("error"))


async def tell_direct(slack: AsyncWebClient, user: str, text: str) -> None:
    """DM ``text`` to ``user``; a Slack failure is logged, not raised."""
    try:
        await slack.chat_postMessage(channel=user, text=text)
    except SlackApiError as ex:
        logger.warning("Could not DM %s: %s", user, ex.response.get("error"))


class SlackInteraction(ABC, Generic[ActionT, ResultT]):
    """A kind of Slack interaction: subclasses say how to parse, decide, fail and tell.

    Args:
        bot_token: Slack bot token, for ``users.info`` and the answers.
        slack_base_url: Slack Web API base URL (the emulator's in tests).
        prefect_client: Factory of Prefect clients; Prefect's configured API by default.
        clock: Now, in UTC (tests pin it).
    """

    #: What the log calls it: "Approval click", "Review click", "Access request".
    kind: str = "Slack interaction"

    def __init__(
        self,
        *,
        bot_token: str,
        slack_base_url: str | None = None,
        prefect_client: Callable[[], PrefectClient] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._slack: Callable[[], AsyncWebClient] = lambda: slack_web_client(
            bot_token, slack_base_url
        )
        self._prefect = prefect_client or get_client
        self._clock = clock

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"{type(self).__name__}()"

    def slack(self) -> AsyncWebClient:
        """A Slack client with the bot token."""
        return self._slack()

    def prefect(self) -> PrefectClient:
        """A Prefect client (unopened) of the factory the handler was given."""
        return self._prefect()

    def now(self) -> datetime:
        """Now, from the handler's clock."""
        return self._clock()

    # -- what each interaction says ----------------------------------------------------------

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> ActionT | None:
        """The action in a verified payload, or ``None`` when the payload is not this kind."""

    @abstractmethod
    async def decide(self, action: ActionT, slack: AsyncWebClient) -> ResultT:
        """Authorize the person and act; the result says what they are told."""

    @abstractmethod
    def failed(self, action: ActionT) -> ResultT:
        """The result when :meth:`decide` raised: the person is told to try again."""

    @abstractmethod
    async def tell(self, slack: AsyncWebClient, action: ActionT, result: ResultT) -> None:
        """Tell the person (and update the message) what became of their action."""

    @abstractmethod
    def describe(self, action: ActionT) -> str:
        """Who did what on which object, for the log (ids only, never contents)."""

    @abstractmethod
    def outcome(self, result: ResultT) -> str:
        """The result's outcome in one word, for the log."""

    # -- the one sequence --------------------------------------------------------------------

    async def handle(self, payload: dict[str, Any]) -> ResultT | None:
        """Parse, decide, catch, tell and log one verified payload.

        Returns:
            The result, or ``None`` when the payload is not this handler's.
        """
        action = self.parse(payload)
        if action is None:
            return None
        slack = self.slack()
        try:
            result = await self.decide(action, slack)
        except Exception:
            # The type and the traceback for the log; the person hears only "try again".
            logger.exception("%s %s failed", self.kind, self.describe(action))
            result = self.failed(action)
        await self.tell(slack, action, result)
        logger.info("%s %s: %s", self.kind, self.describe(action), self.outcome(result))
        return result


class QueuedInteraction(SlackInteraction[ActionT, ResultT]):
    """An interaction whose answer is a flow run, created once by the service's run queue.

    Args:
        queue: The durable run queue (the webhook service's inbox).
        **kwargs: As for :class:`SlackInteraction`.
    """

    def __init__(self, *, queue: RunQueue, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._queue = queue

    @classmethod
    def from_context(cls, context: InteractionContext) -> Self | None:
        """The handler, or ``None`` without a bot token or before the run queue exists."""
        token = context.settings.slack_bot_token
        if token is None or context.queue is None:
            return None
        return cls(
            queue=context.queue,
            bot_token=token.get_secret_value(),
            slack_base_url=context.settings.slack_base_url,
            prefect_client=context.prefect_client,
        )
