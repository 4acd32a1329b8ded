"""One configuration for every process: the settings model and the env file ``setup`` writes.

Nothing here imports Prefect, so ``tasks``, ``webhooks`` and the CLI all read it.
"""

from config.env_file import env_file_path, load_env_file, write_env_file
from config.settings import RunbooksSettings, env_name, fingerprint

__all__ = [
    "RunbooksSettings",
    "env_file_path",
    "env_name",
    "fingerprint",
    "load_env_file",
    "write_env_file",
]
