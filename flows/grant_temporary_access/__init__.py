"""grant-temporary-access: a role on a space or project for a few hours, revoked on time."""
