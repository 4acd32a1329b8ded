"""What a database refusal means for the event that met it: refused for its data (retrying
the same delivery cannot help) or the database being away (it can), and a reason safe to log
and to answer with, which never quotes a value.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, StatementError


class EventNotStorable(ValueError):
    """The database refused this event for its content, not for being away: retrying the same
    delivery cannot help (the receiver answers 422). The message names the event and the
    database's reason class, never a value of the event."""


def refused_for_data(exc: BaseException) -> bool:
    """Whether the database (or the driver, binding a value) refused a statement for the data
    it carried: SQLSTATE class 22 (data exception) or 23 (integrity), SQLite's DataError or
    IntegrityError, or a value that could not be bound at all. Anything else (a dropped
    connection, a refused login, a timeout) is the database being unavailable."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate[:2] in ("22", "23")
        return type(exc.orig).__name__ in ("DataError", "IntegrityError")
    return isinstance(exc, StatementError)  # raised while binding, before the database


def reason_of(exc: BaseException) -> str:
    """A log- and client-safe reason: the error class and SQLSTATE, without the message
    (asyncpg quotes the offending parameter in it)."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        return f"{type(orig).__name__}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    if isinstance(exc, StatementError) and exc.orig is not None:
        return type(exc.orig).__name__
    return type(exc).__name__
