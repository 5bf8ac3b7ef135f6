"""`make bench`: measurements of callrec's parts that do not need Asterisk.

Run with ``python -m benchmarks.run [--quick]``; results go to docs/benchmarks.md and
docs/benchmarks.json. Every comparison is measured side by side in one run on one machine.
"""
