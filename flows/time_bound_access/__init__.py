"""Time-bound access, one feature in one package: a role on a space or project for a few hours,
approved, revoked on time.

- ``spec.py``, ``plan.py``, ``policy.py``: what may be asked for and what it changes.
- ``grant.py``: the ``grant-temporary-access`` runbook flow.
- ``revoke_flow.py``, ``revoke.py``: ``revoke-temporary-access`` (one grant, at its expiry or
  early) and the ``revoke-expired-access`` sweeper.
- ``records.py``: the grant records in Prefect Variables, changed compare-and-set.
- ``notices.py``: what the requester is told in Slack.
- ``slack_requests.py``: ``/arize-access`` and its form, and "Revoke now" (the webhook service
  mounts the handler).
- ``commands.py``: ``arize-runbooks access list|revoke|keep`` (the CLI mounts them).
"""
