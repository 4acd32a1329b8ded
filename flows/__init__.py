"""The runbooks, one package each; ``flows.registry`` lists them.

Empty on purpose: a flow run's process imports its own runbook's package through this one,
and should not pay for importing every other runbook as well.
"""
