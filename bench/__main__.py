"""``python -m bench``: run every benchmark module's ``main()``.

Each module writes its figures to ``bench/results/<name>.json`` and asserts nothing.
Pass module names to run only those: ``python -m bench emulator_throughput``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the selected (default: all) benchmark modules in name order."""
    wanted = set(argv if argv is not None else sys.argv[1:])
    here = Path(__file__).resolve().parent
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(here)])
        if not m.name.startswith("_") and (not wanted or m.name in wanted)
    )
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if callable(run):
            print(f"== bench.{name}", flush=True)
            run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
