"""The SCIM store: Users and Groups in the service database, behind scim2-server's storage
interface, so the library does the protocol (filters, PATCH, PUT, projections) and this
module only reads and writes rows.

It is the system of record for identity: a write returns once its transaction is committed,
and the same transaction records the change for the runbooks in ``scim_changes`` (an outbox),
one row per resource version, and stores its inbox event (through the
:class:`Publication` it is given: :mod:`webhooks.scim.publisher`), so a committed write has
its event and an uncommitted one has none. A change recorded without its event (a store
without a publication, or an earlier version of this service that handed changes to the
inbox after its commit and died in between) waits in the outbox for the publisher's sweep.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from unicodedata import normalize

from scim2_models import (
    Group,
    InvalidFilterException,
    InvalidValueException,
    Meta,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    SearchRequest,
    UniquenessException,
    User,
)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator
from scim2_server.storage import AsyncScimStorage, SearchPage
from scim2_server.utils import parametrize
from sqlalchemy import (
    Executable,
    Row,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from webhooks.refusals import refused_for_data
from webhooks.scim import tables

#: Attributes whose ``eq`` lookups are answered from an indexed column (a superset of the
#: matches: the library's own filter then decides on each candidate).
_INDEXED = {
    ("userName", None): "user_name_key",
    ("displayName", None): "display_name_key",
    ("externalId", None): "external_id",
    ("emails", "value"): "email_key",
}


class VersionConflict(Exception):
    """Another request changed the resource between this request's read and its write; the
    whole request is served again (see :mod:`webhooks.scim.routes`)."""


@dataclass(frozen=True)
class Change:
    """One committed change the runbooks must hear of (a row of ``scim_changes``)."""

    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Lookup:
    """A search for the rows of one resource type whose ``column`` equals ``value``: Okta's
    ``userName eq`` lookup and Entra's ``displayName eq``. Queued lookups of one column and
    type are answered by one query (see :meth:`ScimStore._read_queued`)."""

    column: str
    kind: str
    value: str


_MOST_LOOKUPS_A_QUERY = 500
"""Most lookups one query answers: well under SQLite's and asyncpg's 32,766 and 32,767 bound
parameters, whatever a client keeps in flight."""

_Read = tuple[Executable | _Lookup, Mapping[str, Any] | None, asyncio.Future[Sequence[Row[Any]]]]
"""A queued read: the query (or lookup), its parameters, and the future its rows go to."""


@dataclass(frozen=True)
class _Creation:
    """A resource to insert, as its ``scim_resources`` row."""

    resource_type: str
    row: dict[str, Any]


class Publication(Protocol):
    """Stores the inbox events of changes inside the store's own transaction."""

    async def within(self, connection: AsyncConnection, changes: Sequence[Change]) -> Any:
        """Store the inbox events of ``changes`` on ``connection``, in its transaction; what
        it returns is handed to :meth:`announce` once that transaction is committed."""

    def announce(self, stored: Sequence[Any]) -> None:
        """Count the stored events and wake the forwarder: their transaction committed."""


#: Most creations committed in one transaction.
_MAX_BATCH = 100

#: The changes committed while serving the current request, for the request log and the
#: publisher. Set by the route for each request.
committed: contextvars.ContextVar[list[Change] | None] = contextvars.ContextVar(
    "scim_committed", default=None
)


#: What the current transaction's :meth:`Publication.within` calls returned, announced once
#: it commits (see :meth:`ScimStore._transaction`).
_publishing: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "scim_publishing", default=None
)


def fold(value: str | None) -> str | None:
    """The comparison key of a caseExact=false string, as scim2-models' default policy makes
    it (NFC, lower case), so an indexed lookup finds what the library's filter would."""
    if value is None:
        return None
    return normalize("NFC", normalize("NFC", value).lower())


def _emails_key(body: dict[str, Any]) -> str | None:
    values = [fold(e.get("value")) for e in body.get("emails") or [] if e.get("value")]
    # Bar-delimited: a lookup of one address is a substring test of "|address|".
    return "|" + "|".join(v for v in values if v) + "|" if values else None


