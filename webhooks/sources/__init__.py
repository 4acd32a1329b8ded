"""The webhook sources: every public module of this package is one (see
``docs/adding-a-webhook-source.md``), holding a :class:`~webhooks.source.WebhookSource` as
``SOURCE``.

This is the one list of sources. The route per source, the settings fields, the routing
file's ``source`` values, the metrics labels and the CLI's choices all read :data:`SOURCES`,
so adding or removing a source is adding or removing its module.
"""

from __future__ import annotations

import importlib
import pkgutil

from webhooks.source import WebhookSource


def _discover() -> dict[str, WebhookSource]:
    found: dict[str, WebhookSource] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        source = getattr(module, "SOURCE", None)
        # A module here that is not a source is a mistake: say so at start-up, not later.
        if not isinstance(source, WebhookSource):
            raise TypeError(f"{module.__name__} defines no SOURCE (a WebhookSource)")
        if source.name in found:
            raise ValueError(f"two webhook sources are named {source.name!r}")
        found[source.name] = source
    return found


#: Every webhook source of the service by name, in name order.
SOURCES: dict[str, WebhookSource] = _discover()


def source_named(name: str) -> WebhookSource:
    """The source called ``name``.

    Raises:
        KeyError: no such source; the message lists the known ones.
    """
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown webhook source {name!r}; known: {', '.join(SOURCES)}") from None
