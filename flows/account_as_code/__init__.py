"""Account as code: the Arize account's access model as YAML files, exported, planned, applied.

``format`` is the file format, ``loader`` reads a directory of it with file:line for every
error, ``live`` reads the account in paged listings, ``export`` writes it back as files,
``plan`` is the planner (typed changes, the shared engine applies them), ``flow`` holds the
``apply-account`` and ``detect-drift`` flows and ``commands`` the ``arize-runbooks account``
commands.
"""
