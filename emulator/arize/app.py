"""``create_app``: the emulator as a FastAPI app (no module-level app, no env reads)."""

from __future__ import annotations

from fastapi import FastAPI

from emulator.arize.control import router as control_router
from emulator.arize.errors import install_error_handlers
from emulator.arize.faults import EmulatorMiddleware, FaultConfig
from emulator.arize.routes import ROUTE_TEMPLATES, api_router
from emulator.arize.runtime import Emulator

__all__ = ["create_app"]


def create_app(
    *,
    seed: str | None = "demo",
    admin_key: str | None = None,
    db_path: str | None = None,
    faults: FaultConfig | None = None,
) -> FastAPI:
    """Build an emulator app with its own account.

    Args:
        seed: ``"demo"`` or ``"empty"`` (None means empty); ignored when ``db_path`` already
            holds an account.
        admin_key: The seeded account admin's API key; generated when None (read it from
            ``app.state.emulator.admin_key``).
        db_path: SQLite file that keeps the account across restarts; in memory when None.
        faults: Faults to inject from the start.

    Returns:
        The app; serve it with uvicorn or :class:`ArizeEmulatorServer`.
    """
    app = FastAPI(
        title="Arize admin API emulator",
        version="2.0.0",
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = Emulator(seed=seed, admin_key=admin_key, db_path=db_path, faults=faults)
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(control_router)
    app.add_middleware(EmulatorMiddleware, templates=ROUTE_TEMPLATES)
    return app
