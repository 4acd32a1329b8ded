"""Operating the runbooks in production: Prefect's HA shape, crash recovery, the local HA stack."""