def primary_email(body: dict[str, Any]) -> str | None:
    """The primary e-mail, else the first one, else the userName if it is an address."""
    emails = [e for e in body.get("emails") or [] if e.get("value")]
    chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    if chosen is not None:
        return str(chosen["value"]).lower()
    user_name = body.get("userName") or ""
    return user_name.lower() if "@" in user_name else None


def _now() -> datetime:
    return datetime.now(UTC)


def _version_tag(version: int) -> str:
    return f'W/"{version}"'


def _version_of(tag: str | None) -> int | None:
    if not tag:
        return None
    try:
        return int(tag.removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailedException(detail="unknown version") from None


class ScimStore(AsyncScimStorage):
    """Users and Groups as rows of ``scim_resources`` (the resource as JSON plus the indexed
    comparison keys), with the change outbox written in the same transaction.

    Args:
        engine: The service database's engine (the inbox's).
        models: The resource model of each resource type, by resource type name.
        max_members: Most members a Group may hold after one write.
        publication: Stores each change's inbox event in the change's own transaction;
            without it the changes wait in the outbox for the publisher's sweep.
        max_readers: Most connections serving reads at once (see :meth:`_read_queued`).
    """

    supports_cursors = False

    def __init__(
        self,
        engine: AsyncEngine,
        models: dict[str, type[Resource[Any]]],
        *,
        max_members: int = 5000,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        publication: Publication | None = None,
        max_readers: int = 2,
    ) -> None:
        self._engine = engine
        self.publication = publication
        self._models = models
        self.max_members = max_members
        self._new_id = new_id
        # SQLite has one writer: queue the writes here rather than fail on "database is locked".
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Reads waiting for a reader, and the readers serving them (see _read_queued).
        self.max_readers = max_readers
        self._reads: collections.deque[_Read] = collections.deque()
        self._readers: set[asyncio.Task[None]] = set()
        # Creations waiting for the next group commit, and the task committing them.
        self._creations: list[tuple[_Creation, asyncio.Future[list[Change]]]] = []
        self._creator: asyncio.Task[None] | None = None

    # --- reads ---------------------------------------------------------------------------

    async def _fetch(
        self, query: Executable | _Lookup, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """The rows of one read, queued for the readers (:meth:`_read_queued`)."""
        future: asyncio.Future[Sequence[Row[Any]]] = asyncio.get_running_loop().create_future()
        self._reads.append((query, params, future))
        self._readers = {reader for reader in self._readers if not reader.done()}
        if len(self._readers) < self.max_readers:
            self._readers.add(asyncio.create_task(self._read_queued(), name="scim-read"))
        return await future

    async def _read_queued(self) -> None:
        """Serve queued reads, one after another, on one connection while any are waiting.

        Why: a connection checked out per read cost a pool checkout, on PostgreSQL a ping,
        and a rollback when returned (on SQLite each of these a hop to the connection's
        thread), and 50 lookups at once kept opening and closing overflow connections. Here
        those are paid once per burst, by at most ``max_readers`` connections. Each query
        still starts after its request asked for it, so it sees every write committed
        before (and on PostgreSQL, READ COMMITTED, each statement its own snapshot).

        Lookups waiting together (an import's ``userName eq`` per person, 50 in flight) are
        one query: on SQLite each query is two hops to the connection's thread and back, and
        the lookups queued behind each other for them."""
        try:
            # Checked again once the connection is back in the pool: a read queued while it
            # was being returned found this reader still running and started none, so this
            # reader serves it (its last check and its end are one step: none is stranded).
            while self._reads:
                async with self._engine.connect() as connection:
                    while self._reads:
                        query, params, future = self._reads.popleft()
                        if future.done():  # its request is gone
                            continue
                        lookups = (
                            [(query, future), *self._alike(query)]
                            if isinstance(query, _Lookup)
                            else []
                        )
                        if lookups:
                            query, params = _lookup_query(lookups)
                        waiting = [lookup_future for _, lookup_future in lookups] or [future]
                        try:
                            rows = (await connection.execute(query, params)).all()
                        except Exception as exc:
                            for read in waiting:
                                if not read.done():
                                    read.set_exception(exc)
                            # PostgreSQL refuses every later statement of a failed transaction.
                            await connection.rollback()
                            continue
                        answers = _share_out(lookups, rows) if lookups else [rows]
                        for read, answer in zip(waiting, answers, strict=True):
                            if not read.done():
                                read.set_result(answer)
        except BaseException as exc:
            # No connection, or it was lost: every read waiting fails as this one did (503).
            error = exc if isinstance(exc, Exception) else OSError("SCIM read cancelled")
            while self._reads:
                _, _, future = self._reads.popleft()
                if not future.done():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    def _alike(
        self, lookup: _Lookup
    ) -> list[tuple[_Lookup, asyncio.Future[Sequence[Row[Any]]]]]:
        """Take the queued lookups of ``lookup``'s column and type off the queue, as many as
        one query may answer beside ``lookup``."""
        alike: list[tuple[_Lookup, asyncio.Future[Sequence[Row[Any]]]]] = []
        rest: list[_Read] = []
        for queued in self._reads:
            query, _, future = queued
            if (
                len(alike) < _MOST_LOOKUPS_A_QUERY - 1
                and isinstance(query, _Lookup)
                and (query.column, query.kind) == (lookup.column, lookup.kind)
                and not future.done()
            ):
                alike.append((query, future))
            else:
                rest.append(queued)
        self._reads.clear()
        self._reads.extend(rest)
        return alike

    def _resource(self, row: Any) -> Resource[Any]:
        model = self._models[row.resource_type]
        resource = model.model_validate(row.body)
        resource.id = row.id
        resource.meta = Meta(
            resource_type=row.resource_type,
            created=row.created,
            last_modified=row.last_modified,
            version=_version_tag(row.version),
        )
        return resource

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        rows = await self._fetch(self._row(resource_type.name, resource_id))
        row = rows[0] if rows else None
        if row is None:
            raise NotFoundException(detail=f"{resource_type.name} {resource_id!r} not found")
        return self._resource(row)

    @staticmethod
    def _row(name: str, resource_id: str, *, lock: bool = False) -> Select[Any]:
        query = select(tables.resources).where(
            tables.resources.c.resource_type == name, tables.resources.c.id == resource_id
        )
        return query.with_for_update() if lock else query

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        names = list(dict.fromkeys(rt.name for rt in resource_types))
        scim_filter = search_request.filter
        query: Select[Any]
        if len(names) == 1:  # every IdP request
            columns, values = _narrowing(scim_filter)
            if scim_filter is not None and len(columns) == 1 and columns[0] != "email_key":
                # ``userName eq "…"``: answered with the lookups queued beside it
                rows = await self._fetch(_Lookup(columns[0], names[0], values[0]))
                return self._page(scim_filter, search_request, rows)
            query = _search_statement(columns)
            params = {"kind": names[0], **{f"value{i}": v for i, v in enumerate(values)}}
        else:
            kind = tables.resources.c.resource_type
            query = select(tables.resources).where(kind.in_(names))
            query, params = query.order_by(tables.resources.c.id), {}
        start = search_request.start_index_0 or 0
        if scim_filter is None:  # a plain listing: the database pages and counts it
            counting = select(func.count()).select_from(query.subquery())
            total = (await self._fetch(counting, params))[0][0]
            if search_request.count is not None:
                query = query.limit(search_request.count)
            rows = await self._fetch(query.offset(start), params)
            return SearchPage(total, [self._resource(row) for row in rows])
        return self._page(scim_filter, search_request, await self._fetch(query, params))

    def _page(
        self,
        scim_filter: ScimFilter[Any],
        search_request: SearchRequest[Any],
        rows: Sequence[Row[Any]],
    ) -> SearchPage:
        """The page asked for of the rows' resources that match the filter (the rows are a
        superset of the matches, in the order of ids)."""
        found = [self._resource(row) for row in rows]
        if not scim_filter.models and found:
            models = tuple(dict.fromkeys(type(r) for r in found))
            scim_filter = parametrize(ScimFilter, models[0] if len(models) == 1 else models)(
                str(scim_filter)
            )
        found = [resource for resource in found if scim_filter.match(resource)]
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(len(found), found[start:stop])

    # --- writes --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction; the inbox events stored in it are announced (counted, the
        forwarder woken) only once it has committed."""
        published: list[Any] = []
        token = _publishing.set(published)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self._write_lock is not None:
                    await stack.enter_async_context(self._write_lock)
                yield await stack.enter_async_context(self._engine.begin())
        finally:
            _publishing.reset(token)
        if published and self.publication is not None:
            self.publication.announce(published)

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        now = _now()
        resource_id = self._new_id()
        body = _body(resource)
        creation = _Creation(
            resource_type.name,
            {
                "resource_type": resource_type.name,
                "id": resource_id,
                "version": 1,
                "body": body,
                "created": now,
                "last_modified": now,
                **_keys(resource, body),
            },
        )
        future: asyncio.Future[list[Change]] = asyncio.get_running_loop().create_future()
        self._creations.append((creation, future))
        if self._creator is None or self._creator.done():
            self._creator = asyncio.create_task(self._create_queued(), name="scim-create")
        # Shielded: an IdP hanging up must not cancel the commit other requests wait on.
        changes = await asyncio.shield(future)
        self._committed(changes)
        # The handler's own model, validated from this request and not used by it after this
        # call: completed in place rather than deep-copied (a copy per write, ~0.1 ms each).
        stored = resource
        stored.id = resource_id
        stored.meta = Meta(
            resource_type=resource_type.name,
            created=now,
            last_modified=now,
            version=_version_tag(1),
        )
        return stored

    async def _create_queued(self) -> None:
        """Commit the queued creations, up to ``_MAX_BATCH`` per transaction: one commit (and,
        on SQLite, one turn of the write lock) for all the creations waiting meanwhile, as the
        inbox does for deliveries. Each request is still answered only after its commit."""
        while self._creations:
            batch = self._creations[:_MAX_BATCH]
            self._creations = self._creations[_MAX_BATCH:]
            await self._create_isolating(batch)

    async def _create_isolating(self, batch: list[tuple[_Creation, asyncio.Future[Any]]]) -> None:
        """Commit ``batch`` and settle its futures. A creation the database refuses (a
        duplicate of the unique userName, a value it cannot store) or that fails for any
        reason but the database being away fails the whole transaction: each half is then
        committed on its own, down to that creation, which alone gets its error (409 for a
        duplicate, 400 for a value, else its own). One bad creation costs ``log2(batch)``
        more transactions, never the others' commit."""
        try:
            async with self._transaction() as connection:
                outcomes = [await self._insert(connection, creation) for creation, _ in batch]
                accepted = [
                    (creation, outcome)
                    for (creation, _), outcome in zip(batch, outcomes, strict=True)
                    if isinstance(outcome, list)
                ]
                if accepted:  # one statement for the rows, one for their changes
                    await connection.execute(
                        insert(tables.resources), [creation.row for creation, _ in accepted]
                    )
                    await self._record(
                        connection, [c for _, changes in accepted for c in changes]
                    )
        except BaseException as exc:
            alone = isinstance(exc, Exception) and (
                refused_for_data(exc) or not isinstance(exc, SQLAlchemyError | OSError)
            )
            if alone and len(batch) > 1:
                middle = len(batch) // 2
                await self._create_isolating(batch[:middle])
                await self._create_isolating(batch[middle:])
                return
            error: BaseException = exc
            if isinstance(exc, IntegrityError):
                creation = batch[0][0]
                error = UniquenessException(
                    detail=f"a {creation.resource_type} with this userName already exists"
                )
            elif alone and refused_for_data(exc):
                # The class only, as everywhere: the driver's message may quote the value.
                error = InvalidValueException(
                    detail=f"a value of this {batch[0][0].resource_type} cannot be stored"
                )
            elif not isinstance(exc, Exception):  # cancelled: nothing of it is committed
                error = OSError("SCIM commit cancelled")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, list):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    async def _insert(
        self, connection: AsyncConnection, creation: _Creation
    ) -> list[Change] | SCIMException:
        """Check one creation and plan its changes (its row is inserted with the batch's);
        the SCIM error that refuses it, before it wrote anything, rather than raised: the
        others of the batch go on."""
        body = creation.row["body"]
        try:
            if creation.resource_type == "Group":
                await self._check_members(connection, body)
        except SCIMException as exc:
            return exc
        return await self._plan(
            connection, creation.resource_type, creation.row["id"], 1, None, body
        )

    async def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        now = _now()
        body = _body(resource)
        # The handler passes the version it read (and checked If-Match against): a write in
        # between makes the whole request run again rather than answer 412 to an IdP that
        # sent no If-Match.
        wanted = _version_of(expected_version)
        try:
            async with self._transaction() as connection:
                row = (
                    await connection.execute(
                        self._row(resource_type.name, str(resource.id), lock=True)
                    )
                ).first()
                if row is None:
                    raise NotFoundException(
                        detail=f"{resource_type.name} {resource.id!r} not found"
                    )
                if wanted is not None and row.version != wanted:
                    raise VersionConflict
                if row.body == body:  # nothing changed: same version, nothing to run
                    return self._resource(row)
                if isinstance(resource, Group):
                    await self._check_members(connection, body)
                version = row.version + 1
                result = await connection.execute(
                    update(tables.resources)
                    .where(
                        tables.resources.c.resource_type == resource_type.name,
                        tables.resources.c.id == row.id,
                        tables.resources.c.version == row.version,
                    )
                    .values(version=version, body=body, last_modified=now, **_keys(resource, body))
                )
                if result.rowcount != 1:
                    raise VersionConflict
                changes = await self._changes(
                    connection, resource_type.name, row.id, version, row.body, body
                )
        except IntegrityError:
            raise UniquenessException(
                detail=f"a {resource_type.name} with this userName already exists"
            ) from None
        self._committed(changes)
        stored = resource  # the handler's patched or replaced copy: completed in place
        stored.meta = Meta(
            resource_type=resource_type.name,
            created=row.created,
            last_modified=now,
            version=_version_tag(version),
        )
        return stored

    async def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        wanted = _version_of(expected_version)
        async with self._transaction() as connection:
            row = (
                await connection.execute(self._row(resource_type.name, resource_id, lock=True))
            ).first()
            if row is None:
                raise NotFoundException(detail=f"{resource_type.name} {resource_id!r} not found")
            if wanted is not None and row.version != wanted:
                raise VersionConflict
            await connection.execute(
                delete(tables.resources).where(
                    tables.resources.c.resource_type == resource_type.name,
                    tables.resources.c.id == resource_id,
                )
            )
            changes = await self._changes(
                connection, resource_type.name, resource_id, row.version + 1, row.body, None
            )
            if resource_type.name == "User":
                changes += await self._drop_member(connection, resource_id)
        self._committed(changes)

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _committed(changes: list[Change]) -> None:
        pending = committed.get()
        if pending is not None:
            pending.extend(changes)

    async def _check_members(self, connection: AsyncConnection, body: dict[str, Any]) -> None:
        """A Group holds at most ``max_members`` members, each an existing User."""
        members = [str(m.get("value")) for m in body.get("members") or []]
        if len(members) > self.max_members:
            raise InvalidValueException(
                detail=(
                    f"members: {len(members)} members, at most {self.max_members} per group; "
                    "split the group"
                )
            )
        if not members:
            return
        known = set(
            (
                await connection.execute(
                    select(tables.resources.c.id).where(
                        tables.resources.c.resource_type == "User",
                        tables.resources.c.id.in_(set(members)),
                    )
                )
            ).scalars()
        )
        unknown = [m for m in members if m not in known]
        if unknown:
            raise InvalidValueException(
                detail=f"members: no User with id {unknown[0]!r} ({len(unknown)} unknown in all)"
            )

    async def _users(self, connection: AsyncConnection, ids: set[str]) -> dict[str, Any]:
        if not ids:
            return {}
        rows = await connection.execute(
            select(tables.resources.c.id, tables.resources.c.body).where(
                tables.resources.c.resource_type == "User", tables.resources.c.id.in_(ids)
            )
        )
        return {row.id: row.body for row in rows}

    async def _drop_member(self, connection: AsyncConnection, user_id: str) -> list[Change]:
        """A deleted User leaves every Group it was in (each Group gets a new version)."""
        rows = (
            await connection.execute(
                select(tables.resources).where(
                    tables.resources.c.resource_type == "Group", _mentions(user_id)
                )
            )
        ).all()
        changes: list[Change] = []
        for row in rows:
            members = row.body.get("members") or []
            if not any(m.get("value") == user_id for m in members):
                continue
            body = {**row.body, "members": [m for m in members if m.get("value") != user_id]}
            await connection.execute(
                update(tables.resources)
                .where(tables.resources.c.resource_type == "Group", tables.resources.c.id == row.id)
                .values(version=row.version + 1, body=body, last_modified=_now())
            )
            # The user is gone: the offboarding covers their access, no group event is needed.
        return changes

    async def _changes(
        self,
        connection: AsyncConnection,
        resource_type: str,
        resource_id: str,
        version: int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> list[Change]:
        """Work out what the runbooks must do about this write and record it in the outbox."""
        changes = await self._plan(connection, resource_type, resource_id, version, before, after)
        await self._record(connection, changes)
        return changes

    async def _record(self, connection: AsyncConnection, changes: list[Change]) -> None:
        """Add ``changes`` to the outbox, in the caller's transaction (one statement), with
        their inbox events when there is a publication (one more): they are then marked
        enqueued already, and the sweep has nothing to do for them."""
        if not changes:
            return
        now = _now()
        await connection.execute(
            insert(tables.changes),
            [
                {
                    "event_id": change.event_id,
                    "event_type": change.event_type,
                    "payload": change.payload,
                    "created": now,
                    "enqueued": None if self.publication is None else now,
                }
                for change in changes
            ],
        )
        if self.publication is None:
            return
        stored = await self.publication.within(connection, changes)
        published = _publishing.get()
        if published is not None:
            published.extend(stored)

    async def _plan(
        self,
        connection: AsyncConnection,
        resource_type: str,
        resource_id: str,
        version: int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> list[Change]:
        """What the runbooks must do about this write (nothing recorded yet)."""
        rejoined: list[Change] = []
        if resource_type == "User":
            # A User just created has a fresh id no Group can name yet: no query for it.
            memberships = [] if before is None else await self._groups_of(connection, resource_id)
            found = user_change(before, after, sorted(name for _, _, name in memberships))
            if found is not None and found[0] == "user.reactivated" and after is not None:
                rejoined = _rejoins(resource_id, version, after, memberships)
        else:
            members_before = {m["value"] for m in (before or {}).get("members") or []}
            members_after = {m["value"] for m in (after or {}).get("members") or []}
            users = await self._users(connection, members_before ^ members_after)
            found = group_change(before, after, users)
        if found is None:
            return []
        event_type, payload = found
        payload = {"id": resource_id, "version": version, **payload}
        return [
            Change(
                event_id=f"{resource_type}:{resource_id}:v{version}",
                event_type=event_type,
                payload=payload,
            ),
            *rejoined,
        ]

    async def _groups_of(
        self, connection: AsyncConnection, user_id: str
    ) -> list[tuple[str, int, str]]:
        """(id, version, displayName) of every Group the user is a member of."""
        rows = await connection.execute(
            select(
                tables.resources.c.id, tables.resources.c.version, tables.resources.c.body
            ).where(tables.resources.c.resource_type == "Group", _mentions(user_id))
        )
        return sorted(
            (row.id, row.version, row.body.get("displayName", ""))
            for row in rows
            if any(m.get("value") == user_id for m in row.body.get("members") or [])
        )


def _mentions(user_id: str) -> Any:
    """Groups whose JSON holds the user's id somewhere: a superset of their groups, found by
    the database (the members are then checked in Python), so a user's write does not parse
    every member of every group."""
    escaped = user_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(tables.resources.c.body, Text).like(f'%"{escaped}"%', escape="\\")


def _body(resource: Resource[Any]) -> dict[str, Any]:
    body = resource.model_dump(mode="json")
    # A password (Okta sends one when password sync is on) is never kept: SSO signs in.
    for key in ("id", "meta", "password"):
        body.pop(key, None)
    return body


def _keys(resource: Resource[Any], body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(resource, User):
        return {
            "user_name_key": fold(body.get("userName")),
            "display_name_key": fold(body.get("displayName")),
            "external_id": body.get("externalId"),
            "email_key": _emails_key(body),
            "active": body.get("active") is not False,
        }
    return {
        "user_name_key": None,
        "display_name_key": fold(body.get("displayName")),
        "external_id": body.get("externalId"),
        "email_key": None,
        "active": None,
    }


def _narrowing(scim_filter: ScimFilter[Any] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The indexed columns every match of the filter has a known value in, from its ``eq``
    comparisons (alone or joined by ``and``), and those values as stored; none when it has
    none. For ``email_key``, the value is a part the column contains."""
    if scim_filter is None:
        return (), ()
    node = scim_filter.ast
    terms = (
        list(node.terms)
        if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_
        else [node]
    )
    columns: list[str] = []
    values: list[str] = []
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq:
            continue
        if not isinstance(term.value, str):
            continue
        path = term.attr_path
        column = _INDEXED.get((path.attr, path.sub_attr))
        if column is None or (path.uri and not path.uri.endswith(":User") and path.uri):
            continue
        columns.append(column)
        if column == "external_id":
            values.append(term.value)
        elif column == "email_key":
            values.append(f"|{fold(term.value)}|")
        else:
            values.append(fold(term.value))
    return tuple(columns), tuple(values)


def _lookup_query(
    lookups: list[tuple[_Lookup, asyncio.Future[Sequence[Row[Any]]]]],
) -> tuple[Select[Any], dict[str, Any]]:
    """The one query answering lookups of one column and type, with its parameters."""
    first = lookups[0][0]
    values = list(dict.fromkeys(lookup.value for lookup, _ in lookups))
    return _lookup_statement(first.column), {"kind": first.kind, "values": values}


def _share_out(
    lookups: list[tuple[_Lookup, asyncio.Future[Sequence[Row[Any]]]]], rows: Sequence[Row[Any]]
) -> list[Sequence[Row[Any]]]:
    """Each lookup's rows of their one query: those holding its value, in the order of ids,
    as its own query would have returned them."""
    column = lookups[0][0].column
    by_value: dict[str, list[Row[Any]]] = {}
    for row in rows:
        by_value.setdefault(getattr(row, column), []).append(row)
    return [by_value.get(lookup.value, []) for lookup, _ in lookups]


@functools.lru_cache(maxsize=8)
def _lookup_statement(column: str) -> Select[Any]:
    """The rows of bound parameter ``kind`` whose ``column`` holds one of ``values``, ordered
    by id: the queued lookups of one column, answered together."""
    resources = tables.resources
    return (
        select(resources)
        .where(resources.c.resource_type == bindparam("kind"))
        .where(resources.c[column].in_(bindparam("values", expanding=True)))
        .order_by(resources.c.id)
    )


@functools.lru_cache(maxsize=64)
def _search_statement(columns: tuple[str, ...]) -> Select[Any]:
    """The rows of bound parameter ``kind`` whose ``columns`` hold ``value0``, ``value1``…,
    ordered by id (stable across pages whatever is created meanwhile: Okta pages).

    Built once per shape and kept: building the expression cost more CPU than running it.
    """
    resources = tables.resources
    query = select(resources).where(resources.c.resource_type == bindparam("kind"))
    for i, column in enumerate(columns):
        value = bindparam(f"value{i}", type_=resources.c[column].type)
        query = query.where(
            resources.c.email_key.contains(value) if column == "email_key"
            else resources.c[column] == value
        )  # fmt: skip
    return query.order_by(resources.c.id)


# --- what a write means for the runbooks ---------------------------------------------------


def _person(body: dict[str, Any], groups: list[str]) -> dict[str, Any]:
    name = body.get("name") or {}
    return {
        "userName": body.get("userName"),
        "email": primary_email(body),
        "externalId": body.get("externalId"),
        "displayName": body.get("displayName") or name.get("formatted")
        or " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
        or body.get("userName"),
        "active": body.get("active") is not False,
        "groups": groups,
    }  # fmt: skip


def user_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, groups: list[str]
) -> tuple[str, dict[str, Any]] | None:
    """The event a User write means, if any.

    ``user.created`` (active) → invite; ``user.deactivated`` / ``user.deleted`` → offboard;
    ``user.reactivated`` → invite again with their groups; ``user.renamed`` → display name
    only; ``user.updated`` → identity fields (userName, e-mail).
    """
    was = before is not None and before.get("active") is not False
    now = after is not None and after.get("active") is not False
    if after is None:
        assert before is not None
        return "user.deleted", {**_person(before, groups), "active": False, "wasActive": was}
    person = _person(after, groups)
    if before is None:
        return ("user.created", person) if now else None
    if was and not now:
        return "user.deactivated", person
    if now and not was:
        return "user.reactivated", person
    if not now:
        return None  # an inactive user's profile: nothing to do in Arize
    old = _person(before, groups)
    if (old["userName"], old["email"]) != (person["userName"], person["email"]):
        return "user.updated", {**person, "previousEmail": old["email"]}
    if old["displayName"] != person["displayName"]:
        return "user.renamed", person
    return None


def _rejoins(
    user_id: str, version: int, body: dict[str, Any], memberships: list[tuple[str, int, str]]
) -> list[Change]:
    """A reactivated person's groups, each as a ``group.changed`` naming them among the
    ``added``: the same events, so the same routes and role rules, as when they first joined.

    A deactivated person stays a member of their groups here (the IdP's groups at the time
    of leaving are the snapshot of what the IdP gave them), so reactivating restores exactly
    that, and nothing revoked in the IdP since.
    """
    person = {"id": user_id, "userName": body.get("userName"), "email": primary_email(body)}
    return [
        Change(
            # Per user version: a second reactivation is a second grant, a replay is not.
            event_id=f"Group:{group_id}:v{group_version}:rejoin:{user_id}:v{version}",
            event_type="group.changed",
            payload={
                "id": group_id,
                "version": group_version,
                "displayName": name,
                "previousDisplayName": None,
                "deleted": False,
                "added": [person],
                "removed": None,
                "reactivated": True,
            },
        )
        for group_id, group_version, name in memberships
    ]


def group_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, users: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The event a Group write means: ``group.changed`` with the people who joined and left
    (each with their e-mail, for the group → role rules), or ``None`` when no member or name
    changed."""
    old = {m["value"] for m in (before or {}).get("members") or []}
    new = {m["value"] for m in (after or {}).get("members") or []}
    name_before = (before or {}).get("displayName")
    name_after = (after or {}).get("displayName")
    if old == new and name_before == name_after and before is not None and after is not None:
        return None

    def people(ids: set[str]) -> list[dict[str, Any]]:
        return [
            {"id": i, "userName": users[i].get("userName"), "email": primary_email(users[i])}
            for i in sorted(ids)
            if i in users
        ]

    return "group.changed", {
        "displayName": name_after if after is not None else name_before,
        "previousDisplayName": name_before if name_before != name_after else None,
        "deleted": after is None,
        # None rather than []: a route's `exists` condition then tells "someone joined".
        "added": people(new - old) or None,
        "removed": people(old - new) or None,
    }


__all__ = [
    "Change",
    "InvalidFilterException",
    "ScimStore",
    "VersionConflict",
    "committed",
    "group_change",
    "user_change",
]
