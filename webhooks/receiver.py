"""What every source route does once its delivery is verified and split into events:
route each event, store it in the inbox (deduplicated), wake the forwarder, answer 2xx."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from fastapi import Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from webhooks import pgtext
from webhooks.errors import InboxUnavailable, UnprocessablePayload
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, NewEvent
from webhooks.metrics import Metrics
from webhooks.refusals import EventNotStorable, reason_of
from webhooks.routing import Router, Unroutable

if TYPE_CHECKING:  # the sources import this module for EventDraft; Prefect comes with the app
    from webhooks.forwarder import Forwarder

logger = logging.getLogger("webhooks.receiver")

_Model = TypeVar("_Model", bound=BaseModel)

#: Longest event id / event type kept (the inbox columns hold 255).
_MAX_ID = 255


@dataclass(frozen=True)
class EventDraft:
    """One event cut out of a verified delivery."""

    event_id: str
    event_type: str
    payload: Any
    delivery_id: str | None = None
    #: A second dedupe key from the signed body (when the event id is not signed).
    content_key: str | None = None


class EventReceipt(BaseModel):
    """What happened to one event of a delivery."""

    event_id: str
    event_type: str
    status: Literal["pending", "forwarded", "dead", "duplicate"] = Field(
        description="'dead': stored in the dead letters (reason given); 'duplicate': seen before."
    )
    inbox_id: int
    deployment: str | None = None
    reason: str | None = None


class Receipt(BaseModel):
    """The answer to an accepted delivery (2xx)."""

    status: Literal["accepted", "duplicate"]
    events: list[EventReceipt]


def validate_shape(model: type[_Model], payload: Any, what: str) -> _Model:
    """Validate a parsed body against the sender's documented shape (422 with the reason)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise UnprocessablePayload(f"not {what}: {where}: {error['msg']}") from None


def respond(receipt: Receipt, *, accepted: int = 202) -> Response:
    """The answer itself: 202 (or ``accepted``) for a delivery with something new, 200 for a
    pure duplicate. Serialised here, once: FastAPI returns a ``Response`` as it is, where a
    returned model would be validated against ``response_model`` and serialised again."""
    return Response(
        receipt.model_dump_json().encode(),
        status_code=accepted if receipt.status == "accepted" else 200,
        media_type="application/json",
    )


