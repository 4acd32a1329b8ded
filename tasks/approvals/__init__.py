"""The approval gate on Prefect and Slack: the wait, durable votes on the run, Slack messages.

What decides (quorum, approvers, protected people, break-glass) is ``core.approvals.rules``.
"""
