"""revoke-temporary-access (one grant, at its expiry or early) and revoke-expired-access."""
