"""Evidence tests: the service's database on both backends (``inbox_url``: SQLite, PostgreSQL)."""

from tests.webhooks.backends import inbox_url  # noqa: F401  (fixture)
