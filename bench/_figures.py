"""What every benchmark records beside its figures (the machine, the load, the date) and how
it saves them: ``bench/results/<name>.json``, also printed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """CPUs, the 1/5/15-minute load averages and the time, as of now."""
    return {
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def save(path: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """Write ``figures`` to ``path`` as JSON, print them, and return them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures, indent=2)
    path.write_text(text + "\n")
    print(text)
    return figures
