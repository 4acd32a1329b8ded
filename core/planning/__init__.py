"""Planning: the read-only diff between a spec and live state, as typed, hashed changes."""