def check_id(value: Any, what: str) -> str:
    """A non-empty string id of bounded length (raises 422 otherwise)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise UnprocessablePayload(f"{what} is missing or not a string")
    if len(value) > _MAX_ID:
        raise UnprocessablePayload(f"{what} is longer than {_MAX_ID} characters")
    return value.strip()


def _stored_id(value: Any, what: str) -> str:
    """:func:`check_id`, in the form the inbox stores: an id holding a NUL or a lone
    surrogate is kept as its JSON escape (:func:`webhooks.pgtext.escape_id`), the same on
    every backend, so a redelivery is a duplicate wherever it lands."""
    stored = pgtext.escape_id(check_id(value, what))
    if len(stored) > _MAX_ID:
        raise UnprocessablePayload(f"{what} is longer than {_MAX_ID} characters once escaped")
    return stored


def new_event(source: str, draft: EventDraft, headers: dict[str, str], router: Router) -> NewEvent:
    """``draft`` as the inbox stores it: ids checked and escaped, routed (or a dead letter
    with the reason no route took it). Raises UnprocessablePayload for an id it cannot keep."""
    event_id = _stored_id(draft.event_id, "event id")
    event_type = _stored_id(draft.event_type, "event type")
    deployment: str | None = None
    parameters: dict[str, Any] | None = None
    status, reason = EventStatus.PENDING, None
    try:
        routed = router.route(
            source=source,
            event_id=event_id,
            event_type=event_type,
            payload=draft.payload,
            delivery_id=draft.delivery_id,
        )
        deployment, parameters = routed.deployment, routed.parameters
    except Unroutable as exc:
        status, reason = EventStatus.DEAD, exc.reason
    # Every field is checked already (ids above, routing's output): skip validation.
    delivery_id = None if draft.delivery_id is None else pgtext.escape_id(draft.delivery_id)
    if delivery_id is not None and len(delivery_id) > _MAX_ID:
        raise UnprocessablePayload(f"delivery id is longer than {_MAX_ID} characters")
    return NewEvent.model_construct(
        source=source,
        event_id=event_id,
        delivery_id=delivery_id,
        event_type=event_type,
        headers=headers,
        payload=draft.payload,
        deployment=deployment,
        parameters=parameters,
        status=status,
        reason=reason,
        content_key=(
            None if draft.content_key is None else _stored_id(draft.content_key, "content key")
        ),
    )


async def accept(
    *,
    source: str,
    drafts: list[EventDraft],
    headers: dict[str, str],
    inbox: Inbox,
    router: Router,
    forwarder: Forwarder | None,
    metrics: Metrics | None = None,
) -> Receipt:
    """Route and store each event; duplicates (same source + event id) are not stored again.

    The events of one delivery are added together, so they share one group commit rather
    than waiting for one each. An event that fails its checks ends the delivery with its
    error, once the events before it are stored.

    An event the database refuses for its content (:class:`~webhooks.refusals.EventNotStorable`)
    fails the delivery with 422 naming it, once every other event of it is stored.

    Raises:
        InboxUnavailable: the inbox could not be written (503: the sender should retry).
        UnprocessablePayload: an event cannot be stored (422: retrying cannot help).
    """
    news: list[NewEvent] = []
    failed: Exception | None = None
    for draft in drafts:
        try:
            news.append(new_event(source, draft, headers, router))
        except Exception as exc:  # raised below, once the events before it are stored
            failed = exc
            break
    outcomes: list[tuple[Any, bool] | BaseException]
    if len(news) == 1:
        try:
            outcomes = [await inbox.add(news[0])]
        except (SQLAlchemyError, OSError, EventNotStorable) as exc:
            outcomes = [exc]
    else:
        # Every event gets its own outcome: one that cannot be stored leaves the others be.
        outcomes = list(
            await asyncio.gather(*(inbox.add(new) for new in news), return_exceptions=True)
        )
    for result in outcomes:
        if isinstance(result, BaseException) and not isinstance(result, EventNotStorable):
            if not isinstance(result, SQLAlchemyError | OSError):
                raise result
            # The class and SQLSTATE only: the driver's message may quote a parameter.
            logger.error("inbox write failed for %s delivery: %s", source, reason_of(result))
            raise InboxUnavailable("the inbox is unavailable; retry later") from None
    refused = [result for result in outcomes if isinstance(result, EventNotStorable)]
    if refused:
        if metrics is not None:
            metrics.unstorable(source, len(refused))
        logger.warning("%s delivery refused: %s", source, refused[0])
        failed = UnprocessablePayload(str(refused[0]))
    added = [result for result in outcomes if not isinstance(result, BaseException)]
    stored_news = [
        new for new, result in zip(news, outcomes, strict=True)
        if not isinstance(result, BaseException)
    ]  # fmt: skip
    receipts: list[EventReceipt] = []
    created_any = False
    for new, (stored, created) in zip(stored_news, added, strict=True):
        created_any = created_any or created
        outcome = stored.status.value if created else "duplicate"
        if metrics is not None:
            metrics.stored(source, outcome)
        # DEBUG: a line per event costs more than storing it at a burst's rate; the counts
        # are in ``arize_webhook_events_total`` instead.
        if created and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "stored %s:%s (%s) as %s%s",
                source,
                new.event_id,
                new.event_type,
                stored.status.value,
                f": {new.reason}" if new.reason else f" -> {new.deployment}",
            )
        receipts.append(
            EventReceipt(
                event_id=new.event_id,
                event_type=new.event_type,
                status=outcome,
                inbox_id=stored.id,
                deployment=stored.deployment,
                reason=stored.last_error if stored.status is EventStatus.DEAD else None,
            )
        )
    if created_any and forwarder is not None:
        forwarder.wake()
    if failed is not None:
        raise failed
    if drafts and not created_any:
        return Receipt(status="duplicate", events=receipts)
    return Receipt(status="accepted", events=receipts)
