"""The per-app emulator runtime: the account, its persistence, faults and the journal."""

from __future__ import annotations

from emulator.arize.faults import FaultConfig, FaultInjector, RequestJournal
from emulator.arize.persistence import SnapshotStore
from emulator.arize.seed import ADMIN_EMAIL, seed_account
from emulator.arize.state import AccountState
from emulator.arize.store import hash_key, new_raw_key

__all__ = ["Emulator"]


class Emulator:
    """Everything one emulator app holds (kept on ``app.state.emulator``).

    Args:
        seed: ``"demo"``, ``"empty"``, or None (same as ``"empty"``).
        admin_key: The account admin's API key value; generated when None.
        db_path: SQLite file to persist the account in; in memory when None.
        faults: Initial fault configuration.
    """

    def __init__(
        self,
        *,
        seed: str | None = "demo",
        admin_key: str | None = None,
        db_path: str | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
        self.faults = FaultInjector(faults)
        self.journal = RequestJournal()
        self.store = SnapshotStore(db_path) if db_path else None
        self.admin_key_generated = admin_key is None
        self.admin_key = admin_key or new_raw_key()
        loaded = self.store.load() if self.store else None
        if loaded is not None:
            self.state = loaded
            self._ensure_admin_key(self.admin_key)
            self._attach()
        else:
            self.state = self._build(seed or "empty", self.admin_key)

    def _attach(self) -> None:
        if self.store is not None:
            self.state.on_change = self.store.save
            self.store.save(self.state)

    def _build(self, seed: str, admin_key: str) -> AccountState:
        state = AccountState()
        seed_account(state, seed, admin_key)
        self.state = state
        self._attach()
        return state

    def _ensure_admin_key(self, raw: str) -> None:
        """After a restart, make sure ``raw`` authenticates as the account admin."""
        if hash_key(raw) in self.state.secrets:
            return
        admins = sorted(
            (
                u
                for u in self.state.users.values()
                if not u.is_bot and u.status == "ACTIVE" and self.state.is_account_admin(u)
            ),
            key=lambda u: (u.email != ADMIN_EMAIL, u.n),
        )
        if admins:
            self.state.issue_user_key(admins[0].id, name="admin", raw=raw)

    def reset(self, seed: str = "demo", admin_key: str | None = None) -> str:
        """Rebuild the account from scratch (faults and counters are left alone).

        Returns:
            The admin key now valid (``admin_key`` or a freshly generated one).
        """
        self.admin_key = admin_key or new_raw_key()
        self.state = self._build(seed, self.admin_key)
        return self.admin_key
