"""A local, stateful emulator of Arize's admin REST API v2 (docs/arize-admin-api.md).

``create_app()`` builds the FastAPI app; ``ArizeEmulatorServer`` runs it on loopback in a
thread. Layers: :mod:`.state` holds every rule (no HTTP), as one shared :mod:`.store` with a
module per resource (:mod:`.resources`); :mod:`.routes` are thin, errors are rendered once
(:mod:`.errors`), one paginator serves every list (:mod:`.pagination`), and a control plane
under ``/_emulator`` resets, seeds, injects faults and counts requests.
"""

from emulator.arize.app import create_app
from emulator.arize.faults import FaultConfig
from emulator.arize.seed import ADMIN_EMAIL
from emulator.arize.server import ArizeEmulatorServer
from emulator.arize.state import AccountState

__all__ = ["ADMIN_EMAIL", "AccountState", "ArizeEmulatorServer", "FaultConfig", "create_app"]
