"""The environment of each Prefect process in its self-hosted HA shape.

Every API server, the background-services process and every worker share one PostgreSQL
database and one Redis: Redis carries events between processes (messaging broker and cache),
orders them causally, holds concurrency leases, the worker cleanup queue and Prefect's docket
(the background-task queue shared by the API servers and the services process). Without these
settings each process would keep that state in its own memory, and two API servers would not
see each other's events.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

REDIS_MODULES = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    "PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE": "prefect_redis.cleanup_queue",
}
"""Setting → prefect-redis module that replaces Prefect's in-memory default."""

WORKER_QUERY_SECONDS = 1.0
"""How often a worker asks for scheduled runs (``PREFECT_WORKER_QUERY_SECONDS``).

An approved deployment run suspended at its gate is rescheduled by the click and waits for a
worker's next poll; at Prefect's default of 10 s that poll was half of the click-to-running
time (bench/approval_latency.py). One query a second per worker is light for a server.
"""


class PrefectHA(BaseModel):
    """Where the shared state of a multi-server Prefect lives.

    Attributes:
        database_url: ``postgresql+asyncpg://user[:password]@host:port/database``.
        redis_url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, Sentinel).
        heartbeat_frequency: Seconds between flow-run heartbeats (Prefect's minimum is 30).
    """

    database_url: str = Field(description="PostgreSQL URL of Prefect's database (asyncpg).")
    redis_url: str = Field(description="Redis URL shared by every Prefect process.")
    heartbeat_frequency: int = Field(default=30, ge=30)

    @field_validator("database_url")
    @classmethod
    def _postgres_asyncpg(cls, value: str) -> str:
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError(
                "database_url must start with postgresql+asyncpg:// (SQLite cannot be shared "
                "by several API servers)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://")):
            raise ValueError(
                "redis_url must start with redis://, rediss://, redis+sentinel:// or "
                "rediss+sentinel://"
            )
        return value

    def server_env(self) -> dict[str, str]:
        """For ``prefect server start --no-services`` and ``arize-runbooks prefect-services``."""
        return {
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_REDIS_MESSAGING_URL": self.redis_url,
            "PREFECT_REDIS_WORKER_CLEANUP_QUEUE_URL": self.redis_url,
            "PREFECT_SERVER_DOCKET_URL": self.redis_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            **REDIS_MODULES,
        }

    def worker_env(self, api_url: str) -> dict[str, str]:
        """For ``prefect worker start``: its API server, its poll, its flow runs' heartbeat."""
        return {
            "PREFECT_API_URL": api_url,
            "PREFECT_WORKER_QUERY_SECONDS": str(WORKER_QUERY_SECONDS),
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(self.heartbeat_frequency),
        }
