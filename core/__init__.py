"""The runbooks' core: plans, typed changes, approval rules and naming, with no Prefect in it.

Everything here runs in plain Python against an ``AsyncArizeAdmin`` and plain settings, so it is
tested in process; Prefect and Slack reach it only through the adapters in ``tasks/``.
"""
