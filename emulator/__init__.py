"""Local stand-ins for the services the runbooks call: ``emulator.arize`` and ``emulator.slack``.

Each is a stateful FastAPI app with a threaded runner; this package imports nothing of the
rest of the project (tests and the demo wire them together).
"""

__all__: list[str] = []
