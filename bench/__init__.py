"""Benchmarks: each module's ``main()`` writes figures to ``bench/results/<name>.json``.

Run them all with ``python -m bench`` (or ``make bench``); they assert nothing.
"""
