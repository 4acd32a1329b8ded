"""The webhook service behind ``arize-runbooks serve``.

HR, identity and ticket webhooks come in, are verified over their raw bytes, stored in a
durable inbox and turned into exactly one Prefect flow run per event by the forwarder.

Empty on purpose: ``arize-runbooks inbox``, ``scim`` and ``doctor`` import the settings or the
inbox alone, and should not pay for the whole service (FastAPI, SCIM, Prefect): importing it
here made every ``import webhooks.settings`` cost 2.6 s of CPU.
"""
