"""The access-review runbook: inventory, findings, reviewers' Keep/Revoke, remediation, record."""
