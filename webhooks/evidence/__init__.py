"""The evidence chain in the webhook service: the append API, the store, and the SIEM sinks.

Flows post their records to ``POST /evidence/records`` signed with the service key; the store
appends them to the hash chain and, in the same transaction, queues one outbox row per
configured SIEM sink in the inbox, which the forwarder delivers (at least once, retried,
dead-lettered) through :mod:`webhooks.evidence.sinks`.
"""
