"""SCIM 2.0 (RFC 7643/7644) service provider of the webhook service, under ``/scim/v2``.

Okta and Microsoft Entra ID push joiners, movers and leavers here. The protocol is
scim2-server's and scim2-models' (:mod:`webhooks.scim.provider`); this package stores the
resources in the service database (:mod:`webhooks.scim.store`), authenticates the IdP
(:mod:`webhooks.scim.tokens`), and turns each committed change into an inbox event that the
routing file maps to a runbook (:mod:`webhooks.scim.publisher`). See docs/scim.md.
"""
